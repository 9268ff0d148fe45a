import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { fromRoot } from '../paths.js';
import { FakeAsrEngine } from '../testing/fake-asr.js';
import { ensureRandomWhisperModel } from '../testing/whisper-model.js';
import { asrModelPath, createAsrEngine, requestTimeoutOf, startAsr } from './index.js';
import { hasWhisperServer, locateWhisperBuild } from './whisper-build.js';

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

  it('takes the request time limit from ASR_TIMEOUT_BASE_S and ASR_TIMEOUT_PER_AUDIO_S (0 = the device rate)', () => {
    expect(requestTimeoutOf(loadConfig())).toEqual({ baseMs: 5000 });
    expect(requestTimeoutOf(loadConfig({ ASR_TIMEOUT_BASE_S: '2.5', ASR_TIMEOUT_PER_AUDIO_S: '3' }))).toEqual({ baseMs: 2500, perAudioSecondMs: 3000 });
    expect(() => loadConfig({ ASR_TIMEOUT_BASE_S: '0' })).toThrow(/ASR_TIMEOUT_BASE_S: must be between 0.1 and 3600 s/);
    if (!hasWhisperServer(locateWhisperBuild('build/whisper'))) throw new Error('whisper-server is not built: run `npm run build:whisper`');
    const modelPath = ensureRandomWhisperModel('tiny', fromRoot('build/test-models'));
    const engine = (over: Record<string, string>) => createAsrEngine(loadConfig({ ASR_MODEL_PATH: modelPath, ...over }), { log: quiet })!;
    // Not loaded, so on the CPU's rate: 5 s + 10 s per second of audio by default.
    expect(engine({}).timeoutMsFor(2 * 16_000)).toBe(25_000);
    expect(engine({ ASR_TIMEOUT_BASE_S: '1', ASR_TIMEOUT_PER_AUDIO_S: '4' }).timeoutMsFor(2 * 16_000)).toBe(9000);
    expect(engine({ ASR_TIMEOUT_BASE_S: '1' }).timeoutMsFor(2 * 16_000)).toBe(21_000);
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
