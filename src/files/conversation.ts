/**
 * The result of a file transcription, in the conversation record shape the durable store
 * uses (`{id, title, started_at, ended_at, duration_s, speakers, segments}`), so a finished
 * file can be kept there like a live conversation. Times are seconds from the file's start.
 */

export interface ConversationSpeaker {
  id: number;
  name: string;
}

export interface ConversationSegment {
  segment_id: number;
  /** 0 or 1; null when enrollment was given and the part matched neither voice. */
  speaker_id: number | null;
  start: number;
  end: number;
  text: string;
}

export interface ConversationRecord {
  id: string;
  title: string;
  /** ISO 8601: when processing started and ended (a file has no wall-clock time of its own). */
  started_at: string;
  ended_at: string;
  duration_s: number;
  speakers: ConversationSpeaker[];
  segments: ConversationSegment[];
}

/** What a finished file job reports beside the conversation. */
export interface FileTranscription {
  conversation: ConversationRecord;
  /** The decoder used, e.g. `ffmpeg 5.1.9 (system)`. */
  decoder: string;
  /** Models used (speech recognition null in diarization-only mode). */
  models: { asr: string | null; speaker: string; vad: string };
  /** How speakers were told apart. */
  attribution: 'clustering' | 'enrollment' | 'single';
  /** Seconds of audio decoded. */
  audio_s: number;
  /** Wall-clock seconds of processing. */
  processing_s: number;
}
