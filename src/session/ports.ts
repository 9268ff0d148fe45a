/**
 * What a session exchanges with the rest of the server, as narrow interfaces owned here: the
 * connection it talks through, the pipeline stages it drives. The transport and the pipeline
 * stages conform to these types; the session imports nothing from them. The segment and part
 * values come from `pipeline-types.ts`, shared with the speaker stage that produces them.
 * `pipeline.ts` builds the stages from the real modules; tests may pass fakes.
 */
import type { AssignedPart, ClosedSegment } from '../pipeline-types.js';
import type { ServerMessage, SpeakerId } from '../protocol/messages.js';

export type { AssignedPart, ClosedSegment };

/** What a session may do to its connection. */
export interface Connection {
  send(msg: ServerMessage): void;
  /** Stop reading from the socket (backpressure) / start again. */
  pause(): void;
  resume(): void;
  /** Close with a WebSocket close code (4400 bad request, 4401 auth, 1008 policy, 1011 internal). */
  close(code: number, reason: string): void;
}

/** Frames → gates → VAD → segmenter for one conversation. */
export interface ConversationFront {
  /** Feeds PCM16 bytes (even length); resolves with the segments this closed, in order. */
  push(pcm16: Uint8Array): Promise<ClosedSegment[]>;
  /** Closes the open segment (end of conversation). */
  flush(): Promise<ClosedSegment[]>;
  /** The open kept segment as it is now (for partials), or null when none is open. */
  open?(): OpenSegmentView | null;
}

/** A look at the open segment between two pushes (see `ConversationFront.open`). */
export interface OpenSegmentView {
  /** Its first sample (it changes when a speaker-change cut starts the rest as a new segment). */
  startSample: number;
  /** Samples received so far in the conversation (its newest audio ends here). */
  receivedSamples: number;
  /** Its audio from `startSample` to the newest sample (copied on each call). */
  audio(): Float32Array;
  /** The change watch's current speaker for it; null while undecided or without a watch. */
  speakerGuess: SpeakerId | null;
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
  /**
   * Similarity of a short window of speech to speaker 0 and speaker 1; null while either voice
   * is missing. Used to find speaker changes while a segment is still open.
   */
  scoreWindow?(samples: Float32Array): Promise<readonly [number, number] | null>;
  /**
   * A scorer for one conversation stream that makes the same judgement from the voices' frame
   * models: minus and plus half the mean per-frame log-likelihood ratio of speaker 1 over
   * speaker 0, so the margin is the ratio itself; null while either voice has no frame model
   * or the window has too little speech. It keeps each frame's ratio while later windows
   * (which start at `startSample`, only ever forward) still cover it.
   */
  frameScorer?(): (samples: Float32Array, startSample: number) => Promise<readonly [number, number] | null>;
  /** Whether both voices have frame models (so a {@link frameScorer} can judge). */
  hasFrameVoices?(): boolean;
}

/** A voice's embeddings as JSON numbers, tagged with the encoder that made them. */
export interface SavedVoiceData {
  /** `name@version` of the encoder (see `encoderTag`); the name alone for an unversioned one. */
  encoder: string;
  profile: unknown;
}

export type AdoptResult = { ok: true; speechSeconds: number } | { ok: false; reason: 'voice_incompatible' | 'too_similar' };

/**
 * A session's own place in the shared recognition queue (served in turn with the other
 * sessions'). Failures carry a `code`: `overloaded`/`closed` from the queue, the local
 * engine's `timeout`/`crashed`/`failed`, or the remote path's (workers behind Redis)
 * `unavailable`/`no_workers`/`deadline`/`dead_letter`/`engine`.
 */
export interface Recognizer {
  /**
   * Filtered text ('' = nothing recognised), or null when no ASR model is loaded. Rejects on
   * overload/abort/engine failure. `conversation` is an opaque id a remote engine carries with
   * the job (for logs and metrics).
   */
  transcribe(samples: Float32Array, language: string, signal: AbortSignal, conversation?: string): Promise<string | null>;
  /** This session's jobs not finished yet. */
  readonly pending: number;
  /** How many may wait at once now (shrinks as sessions open); the session waits beyond it. */
  readonly capacity: number;
  /** Leaves the queue; waiting jobs fail. Idempotent. */
  close(): void;
  /**
   * Interim text of an open segment, the lowest class (see `AsrLane.offerPartial`): rejects with
   * code `dropped` when it gave way. Absent = this recognizer makes no partials.
   */
  partial?(samples: Float32Array, options: PartialRequest): Promise<string | null>;
  /** Whether a partial may be asked for now (PARTIALS and, for `auto`, the engine's load). */
  partialsAllowed?(): boolean;
}

/** One partial's options. */
export interface PartialRequest {
  language: string;
  signal: AbortSignal;
  conversation?: string;
  /** The previous partial's text, to prime the decoder. */
  prompt?: string;
  /** Encoder context in 20 ms frames. */
  audioCtx: number;
  /** Decoded tokens at most. */
  maxTokens: number;
}

/** Process-wide pipeline parts, shared by all sessions. */
export interface PipelineFactory {
  readonly models: { asr: string | null; speaker: string; vad: string };
  /** A front for one conversation; with `room`, it also cuts open segments at speaker changes. */
  createFront(room?: SpeakerRoom): ConversationFront;
  createRoom(): SpeakerRoom;
  /** One per session; `session` is an opaque id carried with its jobs (never the access token). */
  createRecognizer(session?: string): Recognizer;
}
