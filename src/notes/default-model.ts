/** The notes' default local model: where it lives and how `npm run models -- --llm` fetches it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DEFAULT_LLM_MODEL, MODEL_HOSTS } from '../models/catalog.js';
import { createProgressRenderer, downloadFile, DownloadError } from '../models/download.js';

/** Path of the default model's file in the models folder (present or not). */
export function defaultLlmPath(modelsDir: string): string {
  return join(modelsDir, DEFAULT_LLM_MODEL.file);
}

/** Downloads the default model (SHA-256 enforced) unless present; false when it failed (the reason is logged). */
export async function fetchDefaultLlm(modelsDir: string, log: Logger): Promise<boolean> {
  const e = DEFAULT_LLM_MODEL;
  const dest = defaultLlmPath(modelsDir);
  if (existsSync(dest)) {
    log.info(`notes model: ${e.file} present`);
    return true;
  }
  log.info(`downloading ${e.file} (${e.description}) from ${e.url}`);
  try {
    const r = await downloadFile({
      url: e.url,
      dest,
      sha256: e.sha256,
      expectedSize: e.sizeBytes,
      allow: { hosts: MODEL_HOSTS.llm },
      onProgress: createProgressRenderer({ label: e.file, stream: process.stderr }),
    });
    log.info(`${e.file}: SHA-256 ${r.sha256} verified (published by the host)`);
    return true;
  } catch (err) {
    if (!(err instanceof DownloadError)) throw err;
    log.error(`notes model: ${err.message}`);
    return false;
  }
}
