/**
 * Front end of the built-in speaker encoder — pure DSP, no I/O.
 *
 * 16 kHz samples → 25 ms / 10 ms frames → pre-emphasis, Hamming window, power spectrum →
 * log mel filterbank → DCT-II (MFCC) → deltas. Utterance-level statistics (mean and standard
 * deviation over the energetic frames) are pooled from prefix sums, so any number of
 * sliding windows over one segment costs O(dim) each after a single pass over the audio.
 */
import { realPowerSpectrumInto } from '../audio/fft.js';

export interface FrontEndOptions {
  sampleRate: number;
  /** Analysis window, samples (25 ms). */
  frameSamples: number;
  /** Hop between frames, samples (10 ms). */
  hopSamples: number;
  fftSize: number;
  numMel: number;
  lowHz: number;
  highHz: number;
  /** Cepstra kept, c1…c<numCeps> (c0 is dropped: it only carries loudness). */
  numCeps: number;
  preEmphasis: number;
  /** Delta regression half-width, frames. */
  deltaWidth: number;
  /** Frames quieter than the segment's loud reference by more than this (dB) are not pooled. */
  energyDropDb: number;
  /**
   * Frames less than this far (dB) above the segment's floor (its 10th-percentile energy)
   * are not pooled either: in noisy audio the pauses between words are background noise.
   */
  floorMarginDb: number;
}

export const DEFAULT_FRONT_END: Readonly<FrontEndOptions> = Object.freeze({
  sampleRate: 16_000,
  frameSamples: 400,
  hopSamples: 160,
  fftSize: 512,
  numMel: 40,
  lowHz: 60,
  highHz: 7600,
  numCeps: 20,
  preEmphasis: 0.97,
  deltaWidth: 2,
  energyDropDb: 40,
  floorMarginDb: 0,
});

/**
 * Frame-level features of one stretch of audio. Read-only: the same object may be handed to
 * several callers (see {@link FrontEnd.compute}).
 */
export interface FrameFeatures {
  numFrames: number;
  /** Values per frame (cepstra followed by their deltas). */
  dim: number;
  /** Frame-major: frame t occupies [t*dim, (t+1)*dim). */
  data: Float32Array;
  /** Frame log energy, dB relative to full scale (after pre-emphasis). */
  energyDb: Float32Array;
}

const melOf = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const hzOf = (mel: number) => 700 * (10 ** (mel / 2595) - 1);

/** Triangular mel filters over the `fftSize/2+1` power bins; row-major `numMel × bins`. */
export function melFilterbank(o: FrontEndOptions = DEFAULT_FRONT_END): Float32Array {
  const bins = o.fftSize / 2 + 1;
  const out = new Float32Array(o.numMel * bins);
  const lo = melOf(o.lowHz);
  const hi = melOf(o.highHz);
  const edgesHz: number[] = [];
  for (let m = 0; m < o.numMel + 2; m++) edgesHz.push(hzOf(lo + ((hi - lo) * m) / (o.numMel + 1)));
  for (let m = 0; m < o.numMel; m++) {
    const [l, c, r] = [edgesHz[m]!, edgesHz[m + 1]!, edgesHz[m + 2]!];
    for (let k = 0; k < bins; k++) {
      const hz = (k * o.sampleRate) / o.fftSize;
      let w = 0;
      if (hz > l && hz <= c) w = (hz - l) / (c - l);
      else if (hz > c && hz < r) w = (r - hz) / (r - c);
      out[m * bins + k] = w;
    }
  }
  return out;
}

/** Orthonormal DCT-II rows 1…numCeps over numMel inputs; row-major `numCeps × numMel`. */
export function dctMatrix(numCeps: number, numMel: number): Float32Array {
  const out = new Float32Array(numCeps * numMel);
  const scale = Math.sqrt(2 / numMel);
  for (let i = 0; i < numCeps; i++) {
    for (let m = 0; m < numMel; m++) out[i * numMel + m] = scale * Math.cos((Math.PI * (i + 1) * (m + 0.5)) / numMel);
  }
  return out;
}

/** Precomputed tables for one option set (window, filterbank, DCT). */
export class FrontEnd {
  readonly options: Readonly<FrontEndOptions>;
  readonly dim: number;
  private readonly window: Float32Array;
  private readonly mel: Float32Array;
  private readonly dct: Float32Array;
  private readonly melRange: Array<[number, number]>;

