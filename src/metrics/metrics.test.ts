import { describe, expect, it } from 'vitest';
import { AsrEngineError } from '../asr/types.js';
import { FakeAsrEngine } from '../testing/fake-asr.js';
import type { Recognizer } from '../session/ports.js';
import type { StorageFs } from '../storage/fs.js';
import type { SpeakerEncoder } from '../speaker/types.js';
import type { VadModel } from '../vad/types.js';
import { DuetMetrics } from './metrics.js';
import { promtoolProblems, sample } from '../testing/prometheus.js';

const sources = () => ({
  sessions: () => 3,
  openConversations: () => 2,
  fileJobs: () => ({ queued: 1, running: 1, done: 4, failed: 0 }),
});

describe('DuetMetrics', () => {
  it('renders an exposition promtool accepts, with the live values and process memory', async () => {
    const m = new DuetMetrics(sources());
    const { text, contentType } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(promtoolProblems(text)).toBe('');
    expect(sample(text, 'duet_live_sessions')).toBe(3);
    expect(sample(text, 'duet_open_conversations')).toBe(2);
    expect(sample(text, 'duet_file_jobs{status="done"}')).toBe(4);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).not.toContain('duet_asr_worker_slots');
  });

  it('measures the engine: real-time factor, errors by code, restarts', async () => {
    const m = new DuetMetrics(sources());
    const fake = new FakeAsrEngine({ text: 'x', failWith: (s) => (s.length === 1600 ? new AsrEngineError('timeout', 'slow') : s.length === 800 ? new AsrEngineError('failed', 'bad') : null) });
    const engine = m.engine(fake);
    expect(engine.name).toBe('fake asr');
    await engine.transcribe(new Float32Array(16_000), { language: 'en' });
    await expect(engine.transcribe(new Float32Array(1600), { language: 'en' })).rejects.toThrow('slow');
    await expect(engine.transcribe(new Float32Array(800), { language: 'en' })).rejects.toThrow('bad');
    const { text } = await m.render();
    expect(sample(text, 'duet_recognition_real_time_factor_count')).toBe(1);
    expect(sample(text, 'duet_asr_engine_errors_total{code="timeout"}')).toBe(1);
    expect(sample(text, 'duet_asr_engine_errors_total{code="failed"}')).toBe(1);
    expect(sample(text, 'duet_asr_engine_restarts_total')).toBe(1);
    expect(promtoolProblems(text)).toBe('');
  });

  it('the wrapped engine keeps what others read of it: device and health', () => {
    const m = new DuetMetrics(sources());
    const inner = Object.assign(new FakeAsrEngine({ text: 'x' }), { device: 'cuda', health: () => ({ up: false, reason: 'restarting' as const, message: 'restarting' }) });
    const engine = m.engine(inner);
    expect(engine.device).toBe('cuda');
    expect(engine.health?.()).toEqual({ up: false, reason: 'restarting', message: 'restarting' });
  });

  it('the wrapped recognizer keeps its interim text (partials)', async () => {
    const m = new DuetMetrics(sources());
    const inner: Recognizer = {
      transcribe: async () => 'final',
      pending: 0,
      capacity: 1,
      close: () => undefined,
      partial: async () => 'interim',
      partialsAllowed: () => true,
    };
    const live = m.recognizer(inner, 'live');
    expect(live.partialsAllowed?.()).toBe(true);
    expect(await live.partial?.(new Float32Array(160), { language: 'en', signal: new AbortController().signal, audioCtx: 64, maxTokens: 10 })).toBe('interim');
    const plain = m.recognizer({ transcribe: async () => 'x', pending: 0, capacity: 1, close: () => undefined }, 'file');
    expect(plain.partial).toBeUndefined();
  });

  it('measures recognizers by class, the VAD and the encoder per audio second, and store writes', async () => {
    const m = new DuetMetrics(sources());
    let pending = 0;
    const inner: Recognizer = {
      transcribe: async () => 'hi',
      get pending() {
        return pending;
      },
      capacity: 4,
      close: () => undefined,
    };
    const live = m.recognizer(inner, 'live');
    await live.transcribe(new Float32Array(160), 'en', new AbortController().signal);
    pending = 2;
    let text = (await m.render()).text;
    expect(sample(text, 'duet_recognition_latency_seconds_count{class="live"}')).toBe(1);
    expect(sample(text, 'duet_recognition_queue_depth{class="live"}')).toBe(2);
    expect(sample(text, 'duet_recognition_queue_depth{class="file"}')).toBe(0);
    live.close();
    text = (await m.render()).text;
    expect(sample(text, 'duet_recognition_queue_depth{class="live"}')).toBe(0);

    const vadModel: VadModel = { name: 'v', load: async () => undefined, close: async () => undefined, createStream: () => ({ process: async () => 0.5, reset: () => undefined }) };
    const stream = m.vad(vadModel).createStream();
    for (let i = 0; i < 10; i++) expect(await stream.process(new Float32Array(512))).toBe(0.5);
    const encoder = { name: 'e', dim: 2, version: 'v1', load: async () => undefined, close: async () => undefined, embed: async () => new Float32Array(2) } satisfies SpeakerEncoder;
    const wrapped = m.encoder(encoder);
    expect(wrapped.version).toBe('v1');
    expect(wrapped.dim).toBe(2);
    await wrapped.embed(new Float32Array(32_000));

    const failing: StorageFs = {
      append: async () => undefined,
      writeAtomic: async () => {
        throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      },
      read: async () => null,
      truncate: async () => undefined,
      mkdir: async () => undefined,
      list: async () => [],
      remove: async () => undefined,
    };
    const fs = m.storageFs(failing);
    await fs.append('/x', 'y');
    await expect(fs.writeAtomic('/x', 'y')).rejects.toThrow('no space');
    text = (await m.render()).text;
    expect(sample(text, 'duet_vad_audio_seconds_total')).toBeCloseTo(0.32, 5);
    expect(sample(text, 'duet_speaker_audio_seconds_total')).toBe(2);
    expect(sample(text, 'duet_vad_seconds_per_audio_second')).toBeGreaterThan(0);
    expect(sample(text, 'duet_store_write_seconds_count{op="append"}')).toBe(1);
    expect(sample(text, 'duet_store_write_failures_total{op="write"}')).toBe(1);
    expect(promtoolProblems(text)).toBe('');
  });

  it('shows the workers\' slots only behind Redis', async () => {
    const m = new DuetMetrics({ ...sources(), workerSlots: () => 6 });
    expect(sample((await m.render()).text, 'duet_asr_worker_slots')).toBe(6);
  });
});
