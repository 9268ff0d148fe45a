import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { FakeAsrEngine } from '../testing/fake-asr.js';
import { asrModelPath, createAsrEngine, startAsr } from './index.js';

const quiet = () => undefined;

describe('createAsrEngine', () => {
  it('is null for ASR_MODEL=none and for a missing model file (diarization-only mode)', () => {
    expect(createAsrEngine(loadConfig({}, [], { ASR_MODEL: 'none' }), { log: quiet })).toBeNull();
    expect(createAsrEngine(loadConfig({}, [], { MODELS_DIR: 'build/no-such-models' }), { log: quiet })).toBeNull();
  });

  it('finds the model as MODELS_DIR/ggml-<ASR_MODEL>.bin unless ASR_MODEL_PATH is set', () => {
    expect(asrModelPath(loadConfig({}, [], { ASR_MODEL: 'tiny.en' }))).toMatch(/models\/ggml-tiny\.en\.bin$/);
    expect(asrModelPath(loadConfig({}, [], { ASR_MODEL_PATH: '/x/y.bin' }))).toBe('/x/y.bin');
    expect(asrModelPath(loadConfig({}, [], { ASR_MODEL: 'none' }))).toBeNull();
  });
});

describe('startAsr', () => {
  const config = loadConfig({}, [], { ASR_QUEUE_MAX: 2 });

  it('puts the shared queue in front of a loaded engine', async () => {
    const engine = new FakeAsrEngine({ text: ' Hello there. ' });
    const asr = await startAsr(config, { engine, log: quiet });
    expect(engine.loaded).toBe(true);
    expect(asr.name).toBe('fake asr');
    expect(await asr.queue.openLane().enqueue(new Float32Array(10), { language: 'en' })).toBe('Hello there.');
    await Promise.all([asr.close(), asr.close()]);
    expect(engine.closed).toBe(1);
  });

  it('falls back to diarization only when the engine fails to load', async () => {
    const engine = new FakeAsrEngine();
    engine.load = async () => {
      throw new Error('no such model');
    };
    const logs: string[] = [];
    const asr = await startAsr(config, { engine, log: (_level, msg) => logs.push(msg) });
    expect(asr.name).toBeNull();
    expect(await asr.queue.openLane().enqueue(new Float32Array(10), { language: 'en' })).toBeNull();
    expect(logs.join('\n')).toMatch(/no such model/);
    await asr.close();
  });
});
