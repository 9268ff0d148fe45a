/**
 * What a session needs from the pipeline stages, as narrow interfaces. `pipeline.ts` builds
 * them from the real modules; tests may pass fakes.
 */
import type { SpeakerId } from '../protocol/messages.js';
import type { AssignedPart, SegmentAudio } from '../speaker/assigner.js';

/** A closed speech segment: speech bounds plus the audio around them (all sample indices). */
export type ClosedSegment = SegmentAudio;

/** One speaker-homogeneous part of a segment. */
export type { AssignedPart };

/** Frames → gates → VAD → segmenter for one conversation. */
export interface ConversationFront {
  /** Feeds PCM16 bytes (even length); resolves with the segments this closed, in order. */
  push(pcm16: Uint8Array): Promise<ClosedSegment[]>;
  /** Closes the open segment (end of conversation). */
  flush(): Promise<ClosedSegment[]>;
}

export type EnrollmentResult =
  | { ok: true; profile: unknown; speechSeconds: number }
  | { ok: false; reason: string; message: string; speechSeconds: number };

/** Per-connection speaker state: enrollment and assignment. */
export interface SpeakerRoom {
  /** Builds speaker `id`'s voice from raw enrollment audio; on success it replaces the old one. */
  enroll(id: SpeakerId, samples: Float32Array): Promise<EnrollmentResult>;
  has(id: SpeakerId): boolean;
  /** Splits a closed segment at speaker changes and assigns each part. */
  assign(segment: ClosedSegment): Promise<AssignedPart[]>;
  /**
   * Similarity of a short window of speech to speaker 0 and speaker 1; null while either voice
   * is missing. Used to find speaker changes while a segment is still open.
   */
  scoreWindow?(samples: Float32Array): Promise<readonly [number, number] | null>;
}

/** Process-wide pipeline parts, shared by all sessions. */
export interface PipelineFactory {
  readonly models: { asr: string | null; speaker: string; vad: string };
  /** A front for one conversation; with `room`, it also cuts open segments at speaker changes. */
  createFront(room?: SpeakerRoom): ConversationFront;
  createRoom(): SpeakerRoom;
  /** Transcribes one part; null when no ASR model is loaded. Rejects on overload/abort. */
  transcribe(samples: Float32Array, language: string, signal: AbortSignal): Promise<string | null>;
}
