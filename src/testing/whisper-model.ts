/**
 * Random-weight Whisper models of the real architecture, for engine tests and benchmarks (no
 * trained weights can be downloaded here): generated once by the team's
 * `make-whisper-model.mjs` (vendored in `test/fixtures/tools/`, with the header-only whisper.cpp
 * test models it reads in `test/fixtures/models/`), then reused.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from './paths.js';

/** Path of `<dir>/ggml-<arch>-random-seed<seed>.bin` (arch e.g. `tiny`, `base.en`), generated when absent. */
export function ensureRandomWhisperModel(arch: string, dir: string, seed = 1): string {
  const out = join(dir, `ggml-${arch}-random-seed${seed}.bin`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const en = arch.endsWith('.en');
  execFileSync(
    process.execPath,
    [join(FIXTURES_DIR, 'tools/make-whisper-model.mjs'), '--arch', arch.replace(/\.en$/, ''), ...(en ? ['--en'] : []), '--out', out, '--seed', String(seed)],
    { stdio: 'inherit' },
  );
  return out;
}
