/**
 * Synthetic test signals at 16 kHz: tones, silence, seeded white noise, and helpers to lay
 * them end to end. Levels are RMS dBFS (a full-scale sine is −3 dBFS). Tests only.
 */
import { SAMPLE_RATE } from '../audio/constants.js';

/** Seconds → whole samples at 16 kHz (rounded). */
export function secondsToSamples(seconds: number): number {
  return Math.round(seconds * SAMPLE_RATE);
}

/** Linear amplitude of a signal whose RMS is `dbfs`. */
export function dbfsToRms(dbfs: number): number {
  return 10 ** (dbfs / 20);
}

/** `durationS` of digital silence. */
export function silence(durationS: number): Float32Array {
  return new Float32Array(secondsToSamples(durationS));
}

/** Options of {@link tone}. */
export interface ToneOptions {
  durationS: number;
  /** Default 440 Hz. */
  frequencyHz?: number;
  /** RMS level; default −20 dBFS. */
  dbfs?: number;
  /** Phase at the first sample, radians. Default 0. */
  phaseRad?: number;
}

/** A pure sine burst with an abrupt onset and offset (so its bounds are exact). */
export function tone({ durationS, frequencyHz = 440, dbfs = -20, phaseRad = 0 }: ToneOptions): Float32Array {
  const n = secondsToSamples(durationS);
  const amplitude = dbfsToRms(dbfs) * Math.SQRT2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin(phaseRad + (2 * Math.PI * frequencyHz * i) / SAMPLE_RATE);
  return out;
}

/** A small seeded PRNG (mulberry32) so noise is the same in every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link whiteNoise}. */
export interface NoiseOptions {
  durationS: number;
  /** RMS level; default −30 dBFS. */
  dbfs?: number;
  seed?: number;
}

/** Gaussian white noise at an RMS level (Box–Muller on a seeded PRNG), clipped to [-1, 1]. */
export function whiteNoise({ durationS, dbfs = -30, seed = 1 }: NoiseOptions): Float32Array {
  const n = secondsToSamples(durationS);
  const random = seededRandom(seed);
  const sigma = dbfsToRms(dbfs);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(random(), 1e-12);
    const v = random();
    const r = sigma * Math.sqrt(-2 * Math.log(u));
    out[i] = Math.max(-1, Math.min(1, r * Math.cos(2 * Math.PI * v)));
    if (i + 1 < n) out[i + 1] = Math.max(-1, Math.min(1, r * Math.sin(2 * Math.PI * v)));
  }
  return out;
}

/** Lays the parts end to end. */
export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sample-wise sum of signals (the result is as long as the longest), clipped to [-1, 1]. */
export function mix(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(Math.max(0, ...parts.map((p) => p.length)));
  for (const p of parts) for (let i = 0; i < p.length; i++) out[i] = out[i]! + p[i]!;
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-1, Math.min(1, out[i]!));
  return out;
}

/** `base` (copied) with `part` added in starting at `atS` seconds; the result keeps base's length. */
export function placeAt(base: Float32Array, part: Float32Array, atS: number): Float32Array {
  const out = base.slice();
  const at = secondsToSamples(atS);
  for (let i = 0; i < part.length && at + i < out.length; i++) out[at + i] = out[at + i]! + part[i]!;
  return out;
}

/** A copy of `x` scaled so that its samples in [fromS, toS) are `gainDb` louder (negative = quieter). */
export function scaleRange(x: Float32Array, fromS: number, toS: number, gainDb: number): Float32Array {
  const out = x.slice();
  const g = 10 ** (gainDb / 20);
  const to = Math.min(out.length, secondsToSamples(toS));
  for (let i = secondsToSamples(fromS); i < to; i++) out[i] = out[i]! * g;
  return out;
}
