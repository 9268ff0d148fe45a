/** The stored shapes of conversations and saved voices (what the API and the exports read). */
import type { SpeakerId } from '../protocol/messages.js';
import type { CorrectionRecord, OriginalSegment } from './corrections.js';

export interface StoredSpeaker {
  id: SpeakerId;
  /** The name given at registration or by a later rename; null when none was given. */
  name: string | null;
  /** The saved voice this speaker was taken from, if any. */
  voice_id?: string;
}

/** `meta.json`: replaced atomically whenever it changes. */
export interface ConversationMeta {
  version: 1;
  id: string;
  title: string | null;
  /** ISO 8601. */
  started_at: string;
  /** ISO 8601; null while the conversation is open or suspended. */
  ended_at: string | null;
  language: string;
  models: { asr: string | null; speaker: string; vad: string };
  speakers: StoredSpeaker[];
  /** Seconds of conversation audio received, as of the last meta write. */
  audio_s: number;
  /** File name of the kept audio beside the record (KEEP_AUDIO), else null. */
  audio_file: string | null;
}

/** One line of `events.jsonl`, appended and synced before the matching message is sent. */
export type EventRecord =
  | {
      k: 'segment';
      segment_id: number;
      speaker_id: SpeakerId | null;
      start: number;
      end: number;
      similarity: [number, number];
    }
  | {
      k: 'transcription';
      segment_id: number;
      speaker_id: SpeakerId | null;
      text: string | null;
      timestamp: string;
      start: number;
      end: number;
    }
  /** The connection dropped; the audio clock stood at `resume_from` seconds. */
  | { k: 'suspended'; at: string; resume_from: number }
  | { k: 'resumed'; at: string; resume_from: number }
  /** A user's correction of the transcript (see corrections.ts). */
  | CorrectionRecord;

/** A segment as the API and the exports see it: times are conversation-relative seconds. */
export interface StoredSegment {
  segment_id: number;
  speaker_id: SpeakerId | null;
  start: number;
  end: number;
  /** null while not transcribed (or in diarization-only mode). */
  text: string | null;
  /** How many changes (engine records and corrections) this segment has had; an edit may send it back (409 when stale). */
  revision?: number;
  /** Set when a user's correction changed the segment (or a split made it). */
  corrected?: boolean;
  /** With `corrected`: the engine's form of the segment (null for a part made by a split). */
  original?: OriginalSegment | null;
}

/** `GET /api/conversations/:id` and the JSON export. Embeddings are never part of it. */
export interface ConversationRecord extends Omit<ConversationMeta, 'version'> {
  duration_s: number;
  segments: StoredSegment[];
  /** Segments a correction deleted (or merged away), with their engine form; absent when none. */
  removed_segments?: Array<{ segment_id: number; original: OriginalSegment | null }>;
}

/** One item of `GET /api/conversations`. */
export interface ConversationSummary {
  id: string;
  title: string | null;
  started_at: string;
  ended_at: string | null;
  duration_s: number;
  speakers: Array<{ id: SpeakerId; name: string | null }>;
  segments: number;
  /** The first words said (up to 80 characters), for a list view; '' when there is no text. */
  preview: string;
}

/** A saved voice as listed (no embeddings). */
export interface VoiceSummary {
  id: string;
  name: string;
  created_at: string;
  /** Speaker encoder that made the embeddings; other encoders cannot use them. */
  encoder: string;
}

/** A saved voice with its embeddings (plain JSON numbers). Never sent over the API. */
export interface StoredVoice extends VoiceSummary {
  profile: unknown;
}
