/**
 * Scoring an embedding against the two enrolled profiles — pure.
 *
 * Cosine similarity is `ml-distance`'s `similarity.cosine` (the issue's choice; at 33 dims and
 * a few hundred comparisons per segment its cost is negligible next to feature extraction).
 */
import { similarity as sim } from 'ml-distance';
import type { ScoreNormalizer } from './snorm.js';
import type { SpeakerProfile } from './types.js';

export type SpeakerId = 0 | 1;

export interface MatchResult {
  /** Best-matching enrolled speaker, or null when its similarity is below the threshold. */
  speakerId: SpeakerId | null;
  /** Similarity to speaker 0 and speaker 1 (0 for a speaker with no profile). */
  similarity: [number, number];
}

/** Cosine similarity of two vectors (0 when either is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const s = sim.cosine(a as number[], b as number[]);
  return Number.isFinite(s) ? s : 0;
}

/**
 * Similarity of an embedding to a profile: the mean of its cosine with the profile's
 * whole-enrollment embedding and with its best-matching enrollment sub-window. The
 * sub-windows let a short segment match the part of the enrollment that sounds most like it
 * (intonation, loudness); the whole-enrollment term keeps one odd sub-window from dominating.
 * With a score normaliser (the encoder's cohort), each cosine is AS-normalised first.
 */
export function profileSimilarity(embedding: Float32Array, profile: SpeakerProfile, norm?: ScoreNormalizer | null): number {
  const score = (a: Float32Array, b: Float32Array) => (norm ? norm.similarity(a, b) : cosine(a, b));
  const whole = score(embedding, profile.mean);
  let best = -1;
  for (const e of profile.embeddings) best = Math.max(best, score(embedding, e));
  return profile.embeddings.length ? 0.5 * (whole + best) : whole;
}

/** Similarity of two profiles: symmetric mean of each whole embedding scored against the other. */
export function profilesSimilarity(a: SpeakerProfile, b: SpeakerProfile, norm?: ScoreNormalizer | null): number {
  return 0.5 * (profileSimilarity(a.mean, b, norm) + profileSimilarity(b.mean, a, norm));
}

/** Scores against both profiles and applies the threshold. */
export function matchSpeaker(
  embedding: Float32Array,
  profiles: readonly [SpeakerProfile | null, SpeakerProfile | null],
  threshold: number,
  norm?: ScoreNormalizer | null,
): MatchResult {
  const s0 = profiles[0] ? profileSimilarity(embedding, profiles[0], norm) : 0;
  const s1 = profiles[1] ? profileSimilarity(embedding, profiles[1], norm) : 0;
  const candidates: Array<[SpeakerId, number]> = [];
  if (profiles[0]) candidates.push([0, s0]);
  if (profiles[1]) candidates.push([1, s1]);
  let speakerId: SpeakerId | null = null;
  if (candidates.length) {
    const [id, best] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
    if (best >= threshold) speakerId = id;
  }
  return { speakerId, similarity: [s0, s1] };
}

export interface AdaptOptions {
  /** Best similarity must exceed the threshold by this much… */
  minAboveThreshold: number;
  /** …and the other speaker's by this much. */
  minMargin: number;
  /** Weight of the new embedding in the running mean (slow: a few percent). */
  rate: number;
}

export const DEFAULT_ADAPT: Readonly<AdaptOptions> = Object.freeze({ minAboveThreshold: 0.1, minMargin: 0.25, rate: 0.05 });

/**
 * Slow profile adaptation from a confident match only: returns a new profile whose
 * whole-enrollment embedding moved `rate` toward the segment's, or the same profile when the
 * match was not confident (null, near the threshold, or close to the other speaker).
 */
export function adaptProfile(
  profile: SpeakerProfile,
  embedding: Float32Array,
  result: MatchResult,
  forId: SpeakerId,
  threshold: number,
  opts: AdaptOptions = DEFAULT_ADAPT,
): SpeakerProfile {
  if (result.speakerId !== forId) return profile;
  const best = result.similarity[forId];
  const other = result.similarity[forId === 0 ? 1 : 0];
  if (best < threshold + opts.minAboveThreshold || best - other < opts.minMargin) return profile;
  const mean = new Float32Array(profile.mean.length);
  let norm = 0;
  for (let i = 0; i < mean.length; i++) {
    mean[i] = (1 - opts.rate) * profile.mean[i]! + opts.rate * embedding[i]!;
    norm += mean[i]! * mean[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! / norm;
  return { ...profile, mean, adaptedSegments: profile.adaptedSegments + 1 };
}