  constructor(options: Partial<FrontEndOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_FRONT_END, ...options });
    const o = this.options;
    if ((o.fftSize & (o.fftSize - 1)) !== 0 || o.fftSize < o.frameSamples) throw new Error('fftSize must be a power of two ≥ frameSamples');
    this.dim = 2 * o.numCeps;
    this.window = new Float32Array(o.frameSamples);
    for (let i = 0; i < o.frameSamples; i++) this.window[i] = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (o.frameSamples - 1));
    this.mel = melFilterbank(o);
    this.dct = dctMatrix(o.numCeps, o.numMel);
    // Non-zero span of each filter, so the filterbank product skips the zeros.
    const bins = o.fftSize / 2 + 1;
    this.melRange = [];
    for (let m = 0; m < o.numMel; m++) {
      let a = bins;
      let b = 0;
      for (let k = 0; k < bins; k++) if (this.mel[m * bins + k]! > 0) ((a = Math.min(a, k)), (b = k + 1));
      this.melRange.push([a, Math.max(a, b)]);
    }
  }

  /** Number of whole frames in `n` samples. */
  frameCount(n: number): number {
    const o = this.options;
    return n < o.frameSamples ? 0 : 1 + Math.floor((n - o.frameSamples) / o.hopSamples);
  }

  /**
   * MFCC (c1…) plus deltas for every frame of `samples`. The same audio is often asked for
   * again within a moment — a part's embedding, its frame evidence and its frame model's
   * adaptation all read the same part — so the last few results are kept (by the audio's place
   * in its buffer, a fingerprint of its samples, and equal front-end settings, across
   * instances) and handed out again: callers must not change the returned features.
   */
  compute(samples: Float32Array): FrameFeatures {
    const key = recentKey(samples);
    const hit = recentFeatures.find((r) => r.buffer === samples.buffer && r.byteOffset === key.byteOffset && r.length === key.length && r.fingerprint === key.fingerprint && sameOptions(r.options, this.options));
    if (hit) return hit.features;
    const features = this.computeFresh(samples);
    recentFeatures.push({ buffer: samples.buffer, ...key, options: this.options, features });
    if (recentFeatures.length > RECENT_FEATURES) recentFeatures.shift();
    return features;
  }

  private computeFresh(samples: Float32Array): FrameFeatures {
    const o = this.options;
    const n = this.frameCount(samples.length);
    const nc = o.numCeps;
    const dim = this.dim;
    const data = new Float32Array(n * dim);
    const energyDb = new Float32Array(n);
    const bins = o.fftSize / 2 + 1;
    const frame = new Float64Array(o.fftSize);
    const power = new Float64Array(bins);
    const logMel = new Float64Array(o.numMel);
    for (let t = 0; t < n; t++) {
      const at = t * o.hopSamples;
      frame.fill(0);
      // Pre-emphasis inside the frame (the first sample uses its true predecessor when there is one).
      let energy = 0;
      for (let i = 0; i < o.frameSamples; i++) {
        const prev = at + i > 0 ? samples[at + i - 1]! : 0;
        const v = (samples[at + i]! - o.preEmphasis * prev) * this.window[i]!;
        frame[i] = v;
        energy += v * v;
      }
      energyDb[t] = 10 * Math.log10(energy / o.frameSamples + 1e-12);
      realPowerSpectrumInto(frame, power);
      for (let m = 0; m < o.numMel; m++) {
        const [a, b] = this.melRange[m]!;
        let s = 0;
        const row = m * bins;
        for (let k = a; k < b; k++) s += this.mel[row + k]! * power[k]!;
        // Floor ~ -100 dB keeps digital silence finite.
        logMel[m] = Math.log(s + 1e-10);
      }
      const base = t * dim;
      for (let i = 0; i < nc; i++) {
        let s = 0;
        const row = i * o.numMel;
        for (let m = 0; m < o.numMel; m++) s += this.dct[row + m]! * logMel[m]!;
        data[base + i] = s;
      }
    }
    addDeltas(data, n, dim, nc, o.deltaWidth);
    return { numFrames: n, dim, data, energyDb };
  }
}

/** Results kept by {@link FrontEnd.compute}: enough for the parts of a few sessions at once. */
const RECENT_FEATURES = 16;
const recentFeatures: Array<{ buffer: ArrayBufferLike; byteOffset: number; length: number; fingerprint: number; options: Readonly<FrontEndOptions>; features: FrameFeatures }> = [];

