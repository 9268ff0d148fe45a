/**
 * Enrollment: a speaker profile from speech-only audio, and the reasons enrollment fails.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { cosine, profilesSimilarity } from './matcher.js';
import type { SpeakerEncoder, SpeakerProfile } from './types.js';

export type { SpeakerProfile } from './types.js';
export { profilesSimilarity } from './matcher.js';

export type EnrollmentFailure = 'too_short' | 'too_quiet' | 'too_similar';

export type EnrollmentResult =
  | { ok: true; profile: SpeakerProfile; speechSeconds: number; similarityToOther: number | null }
  | { ok: false; reason: EnrollmentFailure; speechSeconds: number; similarityToOther: number | null };

/** What the gates saw during registration (frames of any fixed size). */
export interface EnrollmentGateStats {
  /** Frames received. */
  totalFrames: number;
  /** Frames that passed the RMS/variance gates and the VAD. */
  speechFrames: number;
}

export interface EnrollmentOptions {
  /** Less speech than this fails with `too_short`. */
  minSpeechS: number;
  /** Sub-window length and hop for the profile's several embeddings. */
  windowS: number;
  hopS: number;
  /**
   * A new profile whose similarity to the other speaker's profile exceeds this fails with
   * `too_similar`. An encoder may bring its own calibrated bound (`SpeakerEncoder.tooSimilarBound`;
   * the built-in model's is 0.994 on its AS-normalised scale: the 99.5th percentile of two
   * different cohort people registered through one synthetic far microphone, because a shared
   * room pulls two voices as close as one person heard in two places). 0.7 is the fallback for
   * raw cosine (the pre-normalisation built-in encoder's dev-speaker gap).
   */
  tooSimilarBound: number;
}

export const DEFAULT_ENROLLMENT: Readonly<EnrollmentOptions> = Object.freeze({
  minSpeechS: 2,
  windowS: 2.5,
  hopS: 1.25,
  tooSimilarBound: 0.7,
});

/**
 * Raw cosine of two profiles' whole-recording embeddings at or above which they come from the
 * same recording (or a copy of it). Checked besides the normalised bound because a normalised
 * scale saturates below 1: the same clip registered twice can score under a bound set high
 * enough to let two real voices at one far microphone register.
 */
export const SAME_RECORDING_COSINE = 0.98;

/** `too_similar`: the normalised profile similarity `similarity` is over `bound`, or it is the same recording. */
export function isTooSimilar(profile: SpeakerProfile, other: SpeakerProfile, similarity: number, bound: number): boolean {
  return similarity > bound || cosine(profile.mean, other.mean) >= SAME_RECORDING_COSINE;
}

/** Start samples of the sub-windows covering `n` samples (the last one ends at `n`). */
export function subWindowStarts(n: number, window: number, hop: number): number[] {
  if (n <= window) return [0];
  const starts: number[] = [];
  for (let s = 0; s + window <= n; s += hop) starts.push(s);
  if (starts[starts.length - 1]! + window < n) starts.push(n - window);
  return starts;
}

/** RMS level of a stretch of audio, dBFS. */
function levelDb(x: Float32Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  return 10 * Math.log10(e / Math.max(1, x.length) + 1e-12);
}

/**
 * Quality of each enrollment sub-window in [0, 1]: how much it agrees with the others (mean
 * similarity, floored at 0) times a level term that falls from 1 to 0 between 10 and 25 dB
 * under the loudest window (a far, quiet or mostly-pause stretch, or another voice). Pure.
 */
export function windowQuality(embeddings: readonly Float32Array[], levelsDb: readonly number[], similarity: (a: Float32Array, b: Float32Array) => number): number[] {
  const n = embeddings.length;
  if (n < 3) return embeddings.map(() => 1);
  const top = Math.max(...levelsDb);
  return embeddings.map((e, i) => {
    let agree = 0;
    for (let j = 0; j < n; j++) if (j !== i) agree += similarity(e, embeddings[j]!);
    const level = Math.min(1, Math.max(0, (25 - (top - levelsDb[i]!)) / 15));
    return Math.max(0, agree / (n - 1)) * level;
  });
}

/**
 * The sub-windows worth matching against: those of at least half the best quality, and never
 * fewer than half of them (the best first kept in time order).
 */
export function keepBest<T>(items: readonly T[], quality: readonly number[]): T[] {
  const best = Math.max(...quality);
  const order = quality.map((q, i) => [q, i] as const).sort((a, b) => b[0] - a[0]);
  const keep = new Set(order.filter(([q], r) => q >= 0.5 * best || r < Math.ceil(items.length / 2)).map(([, i]) => i));
  return items.filter((_, i) => keep.has(i));
}

/**
 * Builds a profile from the speech-only enrollment audio, checking, in order: no speech at all
 * (`too_quiet`), under `minSpeechS` (`too_short`), and near-identical to `other`
 * (`too_similar`).
 */
export async function enrollSpeaker(
  encoder: SpeakerEncoder,
  speech: Float32Array,
  opts: { gate?: EnrollmentGateStats; other?: SpeakerProfile | null } & Partial<EnrollmentOptions> = {},
): Promise<EnrollmentResult> {
  const o = { ...DEFAULT_ENROLLMENT, ...(encoder.tooSimilarBound !== undefined ? { tooSimilarBound: encoder.tooSimilarBound } : {}), ...opts };
  const speechSeconds = speech.length / SAMPLE_RATE;
  // "No speech": nothing passed the gates and VAD (a few stray frames are not a voice either).
  const quiet = speechSeconds < 0.1 || (opts.gate !== undefined && opts.gate.speechFrames === 0);
  if (quiet) return { ok: false, reason: 'too_quiet', speechSeconds, similarityToOther: null };
  if (speechSeconds < o.minSpeechS) return { ok: false, reason: 'too_short', speechSeconds, similarityToOther: null };
  const mean = await encoder.embed(speech);
  const win = Math.round(o.windowS * SAMPLE_RATE);
  const hop = Math.round(o.hopS * SAMPLE_RATE);
  const all: Float32Array[] = [];
  const levelsDb: number[] = [];
  for (const s of subWindowStarts(speech.length, win, hop)) {
    const w = speech.subarray(s, Math.min(speech.length, s + win));
    all.push(await encoder.embed(w));
    levelsDb.push(levelDb(w));
  }
  const quality = windowQuality(all, levelsDb, (a, b) => (encoder.scoreNorm ? encoder.scoreNorm.similarity(a, b) : cosine(a, b)));
  const embeddings = keepBest(all, quality);
  const profile: SpeakerProfile = { encoder: encoder.name, mean, embeddings, speechSeconds, adaptedSegments: 0 };
  const other = opts.other && opts.other.encoder === encoder.name ? opts.other : null;
  const similarityToOther = other ? profilesSimilarity(profile, other, encoder.scoreNorm) : null;
  if (other && isTooSimilar(profile, other, similarityToOther!, o.tooSimilarBound)) {
    return { ok: false, reason: 'too_similar', speechSeconds, similarityToOther };
  }
  return { ok: true, profile, speechSeconds, similarityToOther };
}
