/**
 * The neural encoder's loading path, for real, with no download: a small ONNX model with the
 * signature and metadata of the sherpa-onnx speaker models is generated here (by the
 * hand-written protobuf encoder), checked with onnxruntime-node, then run by sherpa-onnx.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { encodeOnnxModel, DataType, speakerEmbeddingTestModel, speakerTestProjection } from '../testing/onnx-writer.js';
import { createSpeakerEncoder, speakerModelPath } from './index.js';
import { checkSpeakerMetadata, loadSherpaOnnx, NeuralSpeakerEncoder, neuralEncoderName, readOnnxInfo, readOnnxMetadata } from './neural.js';
import type { SpeakerEncoder } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'duet-neural-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeModel(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A 16 kHz test signal: harmonics of `f0` plus a little deterministic noise. */
function voice(f0: number, seconds: number, seed = 1): Float32Array {
  const n = Math.round(seconds * 16_000);
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    const t = i / 16_000;
    let v = 0;
    for (let h = 1; h <= 8; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = 0.2 * v + 0.01 * (s / 2 ** 32 - 0.5);
  }
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('generated speaker-embedding model', () => {
  it('loads and runs in onnxruntime-node with the expected maths', async () => {
    const dim = 12;
    const session = await ort.InferenceSession.create(speakerEmbeddingTestModel({ dim }));
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['embedding']);
    const [n, t, f] = [2, 7, 80];
    const x = Float32Array.from({ length: n * t * f }, (_, i) => Math.sin(i * 0.37));
    const out = await session.run({ x: new ort.Tensor('float32', x, [n, t, f]) });
    const y = out.embedding!;
    expect(y.dims).toEqual([n, dim]);
    // Expected: mean over time of x², times W.
    const w = speakerTestProjection(f, dim);
    const data = y.data as Float32Array;
    for (let b = 0; b < n; b++) {
      for (let d = 0; d < dim; d++) {
        let acc = 0;
        for (let k = 0; k < f; k++) {
          let m = 0;
          for (let ti = 0; ti < t; ti++) m += x[(b * t + ti) * f + k]! ** 2;
          acc += (m / t) * w[k * dim + d]!;
        }
        expect(data[b * dim + d]).toBeCloseTo(acc, 4);
      }
    }
    await session.release();
  });

  it('uses the WeSpeaker names for a WeSpeaker-style model', async () => {
    const session = await ort.InferenceSession.create(speakerEmbeddingTestModel({ framework: 'wespeaker' }));
    expect(session.inputNames).toEqual(['feats']);
    expect(session.outputNames).toEqual(['embs']);
    await session.release();
  });

  it('carries the metadata sherpa-onnx reads, readable without loading the model', async () => {
    const path = writeModel('meta.onnx', speakerEmbeddingTestModel({ dim: 24 }));
    const meta = await readOnnxMetadata(path);
    expect((await readOnnxInfo(path)).outputs).toEqual([{ name: 'embedding', dims: ['N', 24] }]);
    expect(meta).toMatchObject({
      framework: '3d-speaker',
      language: 'English',
      sample_rate: '16000',
      output_dim: '24',
      normalize_samples: '1',
      feature_normalize_type: 'global-mean',
    });
    expect(Object.keys(meta)).toEqual(expect.arrayContaining(['url', 'comment']));
    expect(checkSpeakerMetadata(meta, 'meta.onnx')).toEqual({
      framework: '3d-speaker',
      outputDim: 24,
      sampleRate: 16000,
      normalizeSamples: true,
      language: 'English',
      featureNormalizeType: 'global-mean',
    });
  });

  it('names every metadata problem', () => {
    expect(() => checkSpeakerMetadata({}, 'm.onnx')).toThrow(/missing framework; missing output_dim; missing sample_rate; missing normalize_samples; missing language/);
    expect(() => checkSpeakerMetadata({ framework: 'nemo', output_dim: '1', sample_rate: '1', normalize_samples: '0', language: 'x' }, 'm.onnx')).toThrow(/NeMo/);
    expect(() =>
      checkSpeakerMetadata({ framework: 'wespeaker', output_dim: '8', sample_rate: '16000', normalize_samples: '0', language: 'x', feature_normalize_type: 'cmvn' }, 'm.onnx'),
    ).toThrow(/feature_normalize_type "cmvn"/);
  });

  it('rejects a file that is not an ONNX model', async () => {
    const path = writeModel('junk.onnx', new TextEncoder().encode('<html>rate limited</html>'));
    await expect(readOnnxMetadata(path)).rejects.toThrow(/junk\.onnx is not a readable ONNX model/);
    const truncated = writeModel('cut.onnx', speakerEmbeddingTestModel().subarray(0, 200));
    await expect(readOnnxMetadata(truncated)).rejects.toThrow(/truncated/);
  });
});