/**
 * Where the audio lies and a fingerprint of all its samples (a position-weighted sum, so a buffer
 * refilled with other audio is not mistaken for the audio it held; one multiply-add a sample,
 * ~3 % of a fresh pass).
 */
function recentKey(samples: Float32Array): { byteOffset: number; length: number; fingerprint: number } {
  let fingerprint = samples.length;
  for (let i = 0; i < samples.length; i++) fingerprint += samples[i]! * (1 + (i % 997));
  return { byteOffset: samples.byteOffset, length: samples.length, fingerprint };
}

function sameOptions(a: Readonly<FrontEndOptions>, b: Readonly<FrontEndOptions>): boolean {
  if (a === b) return true;
  for (const k of Object.keys(a) as Array<keyof FrontEndOptions>) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Fills columns [nc, 2nc) of each frame with the regression delta of columns [0, nc) over
 * ±`width` frames (edges clamped).
 */
export function addDeltas(data: Float32Array, numFrames: number, dim: number, nc: number, width: number): void {
  let denom = 0;
  for (let k = 1; k <= width; k++) denom += 2 * k * k;
  for (let t = 0; t < numFrames; t++) {
    for (let i = 0; i < nc; i++) {
      let s = 0;
      for (let k = 1; k <= width; k++) {
        const fwd = Math.min(numFrames - 1, t + k);
        const back = Math.max(0, t - k);
        s += k * (data[fwd * dim + i]! - data[back * dim + i]!);
      }
      data[t * dim + nc + i] = s / denom;
    }
  }
}

/**
 * Which frames are pooled: those within `dropDb` of the segment's loud reference (its 95th
 * percentile energy) and at least `floorMarginDb` above its floor (10th percentile).
 * Speech-only input still has pauses and the noise floor between words; their spectra
 * describe the room, not the voice.
 */
export function energeticFrames(energyDb: Float32Array, dropDb: number, floorMarginDb = 0): Uint8Array {
  const n = energyDb.length;
  const mask = new Uint8Array(n);
  if (n === 0) return mask;
  const sorted = Float32Array.from(energyDb).sort();
  const ref = sorted[Math.min(n - 1, Math.floor(0.95 * n))]!;
  const low = sorted[Math.floor(0.1 * n)]!;
  // Never above the loud reference itself, so a steady signal still has frames to pool.
  const floor = Math.min(ref - 1, Math.max(ref - dropDb, low + floorMarginDb));
  for (let t = 0; t < n; t++) mask[t] = energyDb[t]! >= floor ? 1 : 0;
  return mask;
}

/**
 * Prefix sums of selected frames' features and squares: statistics of any frame range
 * [from, to) in O(dim).
 */
export class StatsPool {
  readonly dim: number;
  readonly numFrames: number;
  private readonly count: Float64Array;
  private readonly sum: Float64Array;
  private readonly sq: Float64Array;

  constructor(f: FrameFeatures, mask: Uint8Array) {
    const { dim, numFrames } = f;
    this.dim = dim;
    this.numFrames = numFrames;
    this.count = new Float64Array(numFrames + 1);
    this.sum = new Float64Array((numFrames + 1) * dim);
    this.sq = new Float64Array((numFrames + 1) * dim);
    for (let t = 0; t < numFrames; t++) {
      const on = mask[t]! ? 1 : 0;
      this.count[t + 1] = this.count[t]! + on;
      const a = t * dim;
      const b = (t + 1) * dim;
      for (let i = 0; i < dim; i++) {
        const v = on ? f.data[a + i]! : 0;
        this.sum[b + i] = this.sum[a + i]! + v;
        this.sq[b + i] = this.sq[a + i]! + v * v;
      }
    }
  }

  /** Selected frames in [from, to). */
  selected(from: number, to: number): number {
    return this.count[to]! - this.count[from]!;
  }

  /**
   * Statistics vector of frames [from, to): means of all columns, then standard deviations
   * of all columns (the delta means are ~0 and carry nothing, but are kept for simplicity;
   * the trained projection ignores them).
   */
  stats(from: number, to: number): Float64Array {
    const d = this.dim;
    const out = new Float64Array(2 * d);
    const c = Math.max(1, this.selected(from, to));
    for (let i = 0; i < d; i++) {
      const m = (this.sum[to * d + i]! - this.sum[from * d + i]!) / c;
      const v = (this.sq[to * d + i]! - this.sq[from * d + i]!) / c - m * m;
      out[i] = m;
      out[d + i] = Math.sqrt(Math.max(v, 1e-8));
    }
    return out;
  }
}
