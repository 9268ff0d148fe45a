/** `npm run transcribe -- file --notes`: the note is written with the configured engine after the transcript. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../src/paths.js';
import { ensureRandomLlm, TINY_LLM } from '../src/testing/llm-model.js';
import { fixturePath } from '../src/testing/paths.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('scripts/transcribe.ts'), ...args], {
      cwd: fromRoot('.'),
      env: { ...process.env, ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('transcribe --notes', () => {
  it('with a model configured, runs the notes engine after the transcript (here: nothing to note without recognition)', async () => {
    const model = ensureRandomLlm(mkdtempSync(join(tmpdir(), 'duet-cli-llm-')), TINY_LLM);
    const r = await run([fixturePath('jfk.wav'), '--format', 'txt', '--notes=meeting'], { LLM_MODEL_PATH: model, MODELS_DIR: mkdtempSync(join(tmpdir(), 'm-')) });
    expect(r.stderr).toMatch(/notes: error \(empty\)/);
    expect(r.code).toBe(2);
  }, 180_000);

  it('with no model, says how to turn notes on; an unknown template is named', async () => {
    const off = await run([fixturePath('jfk.wav'), '--format', 'txt', '--notes'], { MODELS_DIR: mkdtempSync(join(tmpdir(), 'm-')) });
    expect(off.stderr).toMatch(/notes: error \(notes_off\).*npm run models -- --llm/);
    expect(off.code).toBe(2);
    const bad = await run([fixturePath('jfk.wav'), '--notes=Bad Name'], {});
    expect(bad.code).toBe(1);
  }, 180_000);
});
