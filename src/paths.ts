/** Filesystem anchors: relative settings (certs, models, build) resolve against the repository root. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Resolves a configured path against the repository root (absolute paths stay as they are). */
export function fromRoot(path: string): string {
  return resolve(ROOT, path);
}
