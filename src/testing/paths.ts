/** Locations of test data: the shared corpus beside the checkout (override with SHARED_DIR). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../paths.js';

export { ROOT };

/** The `shared/` folder: `$SHARED_DIR`, else `../shared` beside the repository. */
export const SHARED_DIR = (() => {
  const candidates = [process.env.SHARED_DIR, resolve(ROOT, '../shared'), resolve(ROOT, 'shared')];
  for (const c of candidates) if (c && existsSync(resolve(c, 'corpus'))) return resolve(c);
  return resolve(ROOT, '../shared');
})();

export const CORPUS_DIR = resolve(SHARED_DIR, 'corpus');
export const CONVERSATIONS_DIR = resolve(CORPUS_DIR, 'conversations');
