/**
 * The built-in speaker encoder: MFCC statistics projected by an LDA trained on the
 * LibriSpeech cohort (`scripts/research/train-speaker.ts` → `models/builtin/speaker-lda.json`).
 * No download, no native code; ~1 ms per second of audio.
 *
 * Embedding = lengthNorm(P · (stats − mean) / scale), where `stats` are the mean and standard
 * deviation of MFCC c1… and the standard deviation of their deltas over the energetic frames,
 * and P whitens the within-speaker covariance (so cosine is a WCCN-normalised LDA score).
 */
import { readFile } from 'node:fs/promises';
import { fromRoot } from '../paths.js';
import { FrontEnd, StatsPool, energeticFrames, type FrontEndOptions } from './features.js';
import { normalizeInPlace } from './linalg.js';
import { ScoreNormalizer, type ScoreNormOptions } from './snorm.js';
import { modelVersion, type SpeakerEncoder } from './types.js';

/** Default location of the shipped model, relative to the repository root. */
export const BUILTIN_MODEL_PATH = 'models/builtin/speaker-lda.json';

/** The shipped model file. */
export interface BuiltinModel {
  format: 'duet-builtin-speaker';
  version: 1;
  name: string;
  frontEnd: FrontEndOptions;
  /** Which entries of the pooled statistics vector are used, in order. */
  statIndices: number[];
  /** Standardisation of the selected statistics. */
  mean: number[];
  scale: number[];
  /** Output dimension K. */
  dim: number;
  /** K × statIndices.length, row-major. */
  projection: number[];
  /**
   * Cosine calibration: each embedding gets one extra constant coordinate `c` before length
   * normalisation, which maps every cosine s to (s + c²)/(1 + c²) — a monotone affine change
   * that puts the same-/different-speaker decision near the configured 0.6 threshold.
   */
  calibration: { c: number };
  /**
   * Cohort embeddings (unit length, this model's output including the calibration coordinate)
   * and AS-norm options; absent in older models (raw cosine then).
   */
  cohort?: number[][];
  scoreNorm?: ScoreNormOptions;
  /** `too_similar` bound on this model's normalised profile similarity (see `EnrollmentOptions`). */
  tooSimilarBound?: number;
  /** Free-form provenance (training data, options, dev numbers). */
  info?: Record<string, unknown>;
}

/** Minimum audio the encoder accepts, samples (shorter input is zero-padded to it). */
const MIN_SAMPLES = 4_000;

/** Pure embedding computation for a loaded model; shared by the encoder and training checks. */
export class BuiltinProjector {
  readonly model: BuiltinModel;
  readonly frontEnd: FrontEnd;
  readonly dim: number;
  private readonly inDim: number;

  constructor(model: BuiltinModel) {
    if (model.format !== 'duet-builtin-speaker' || model.version !== 1) throw new Error('unsupported built-in speaker model');
    this.model = model;
    this.frontEnd = new FrontEnd(model.frontEnd);
    this.inDim = model.statIndices.length;
    if (model.mean.length !== this.inDim || model.scale.length !== this.inDim || model.projection.length !== model.dim * this.inDim) {
      throw new Error('built-in speaker model has inconsistent shapes');
    }
    this.dim = model.dim + (model.calibration.c !== 0 ? 1 : 0);
  }

  /** Frame features and the pooled-statistics index of a stretch of audio. */
  pool(samples: Float32Array): StatsPool {
    const x = samples.length >= MIN_SAMPLES ? samples : padTo(samples, MIN_SAMPLES);
    const f = this.frontEnd.compute(x);
    return new StatsPool(f, energeticFrames(f.energyDb, this.frontEnd.options.energyDropDb, this.frontEnd.options.floorMarginDb));
  }

  /** Embedding of frames [from, to) of a pool. */
  embedRange(pool: StatsPool, from: number, to: number): Float32Array {
    return this.project(pool.stats(from, to));
  }