describe('NeuralSpeakerEncoder (sherpa-onnx)', () => {
  for (const framework of ['3d-speaker', 'wespeaker'] as const) {
    it(`embeds with a ${framework} model: right dim, deterministic, signal-dependent`, async () => {
      const path = writeModel(`${framework}.onnx`, speakerEmbeddingTestModel({ dim: 16, framework }));
      const enc = new NeuralSpeakerEncoder({ modelPath: path });
      expect(() => enc.dim).toThrow(/not loaded/);
      await enc.load();
      await enc.load(); // idempotent
      expect(enc.dim).toBe(16);
      expect(enc.metadata?.framework).toBe(framework);
      expect(enc.name).toBe(`${framework} (sherpa-onnx)`);

      const a = voice(120, 1.5);
      const e1 = await enc.embed(a);
      const e2 = await enc.embed(a);
      expect(e1).toBeInstanceOf(Float32Array);
      expect(e1.length).toBe(16);
      expect(Array.from(e1).every(Number.isFinite)).toBe(true);
      expect(Array.from(e2)).toEqual(Array.from(e1));

      const b = voice(310, 1.5, 7);
      const eb = await enc.embed(b);
      expect(cosine(e1, eb)).toBeLessThan(0.999);
      expect(Array.from(eb)).not.toEqual(Array.from(e1));

      // A view into a larger buffer embeds like a copy of the same samples.
      const big = new Float32Array(a.length + 5000);
      big.set(a, 2000);
      expect(Array.from(await enc.embed(big.subarray(2000, 2000 + a.length)))).toEqual(Array.from(e1));

      // Very short input still gives an embedding.
      expect((await enc.embed(voice(120, 0.1))).length).toBe(16);
      await expect(enc.embed(new Float32Array(0))).rejects.toThrow(/empty/);

      await enc.close();
      await enc.close();
      await expect(enc.embed(a)).rejects.toThrow(/not loaded/);
    });
  }

  it('normalises scores against cohort voices embedded at load time', async () => {
    const path = writeModel('cohort.onnx', speakerEmbeddingTestModel({ dim: 16 }));
    const cohort = [110, 150, 190, 230, 270, 310].map((f0, i) => voice(f0, 4, i + 2));
    const enc = new NeuralSpeakerEncoder({ modelPath: path, cohort: async () => cohort });
    await enc.load();
    expect(enc.scoreNorm).not.toBeNull();
    expect(enc.scoreNorm!.cohort).toHaveLength(2 * cohort.length);
    const a = await enc.embed(voice(130, 2, 9));
    const b = await enc.embed(voice(130, 2, 10));
    const s = enc.scoreNorm!.similarity(a, b);
    expect(s).toBeGreaterThan(-1);
    expect(s).toBeLessThan(1);
    await enc.close();
    expect(enc.scoreNorm).toBeNull();
    const none = new NeuralSpeakerEncoder({ modelPath: path, cohort: async () => cohort.slice(0, 2) });
    await none.load();
    expect(none.scoreNorm).toBeNull();
  });

  it('refuses a model without the required metadata instead of letting sherpa-onnx end the process', async () => {
    const path = writeModel('no-framework.onnx', speakerEmbeddingTestModel({ metadata: { framework: null, output_dim: null } }));
    const enc = new NeuralSpeakerEncoder({ modelPath: path });
    await expect(enc.load()).rejects.toThrow(/no-framework\.onnx is not a sherpa-onnx speaker-embedding model: missing framework; missing output_dim/);
  });

  it('refuses a model whose output_dim metadata does not match its output', async () => {
    // sherpa-onnx would trust the metadata and read past the real output.
    const path = writeModel('lying.onnx', speakerEmbeddingTestModel({ dim: 16, metadata: { output_dim: '32' } }));
    const enc = new NeuralSpeakerEncoder({ modelPath: path });
    await expect(enc.load()).rejects.toThrow(/metadata output_dim 32 does not match the model's output size 16/);
  });

  it('reports a missing native package clearly', async () => {
    const path = writeModel('ok.onnx', speakerEmbeddingTestModel());
    const enc = new NeuralSpeakerEncoder({
      modelPath: path,
      loadAddon: () => {
        throw new Error('the neural speaker encoder needs sherpa-onnx-node and its native package sherpa-onnx-linux-x64, which could not be loaded');
      },
    });
    await expect(enc.load()).rejects.toThrow(/sherpa-onnx-linux-x64/);
  });

  it('names catalog models by their short name', () => {
    expect(neuralEncoderName('/m/3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx')).toBe('campplus-en-voxceleb (sherpa-onnx)');
    expect(neuralEncoderName('/m/custom.onnx')).toBe('custom (sherpa-onnx)');
  });

  it('still runs any ONNX graph of that signature (hand-built, no helper)', async () => {
    // A model built directly from the writer's primitives: output = ReduceMean_t(x) (D = 80).
    const bytes = encodeOnnxModel({
      inputs: [{ name: 'feats', elemType: DataType.FLOAT, shape: ['N', 'T', 80] }],
      outputs: [{ name: 'embs', elemType: DataType.FLOAT, shape: ['N', 80] }],
      nodes: [{ opType: 'ReduceMean', inputs: ['feats'], outputs: ['embs'], attributes: { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 0 } } }],
      metadata: { framework: 'wespeaker', language: 'English', url: 'u', comment: 'c', sample_rate: '16000', output_dim: '80', normalize_samples: '0' },
    });
    const enc = new NeuralSpeakerEncoder({ modelPath: writeModel('mean.onnx', bytes) });
    await enc.load();
    const e = await enc.embed(voice(200, 1));
    expect(e.length).toBe(80);
    // Mean log-mel energies of a voiced signal: finite, and not all equal.
    expect(new Set(Array.from(e).map((v) => v.toFixed(3))).size).toBeGreaterThan(10);
  });
});

