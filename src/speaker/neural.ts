/**
 * Neural speaker encoder: a 3D-Speaker (CAM++, ERes2Net) or WeSpeaker (ResNet) ONNX model run
 * by `sherpa-onnx-node`'s `SpeakerEmbeddingExtractor`, which computes the features these models
 * were trained with natively (80-dim Kaldi fbank; sample scaling and mean normalisation as the
 * model's ONNX metadata says). Nothing here re-implements that front end.
 *
 * sherpa-onnx ends the process (exit or crash) when a model lacks the metadata it reads, so
 * `load()` checks the metadata first, from the file, and throws a clear error instead.
 *
 * sherpa-onnx's `compute()` is synchronous native code: a 7 s segment's windows would hold the
 * event loop (every session's audio, heartbeats, replies) for their whole duration. So the
 * extractor lives in a worker thread and embeddings come back as messages.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import { speakerModel } from '../models/catalog.js';
import { calibratedFromHalves, type ScoreNormalizer } from './snorm.js';
import { modelVersion, type SpeakerEncoder } from './types.js';

/** The audio rate the whole pipeline runs at. */
const SAMPLE_RATE = 16_000;
/**
 * Inputs shorter than this are tiled (repeated) up to it, samples: the models pool over
 * frames, and a handful of 10 ms frames gives an unstable embedding (zero-padding would
 * instead add log-energy floor frames that look like a different "speaker").
 */
const MIN_SAMPLES = 8_000;

// ---- the slice of sherpa-onnx-node used here (it ships no type declarations) ----------------

interface SherpaStream {
  acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}
interface SherpaExtractor {
  readonly dim: number;
  createStream(): SherpaStream;
  isReady(s: SherpaStream): boolean;
  compute(s: SherpaStream, enableExternalBuffer?: boolean): Float32Array;
}
export interface SherpaSpeakerModule {
  SpeakerEmbeddingExtractor: new (config: { model: string; numThreads?: number; debug?: boolean | number; provider?: string }) => SherpaExtractor;
}

