/**
 * The values that travel between pipeline stages and the session: a closed speech segment and
 * the speaker-homogeneous parts it is split into. They live here, apart from both, because the
 * speaker stage produces them and the session's ports consume them, and neither may import the
 * other (`session/ports.ts` re-exports them as part of the session's contract).
 */
import type { SpeakerId } from './protocol/messages.js';

/** A closed speech segment: speech bounds plus the audio around them (all sample indices). */
export interface ClosedSegment {
  /** Speech bounds, absolute sample indices. */
  startSample: number;
  endSample: number;
  /** Audio of the segment (may include padding before/after the speech bounds). */
  audio: Float32Array;
  /** Absolute sample index of `audio[0]`. */
  audioStartSample: number;
}

/** One speaker-homogeneous part of a segment, with its speaker (null: neither voice). */
export interface AssignedPart {
  startSample: number;
  endSample: number;
  speakerId: SpeakerId | null;
  /** Cosine similarity to speaker 0 and speaker 1. */
  similarity: [number, number];
}