describe('NeuralSpeakerEncoder keeps the event loop free', () => {
  /**
   * A speaker model of the real signature that costs real compute: `layers` 80×80 MatMuls over
   * every frame, then mean pooling and a projection (dim 16).
   */
  function heavyModel(layers: number): Uint8Array {
    const rnd = speakerTestProjection(80, 80, 3).map((v) => v * 0.1);
    const nodes = [];
    let x = 'feats';
    for (let i = 0; i < layers; i++) {
      nodes.push({ opType: 'MatMul', inputs: [x, 'W80'], outputs: [`h${i}`] });
      x = `h${i}`;
    }
    nodes.push({ opType: 'ReduceMean', inputs: [x], outputs: ['pooled'], attributes: { axes: { kind: 'ints' as const, value: [1] }, keepdims: { kind: 'int' as const, value: 0 } } });
    nodes.push({ opType: 'MatMul', inputs: ['pooled', 'P'], outputs: ['embs'] });
    return encodeOnnxModel({
      inputs: [{ name: 'feats', elemType: DataType.FLOAT, shape: ['N', 'T', 80] }],
      outputs: [{ name: 'embs', elemType: DataType.FLOAT, shape: ['N', 16] }],
      initializers: [
        { name: 'W80', dims: [80, 80], data: rnd },
        { name: 'P', dims: [80, 16], data: speakerTestProjection(80, 16, 5) },
      ],
      nodes,
      metadata: { framework: 'wespeaker', language: 'English', url: 'u', comment: 'c', sample_rate: '16000', output_dim: '16', normalize_samples: '0' },
    });
  }

  /** Embeds the windows of a 7 s segment (as the assigner does) and measures the longest event-loop stall. */
  async function stallWhileEmbedding(enc: NeuralSpeakerEncoder): Promise<{ stallMs: number; totalMs: number; dims: number[] }> {
    const segment = voice(140, 7);
    const windows: Float32Array[] = [];
    for (let at = 0; at + 24_000 <= segment.length; at += 8000) windows.push(segment.subarray(at, at + 24_000));
    let last = performance.now();
    let stallMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last);
      last = now;
    }, 2);
    const t0 = performance.now();
    const out = [];
    for (const w of windows) out.push(await enc.embed(w));
    const totalMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
    clearInterval(ticker);
    return { stallMs, totalMs, dims: out.map((e) => e.length) };
  }

  it('runs sherpa-onnx in a worker thread: the event loop keeps ticking during a 7 s segment\'s windows', async () => {
    // Heavy enough that one window blocks a fast, idle core for well over 60 ms (about 18 ms per 60
    // layers was seen on an idle 2-core EPYC).
    const path = writeModel('heavy.onnx', heavyModel(720));
    // The same model on this thread (the test seam): the stall the worker avoids.
    const inThread = new NeuralSpeakerEncoder({ modelPath: path, loadAddon: loadSherpaOnnx });
    await inThread.load();
    const blocked = await stallWhileEmbedding(inThread);
    await inThread.close();

    const enc = new NeuralSpeakerEncoder({ modelPath: path });
    await enc.load();
    const free = await stallWhileEmbedding(enc);
    console.log(`[neural test] 7 s segment windows: longest event-loop stall ${blocked.stallMs.toFixed(0)} ms on this thread (${blocked.totalMs.toFixed(0)} ms of work), ${free.stallMs.toFixed(0)} ms with the worker`);
    expect(free.dims.every((d) => d === 16)).toBe(true);
    // Each window costs enough for a stall to show: on this thread it does.
    expect(blocked.stallMs).toBeGreaterThan(60);
    // In the worker, the loop never stops for long (timer jitter only), whatever the work.
    expect(free.stallMs).toBeLessThan(Math.max(40, blocked.stallMs / 3));
    // Same numbers from both threads.
    const a = voice(150, 2);
    const viaThread = new NeuralSpeakerEncoder({ modelPath: path, loadAddon: loadSherpaOnnx });
    await viaThread.load();
    expect(Array.from(await enc.embed(a))).toEqual(Array.from(await viaThread.embed(a)));
    await Promise.all([enc.close(), viaThread.close()]);
    await expect(enc.embed(a)).rejects.toThrow(/not loaded/);
  }, 120_000);

  it('closes while an embedding is being computed: the caller is told, the process lives on', async () => {
    const path = writeModel('heavy-close.onnx', heavyModel(720));
    const enc = new NeuralSpeakerEncoder({ modelPath: path });
    await enc.load();
    const inFlight = enc.embed(voice(160, 3));
    // Give the worker the message, so the native computation is running when close() comes.
    await new Promise((r) => setTimeout(r, 20));
    // Handled before close() rejects it, so the rejection is never unhandled.
    const told = expect(inFlight).rejects.toThrow(/closed/);
    await enc.close();
    await told;
    // A second encoder still works afterwards (the process and the addon are intact).
    const again = new NeuralSpeakerEncoder({ modelPath: path });
    await again.load();
    expect((await again.embed(voice(161, 2))).length).toBe(16);
    await again.close();
  }, 60_000);

  it('fails pending and later embeddings clearly once closed', async () => {
    const enc = new NeuralSpeakerEncoder({ modelPath: writeModel('heavy2.onnx', heavyModel(60)) });
    await enc.load();
    const pending = enc.embed(voice(140, 7)).catch((e: unknown) => e);
    await enc.close();
    expect(await pending).toMatchObject({ message: expect.stringMatching(/closed/) });
  }, 60_000);
});

