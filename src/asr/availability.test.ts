import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { asrEngineStatus, whyNoLocalAsr } from './availability.js';

describe('why there is no local engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-avail-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the missing piece, with the command that fixes it', () => {
    expect(whyNoLocalAsr(loadConfig({}, [], { ASR_MODEL: 'none' }))?.reason).toBe('disabled');
    expect(whyNoLocalAsr(loadConfig({}, [], { MODELS_DIR: dir }))).toMatchObject({ reason: 'model_missing', message: /run `npm run models`/ });
    writeFileSync(join(dir, 'ggml-base.bin'), 'x');
    expect(whyNoLocalAsr(loadConfig({}, [], { MODELS_DIR: dir, WHISPER_BUILD_DIR: join(dir, 'none') }))).toMatchObject({
      reason: 'build_missing',
      message: /run `npm run build:whisper`/,
    });
  });

  it('turns engine health into up / down / none with a hint', () => {
    expect(asrEngineStatus(null, { reason: 'model_missing' })).toMatchObject({ state: 'none', hint: 'npm run models', name: null });
    expect(asrEngineStatus(null, null)).toMatchObject({ state: 'none', reason: 'disabled', hint: null });
    expect(asrEngineStatus({ name: 'e' }, null)).toMatchObject({ state: 'up', reason: 'running', name: 'e' });
    const down = { name: 'r', health: () => ({ up: false, reason: 'no_workers' as const, message: 'x' }) };
    expect(asrEngineStatus(down, null)).toMatchObject({ state: 'down', reason: 'no_workers', hint: 'npm run worker' });
  });
});