  /** Raw statistics → unit-length embedding. */
  project(stats: Float64Array): Float32Array {
    const m = this.model;
    const k = m.dim;
    const x = new Float64Array(this.inDim);
    for (let i = 0; i < this.inDim; i++) x[i] = (stats[m.statIndices[i]!]! - m.mean[i]!) / m.scale[i]!;
    const out = new Float32Array(this.dim);
    for (let r = 0; r < k; r++) {
      let s = 0;
      const row = r * this.inDim;
      for (let j = 0; j < this.inDim; j++) s += m.projection[row + j]! * x[j]!;
      out[r] = s;
    }
    normalizeInPlace(out);
    if (m.calibration.c !== 0) {
      out[k] = m.calibration.c;
      normalizeInPlace(out);
    }
    return out;
  }
}

function padTo(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  out.set(x);
  return out;
}

/**
 * Optional fast path the assigner uses: embeddings of sliding windows over one segment from
 * a single feature pass.
 */
export interface WindowedSpeakerEncoder extends SpeakerEncoder {
  /**
   * Embeddings of windows [start, start + windowSamples) every `hopSamples` (the last window
   * ends at the end of the audio), with each window's start sample.
   */
  embedWindows(samples: Float32Array, windowSamples: number, hopSamples: number): Promise<Array<{ startSample: number; endSample: number; embedding: Float32Array }>>;
}

export class BuiltinSpeakerEncoder implements WindowedSpeakerEncoder {
  readonly name: string = 'builtin-mfcc-lda';
  private projector: BuiltinProjector | null = null;
  scoreNorm: ScoreNormalizer | null = null;
  tooSimilarBound: number | undefined = undefined;
  /** Short hash of the model file (or of the model object given), once loaded. */
  version: string | undefined = undefined;
  private readonly source: string | BuiltinModel;

  /** A model path (relative to the repository root, or absolute), or a model object (tests). */
  constructor(model: string | BuiltinModel = BUILTIN_MODEL_PATH) {
    this.source = typeof model === 'string' ? fromRoot(model) : model;
  }

  get dim(): number {
    if (!this.projector) throw new Error('built-in speaker encoder not loaded');
    return this.projector.dim;
  }

  async load(): Promise<void> {
    if (this.projector) return;
    const text = typeof this.source === 'string' ? await readFile(this.source, 'utf8') : JSON.stringify(this.source);
    const model = typeof this.source === 'string' ? (JSON.parse(text) as BuiltinModel) : this.source;
    this.version = modelVersion(text);
    this.projector = new BuiltinProjector(model);
    if (model.cohort?.length && model.scoreNorm) {
      this.scoreNorm = new ScoreNormalizer(model.cohort.map((c) => Float32Array.from(c)), model.scoreNorm);
      this.tooSimilarBound = model.tooSimilarBound;
    }
  }

  private ready(): BuiltinProjector {
    if (!this.projector) throw new Error('built-in speaker encoder not loaded');
    return this.projector;
  }

  async embed(samples: Float32Array): Promise<Float32Array> {
    const p = this.ready();
    const pool = p.pool(samples);
    return p.embedRange(pool, 0, pool.numFrames);
  }

  async embedWindows(samples: Float32Array, windowSamples: number, hopSamples: number) {
    const p = this.ready();
    const pool = p.pool(samples);
    const { hopSamples: frameHop, frameSamples } = p.frontEnd.options;
    const out: Array<{ startSample: number; endSample: number; embedding: Float32Array }> = [];
    const n = samples.length;
    const starts: number[] = [];
    if (n <= windowSamples) starts.push(0);
    else {
      for (let s = 0; s + windowSamples <= n; s += hopSamples) starts.push(s);
      if (starts[starts.length - 1]! + windowSamples < n) starts.push(n - windowSamples);
    }
    for (const s of starts) {
      const e = Math.min(n, s + windowSamples);
      const from = Math.min(pool.numFrames, Math.floor(s / frameHop));
      const to = Math.max(from + 1, Math.min(pool.numFrames, Math.floor((e - frameSamples) / frameHop) + 1));
      out.push({ startSample: s, endSample: e, embedding: p.embedRange(pool, from, Math.min(to, pool.numFrames)) });
    }
    return out;
  }

  async close(): Promise<void> {
    this.projector = null;
    this.scoreNorm = null;
  }
}

/** Type guard for the sliding-window fast path. */
export function hasWindowedEmbedding(e: SpeakerEncoder): e is WindowedSpeakerEncoder {
  return typeof (e as Partial<WindowedSpeakerEncoder>).embedWindows === 'function';
}
