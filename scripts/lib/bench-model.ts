/**
 * Random-weight Whisper models of the real architecture for benchmarks (no trained weights can
 * be downloaded here): generated once by ../shared/tools/make-whisper-model.mjs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../../src/paths.js';
import { SHARED_DIR } from '../../src/testing/paths.js';

/** Path of `build/bench-models/ggml-<arch>-random.bin`, generated when absent. */
export async function ensureBenchModel(arch: string, dir = fromRoot('build/bench-models')): Promise<string> {
  const out = join(dir, `ggml-${arch}-random.bin`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tool = join(SHARED_DIR, 'tools/make-whisper-model.mjs');
  const en = arch.endsWith('.en');
  const r = spawnSync(process.execPath, [tool, '--arch', arch.replace(/\.en$/, ''), ...(en ? ['--en'] : []), '--out', out, '--seed', '1'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`could not generate ${out}`);
  return out;
}