/** Loads `sherpa-onnx-node` on first use, so a missing native package only matters here. */
export function loadSherpaOnnx(): SherpaSpeakerModule {
  const require = createRequire(import.meta.url);
  try {
    return require('sherpa-onnx-node') as SherpaSpeakerModule;
  } catch (err) {
    const platform = `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `the neural speaker encoder needs sherpa-onnx-node and its native package sherpa-onnx-${platform}, which could not be loaded (${reason}). ` +
        'Reinstall dependencies, or set SPEAKER_ENCODER=builtin.',
      { cause: err },
    );
  }
}

// ---- ONNX metadata (read straight from the protobuf, without loading the model) --------------

/** Reads a protobuf varint at `pos`: [value, next position]. Values stay exact below 2^53. */
function readVarint(buf: Uint8Array, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10 && pos < end; i++) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new Error('malformed protobuf varint');
}

/** Calls `visit` for each length-delimited field of an in-memory message; skips the others. */
function eachField(buf: Uint8Array, visit: (field: number, body: Uint8Array) => void, onVarint?: (field: number, value: number) => void): void {
  for (let pos = 0; pos < buf.length; ) {
    let tag: number;
    [tag, pos] = readVarint(buf, pos, buf.length);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      let v: number;
      [v, pos] = readVarint(buf, pos, buf.length);
      onVarint?.(field, v);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos, buf.length);
      if (pos + len > buf.length) throw new Error('truncated');
      visit(field, buf.subarray(pos, pos + len));
      pos += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

const utf8 = new TextDecoder();

/** `StringStringEntryProto`: key (1), value (2). */
function decodeEntry(buf: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  eachField(buf, (f, b) => {
    if (f === 1) key = utf8.decode(b);
    else if (f === 2) value = utf8.decode(b);
  });
  return [key, value];
}

/** A graph output: name and dimensions (a number, or the symbolic name). */
export interface OnnxValueShape {
  name: string;
  dims: Array<number | string>;
}

/** `ValueInfoProto` → name (1), type (2) → tensor_type (1) → shape (2) → dim (1) → dim_value (1) | dim_param (2). */
function decodeValueInfo(buf: Uint8Array): OnnxValueShape {
  const out: OnnxValueShape = { name: '', dims: [] };
  eachField(buf, (f, b) => {
    if (f === 1) out.name = utf8.decode(b);
    else if (f === 2)
      eachField(b, (tf, tensor) => {
        if (tf !== 1) return;
        eachField(tensor, (sf, shape) => {
          if (sf !== 2) return;
          eachField(shape, (df, dim) => {
            if (df !== 1) return;
            let d: number | string = '?';
            eachField(dim, (pf, param) => pf === 2 && (d = utf8.decode(param)), (vf, v) => vf === 1 && (d = v));
            out.dims.push(d);
          });
        });
      });
  });
  return out;
}

/**
 * Walks the length-delimited fields of the file range [start, end) without reading their
 * bodies; `visit` gets each field's number, offset and length.
 */
async function walkFile(fh: FileHandle, start: number, end: number, visit: (field: number, at: number, len: number) => Promise<void>): Promise<void> {
  const head = new Uint8Array(20);
  let pos = start;
  while (pos < end) {
    const { bytesRead } = await fh.read(head, 0, Math.min(head.length, end - pos), pos);
    const [tag, p1] = readVarint(head, 0, bytesRead);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new Error('field number 0');
    if (wire === 0) pos += readVarint(head, p1, bytesRead)[1];
    else if (wire === 1) pos += p1 + 8;
    else if (wire === 5) pos += p1 + 4;
    else if (wire === 2) {
      const [len, p2] = readVarint(head, p1, bytesRead);
      if (pos + p2 + len > end) throw new Error('truncated');
      await visit(field, pos + p2, len);
      pos += p2 + len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  if (pos !== end) throw new Error('truncated');
}

async function readRange(fh: FileHandle, at: number, len: number): Promise<Uint8Array> {
  const body = new Uint8Array(len);
  await fh.read(body, 0, len, at);
  return body;
}

export interface OnnxInfo {
  /** `ModelProto.metadata_props`. */
  metadata: Record<string, string>;
  /** `GraphProto.output`. */
  outputs: OnnxValueShape[];
}

/**
 * The metadata and graph outputs of an ONNX file, read from the protobuf without loading the
 * model: the graph's nodes and weights are skipped, not read into memory.
 */
export async function readOnnxInfo(path: string): Promise<OnnxInfo> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const info: OnnxInfo = { metadata: {}, outputs: [] };
    await walkFile(fh, 0, size, async (field, at, len) => {
      if (field === 14) {
        const [k, v] = decodeEntry(await readRange(fh, at, len));
        info.metadata[k] = v;
      } else if (field === 7) {
        await walkFile(fh, at, at + len, async (gf, gat, glen) => {
          if (gf === 12) info.outputs.push(decodeValueInfo(await readRange(fh, gat, glen)));
        });
      }
    });
    if (info.outputs.length === 0) throw new Error('no graph outputs');
    return info;
  } catch (err) {
    throw new Error(`${basename(path)} is not a readable ONNX model (${err instanceof Error ? err.message : String(err)}); delete it and download it again`, { cause: err });
  } finally {
    await fh.close();
  }
}

/** `ModelProto.metadata_props` of an ONNX file. */
export async function readOnnxMetadata(path: string): Promise<Record<string, string>> {
  return (await readOnnxInfo(path)).metadata;
}

/** What sherpa-onnx reads from a speaker model's metadata, checked. */
export interface SpeakerModelMetadata {
  framework: 'wespeaker' | '3d-speaker';
  outputDim: number;
  sampleRate: number;
  normalizeSamples: boolean;
  language: string;
  featureNormalizeType: '' | 'global-mean';
}

/**
 * Checks the metadata keys sherpa-onnx's general speaker extractor requires (`framework`,
 * `output_dim`, `sample_rate`, `normalize_samples`, `language`; optional
 * `feature_normalize_type`). Throws one error naming every problem.
 */
export function checkSpeakerMetadata(meta: Record<string, string>, file: string): SpeakerModelMetadata {
  const problems: string[] = [];
  const int = (key: string): number => {
    const v = meta[key];
    if (v === undefined) problems.push(`missing ${key}`);
    else if (!/^-?\d+$/.test(v.trim())) problems.push(`${key} is not an integer`);
    return Number(v);
  };
  const framework = meta.framework;
  if (framework === undefined) problems.push('missing framework');
  else if (framework === 'nemo') problems.push('NeMo models are not supported here (use a 3D-Speaker or WeSpeaker model)');
  else if (framework !== 'wespeaker' && framework !== '3d-speaker') problems.push(`unknown framework "${framework}"`);
  const outputDim = int('output_dim');
  const sampleRate = int('sample_rate');
  const normalizeSamples = int('normalize_samples');
  if (meta.language === undefined) problems.push('missing language');
  const fnt = meta.feature_normalize_type ?? '';
  if (fnt !== '' && fnt !== 'global-mean') problems.push(`unsupported feature_normalize_type "${fnt}"`);
  if (problems.length === 0 && outputDim <= 0) problems.push('output_dim must be positive');
  if (problems.length > 0) {
    throw new Error(`${file} is not a sherpa-onnx speaker-embedding model: ${problems.join('; ')}`);
  }
  return {
    framework: framework as SpeakerModelMetadata['framework'],
    outputDim,
    sampleRate,
    normalizeSamples: normalizeSamples !== 0,
    language: meta.language!,
    featureNormalizeType: fnt as SpeakerModelMetadata['featureNormalizeType'],
  };
}

// ---- the encoder -----------------------------------------------------------------------------

export interface NeuralSpeakerEncoderOptions {
  /** Path of the `.onnx` file. */
  modelPath: string;
  /** Name reported in `model_loaded.models.speaker`; derived from the file by default. */
  name?: string;
  /** ONNX Runtime threads; 1 keeps one embedding from taking every core from the pipeline. */
  numThreads?: number;
  /**
   * Test seam: an addon to use instead of `sherpa-onnx-node`. It runs on the calling thread
   * (a function cannot be sent to a worker); the product always uses the worker.
   */
  loadAddon?: () => SherpaSpeakerModule;
  /**
   * Cohort voices for score normalisation: one clip (≥ 2 s) per speaker, none of them users.
   * At load each clip is embedded in two halves, and the AS-norm scale is calibrated on them
   * (`calibratedFromHalves`) so that the configured threshold (0.6) sits at their equal-error
   * point. Absent, or fewer than three clips: raw cosine.
   */
  cohort?: () => Promise<Float32Array[]>;
}

/** Highest cohort scores per side used by the neural path's AS-norm (a small shipped cohort). */
const NEURAL_TOP_K = 10;
/** The calibrated decision point of normalised scores (the server's default threshold). */
const NEURAL_THRESHOLD = 0.6;

/** `campplus-en-voxceleb (sherpa-onnx)` for a catalog model, else the file's stem. */
export function neuralEncoderName(modelPath: string): string {
  const file = basename(modelPath);
  return `${speakerModel(file)?.name ?? file.replace(/\.onnx$/i, '')} (sherpa-onnx)`;
}

/** Where the extractor runs: a worker thread (the product) or this thread (the test seam). */
interface Backend {
  readonly dim: number;
  /** `input` is owned by the callee (it may be transferred). */
  compute(input: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Runs one embedding with an extractor; the same code on either thread. */
function computeWith(extractor: SherpaExtractor, input: Float32Array): Float32Array {
  const stream = extractor.createStream();
  stream.acceptWaveform({ sampleRate: SAMPLE_RATE, samples: input });
  stream.inputFinished();
  if (!extractor.isReady(stream)) throw new Error('audio too short for the speaker model');
  // `false`: copy into a JS-owned buffer rather than wrap native memory.
  return extractor.compute(stream, false);
}

function inThreadBackend(sherpa: SherpaSpeakerModule, modelPath: string, numThreads: number): Backend {
  const extractor = new sherpa.SpeakerEmbeddingExtractor({ model: modelPath, numThreads, debug: 0, provider: 'cpu' });
  return {
    dim: extractor.dim,
    compute: async (input) => computeWith(extractor, input),
    close: async () => undefined,
  };
}

/**
 * The worker's code, plain JavaScript evaluated by `new Worker(…, { eval: true })`: it needs no
 * TypeScript loader, so it runs the same under tsx, vitest and compiled JavaScript.
 * `computeWith` is inlined from its source so both threads run the very same steps.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SAMPLE_RATE = ${SAMPLE_RATE};
const computeWith = ${computeWith.toString()};
let extractor;
try {
  const sherpa = require(workerData.addonPath);
  extractor = new sherpa.SpeakerEmbeddingExtractor({ model: workerData.modelPath, numThreads: workerData.numThreads, debug: 0, provider: 'cpu' });
  parentPort.postMessage({ kind: 'ready', dim: extractor.dim });
} catch (err) {
  parentPort.postMessage({ kind: 'failed', message: err && err.message ? err.message : String(err) });
}
parentPort.on('message', ({ id, input }) => {
  try {
    const out = computeWith(extractor, input);
    const copy = new Float32Array(out);
    parentPort.postMessage({ kind: 'done', id, embedding: copy }, [copy.buffer]);
  } catch (err) {
    parentPort.postMessage({ kind: 'done', id, error: err && err.message ? err.message : String(err) });
  }
});
`;

type WorkerReply =
  | { kind: 'ready'; dim: number }
  | { kind: 'failed'; message: string }
  | { kind: 'done'; id: number; embedding?: Float32Array; error?: string };

/** Resolves `sherpa-onnx-node`'s entry point, with the clear message when it is missing. */
function resolveAddon(): string {
  loadSherpaOnnx();
  return createRequire(import.meta.url).resolve('sherpa-onnx-node');
}

/** Longest wait at close for the worker's computation in progress (one window: well under 1 s). */
const CLOSE_DRAIN_MS = 5000;

async function workerBackend(modelPath: string, numThreads: number): Promise<Backend> {
  const addonPath = resolveAddon();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { addonPath, modelPath, numThreads } });
  const pending = new Map<number, { resolve(e: Float32Array): void; reject(err: Error): void }>();
  let nextId = 0;
  let broken: Error | null = null;
  /**
   * Embeddings the worker has been asked for and not yet answered, whether or not their caller
   * still waits. The worker is terminated only when this is 0: terminating it while the native
   * extractor is inside a computation makes the addon's return into the dying thread throw a
   * C++ exception that aborts the whole process.
   */
  let outstanding = 0;
  let drained: (() => void) | null = null;
  const failAll = (err: Error) => {
    broken ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker.unref();
  };
  const dim = await new Promise<number>((resolve, reject) => {
    worker.on('message', (msg: WorkerReply) => {
      if (msg.kind === 'ready') resolve(msg.dim);
      else if (msg.kind === 'failed') reject(new Error(msg.message));
      else {
        outstanding--;
        if (outstanding === 0) drained?.();
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (pending.size === 0) worker.unref();
        if (msg.embedding) p.resolve(msg.embedding);
        else p.reject(new Error(msg.error ?? 'speaker embedding failed'));
      }
    });
    worker.on('error', (err) => {
      reject(err);
      failAll(new Error(`speaker encoder thread failed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      reject(new Error(`speaker encoder thread exited (${code})`));
      failAll(new Error(`speaker encoder thread exited (${code})`));
      outstanding = 0;
      drained?.();
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  worker.unref();
  return {
    dim,
    compute(input) {
      if (broken) return Promise.reject(broken);
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        outstanding++;
        // Held open only while an embedding is on its way.
        worker.ref();
        worker.postMessage({ id, input }, [input.buffer as ArrayBuffer]);
      });
    },
    async close() {
      failAll(new Error('neural speaker encoder closed'));
      if (outstanding > 0) {
        // Let the computation in progress finish (bounded), then stop the thread.
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, CLOSE_DRAIN_MS).unref();
        });
      }
      await worker.terminate();
    },
  };
}

export class NeuralSpeakerEncoder implements SpeakerEncoder {
  readonly name: string;
  readonly modelPath: string;
  private readonly numThreads: number;
  private readonly loadAddon: (() => SherpaSpeakerModule) | undefined;
  private backend: Backend | null = null;
  private loading: Promise<void> | null = null;
  private meta: SpeakerModelMetadata | null = null;
  private readonly cohortSource: (() => Promise<Float32Array[]>) | undefined;
  scoreNorm: ScoreNormalizer | null = null;
  /** Short hash of the model file, once loaded. */
  version: string | undefined = undefined;

  constructor(options: NeuralSpeakerEncoderOptions) {
    this.modelPath = options.modelPath;
    this.name = options.name ?? neuralEncoderName(options.modelPath);
    this.numThreads = options.numThreads ?? 1;
    this.loadAddon = options.loadAddon;
    this.cohortSource = options.cohort;
  }

  /** Embedding dimension (from the loaded extractor). */
  get dim(): number {
    if (!this.backend) throw new Error('neural speaker encoder not loaded');
    return this.backend.dim;
  }

  /** The model's checked metadata, once loaded. */
  get metadata(): SpeakerModelMetadata | null {
    return this.meta;
  }

  load(): Promise<void> {
    this.loading ??= this.doLoad().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const file = basename(this.modelPath);
    const info = await readOnnxInfo(this.modelPath);
    this.version = modelVersion(await readFile(this.modelPath));
    const meta = checkSpeakerMetadata(info.metadata, file);
    // sherpa-onnx copies output_dim values from the model's output whatever its real size, so
    // a mislabelled model would yield garbage; check against the declared output shape.
    const declared = info.outputs[0]!.dims.at(-1);
    if (typeof declared === 'number' && declared !== meta.outputDim) {
      throw new Error(`${file}: metadata output_dim ${meta.outputDim} does not match the model's output size ${declared}`);
    }
    let backend: Backend;
    try {
      backend = this.loadAddon ? inThreadBackend(this.loadAddon(), this.modelPath, this.numThreads) : await workerBackend(this.modelPath, this.numThreads);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/sherpa-onnx-node/.test(message)) throw err;
      throw new Error(`sherpa-onnx could not load ${file}: ${message}`, { cause: err });
    }
    if (backend.dim !== meta.outputDim) {
      await backend.close();
      throw new Error(`${file}: extractor dimension ${backend.dim} differs from output_dim ${meta.outputDim}`);
    }
    this.meta = meta;
    this.backend = backend;
    if (this.cohortSource) {
      const clips = (await this.cohortSource()).filter((c) => c.length >= 2 * SAMPLE_RATE);
      if (clips.length >= 3) {
        const halves: Array<[Float32Array, Float32Array]> = [];
        for (const c of clips) {
          const mid = Math.floor(c.length / 2);
          halves.push([await this.embed(c.subarray(0, mid)), await this.embed(c.subarray(mid))]);
        }
        this.scoreNorm = calibratedFromHalves(halves, NEURAL_TOP_K, NEURAL_THRESHOLD);
      }
    }
  }

  async embed(samples: Float32Array): Promise<Float32Array> {
    const backend = this.backend;
    if (!backend) throw new Error('neural speaker encoder not loaded');
    if (samples.length === 0) throw new Error('cannot embed empty audio');
    // A fresh, exactly-sized buffer: the native side reads the whole underlying ArrayBuffer
    // (and the worker takes ownership of it).
    const input = samples.length >= MIN_SAMPLES ? Float32Array.from(samples) : tile(samples, MIN_SAMPLES);
    const out = await backend.compute(input);
    if (out.length !== backend.dim) throw new Error(`speaker model returned ${out.length} values, expected ${backend.dim}`);
    for (const v of out) if (!Number.isFinite(v)) throw new Error('speaker model returned a non-finite embedding');
    return out;
  }

  async close(): Promise<void> {
    const backend = this.backend;
    this.backend = null;
    this.loading = null;
    await backend?.close();
    this.scoreNorm = null;
  }
}

/** Repeats `x` until it is `n` samples long. */
function tile(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += x.length) out.set(x.subarray(0, Math.min(x.length, n - i)), i);
  return out;
}
