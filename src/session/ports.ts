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
  /** Speaker `id`'s enrolled voice as plain JSON (to save it), or null when not enrolled. */
  exportVoice?(id: SpeakerId): SavedVoiceData | null;
  /** Takes a saved voice as speaker `id` (replacing the old one). */
  adoptVoice?(id: SpeakerId, voice: SavedVoiceData): AdoptResult;
}

/** A voice's embeddings as JSON numbers, tagged with the encoder that made them. */
export interface SavedVoiceData {
  encoder: string;
  profile: unknown;
}

export type AdoptResult = { ok: true; speechSeconds: number } | { ok: false; reason: 'voice_incompatible' | 'too_similar' };

/** Process-wide pipeline parts, shared by all sessions. */
export interface PipelineFactory {
  readonly models: { asr: string | null; speaker: string; vad: string };
  createFront(): ConversationFront;
  createRoom(): SpeakerRoom;
  /** Transcribes one part; null when no ASR model is loaded. Rejects on overload/abort. */
  transcribe(samples: Float32Array, language: string, signal: AbortSignal): Promise<string | null>;
}