describe('createSpeakerEncoder', () => {
  const fakeBuiltin = (): SpeakerEncoder => ({ name: 'builtin-fake', dim: 3, load: async () => undefined, embed: async () => new Float32Array(3), close: async () => undefined });
  const capture = () => {
    const lines: string[] = [];
    return { lines, log: createLogger('debug', 'speaker', (l) => lines.push(l)) };
  };
  const modelsDir = join(dir, 'models');
  const config = (SPEAKER_ENCODER: 'auto' | 'builtin' | 'neural', SPEAKER_MODEL = 'campplus.onnx') => ({ SPEAKER_ENCODER, SPEAKER_MODEL, MODELS_DIR: modelsDir });

  it('auto → built-in when the neural model is absent, saying why', async () => {
    const { lines, log } = capture();
    const enc = await createSpeakerEncoder(config('auto', 'absent.onnx'), { log, builtin: fakeBuiltin });
    expect(enc.name).toBe('builtin-fake');
    expect(lines.join('\n')).toMatch(/speaker encoder: builtin-fake \(built-in, dim 3\) — SPEAKER_ENCODER=auto and no neural model at .*absent\.onnx/);
  });

  it('auto → neural when the model file is present', async () => {
    mkdirSync(modelsDir, { recursive: true });
    writeFileSync(join(modelsDir, 'campplus.onnx'), speakerEmbeddingTestModel({ dim: 8 }));
    const { lines, log } = capture();
    const enc = await createSpeakerEncoder(config('auto'), { log, builtin: fakeBuiltin });
    expect(enc).toBeInstanceOf(NeuralSpeakerEncoder);
    expect(enc.dim).toBe(8);
    expect(lines.join('\n')).toMatch(/speaker encoder: campplus \(sherpa-onnx\) \(neural, dim 8, (raw cosine|AS-norm over \d+ cohort embeddings)[^)]*\) — SPEAKER_ENCODER=auto and .*campplus\.onnx is present/);
  });

  it('auto falls back to built-in, with a warning, when the neural model is broken', async () => {
    writeFileSync(join(modelsDir, 'broken.onnx'), speakerEmbeddingTestModel({ metadata: { language: null } }));
    const { lines, log } = capture();
    const enc = await createSpeakerEncoder(config('auto', 'broken.onnx'), { log, builtin: fakeBuiltin });
    expect(enc.name).toBe('builtin-fake');
    expect(lines.some((l) => l.includes('WARN') && l.includes('missing language'))).toBe(true);
  });

  it('builtin forces the built-in encoder even when a neural model is present', async () => {
    const enc = await createSpeakerEncoder(config('builtin'), { builtin: fakeBuiltin });
    expect(enc.name).toBe('builtin-fake');
  });

  it('neural requires the model file, with a clear error', async () => {
    await expect(createSpeakerEncoder(config('neural', 'absent.onnx'), { builtin: fakeBuiltin })).rejects.toThrow(
      /SPEAKER_ENCODER=neural but the speaker model .*absent\.onnx does not exist; run "npm run models -- --speaker --trust-on-first-use"/,
    );
    const enc = await createSpeakerEncoder(config('neural'), { builtin: fakeBuiltin });
    expect(enc).toBeInstanceOf(NeuralSpeakerEncoder);
  });

  it('resolves catalog short names to their file', () => {
    expect(speakerModelPath({ MODELS_DIR: '/m', SPEAKER_MODEL: 'campplus-en-voxceleb' })).toBe('/m/3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx');
    expect(speakerModelPath({ MODELS_DIR: '/m', SPEAKER_MODEL: 'x.onnx' })).toBe('/m/x.onnx');
  });

  it('loads the real built-in encoder by default', async () => {
    const enc = await createSpeakerEncoder(config('builtin'));
    expect(enc.name).toMatch(/builtin/);
    expect(enc.dim).toBeGreaterThan(0);
    await enc.close();
  });
});