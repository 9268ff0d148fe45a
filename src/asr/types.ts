/** Speech-recognition engine boundary. */
import type { AsrHealth } from './availability.js';

export type AsrLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type AsrLog = (level: AsrLogLevel, msg: string) => void;

/** Default log sink until a logger is wired: info and above to stderr. */
export const consoleAsrLog: AsrLog = (level, msg) => {
  if (level !== 'debug') console.error(`[asr] ${level}: ${msg}`);
};

/** Whisper's own confidence in one decoded segment (from whisper-server's `verbose_json`). */
export interface AsrSegment {
  text: string;
  /** Probability of the no-speech token at the segment's start, in [0, 1]. */
  noSpeechProb: number;
  /** Mean log-probability of the segment's tokens (≤ 0; closer to 0 = more confident). */
  avgLogprob: number;
}

/** What an engine recognised in one stretch of audio. */
export interface AsrResult {
  /** The raw text, whisper segments joined by single spaces. */
  text: string;
  /** Per-segment confidence; empty when the engine does not report it. */
  segments: readonly AsrSegment[];
  /**
   * Milliseconds the request waited inside the engine for the one before it (whisper-server's
   * model lock: the tail of a stopped partial), when the engine reports it.
   */
  engineWaitMs?: number;
}

export interface AsrEngine {
  /** Short description reported in `model_loaded.models.asr`, e.g. `whisper.cpp base (cpu)`. */
  readonly name: string;
  load(): Promise<void>;
  /**
   * Transcribes 16 kHz float samples in [-1, 1]. `language` is `auto` or an ISO 639-1 code.
   * Resolves with the raw recognition (hallucination filtering happens in the caller).
   * Rejects with an AbortError when `signal` aborts, with an `AsrEngineError` when the engine
   * failed on this job (it heals itself for the next ones).
   */
  transcribe(samples: Float32Array, options: AsrJobOptions): Promise<AsrResult>;
  /**
   * Jobs the engine takes at once; absent = 1 (a local whisper.cpp context is not re-entrant).
   * A remote engine reports its live workers × their concurrency, so the queue in front keeps
   * no more than that outstanding and its fairness decides the order, not the remote backlog.
   */
  slots?(): number;
  /** Where it runs (`cpu`, `cuda`, `vulkan`), when known: PARTIALS=auto trusts a GPU without measuring. */
  readonly device?: string;
  /** Called whenever `slots()` may have changed (a worker joined or left). */
  onSlotsChange?(listener: () => void): void;
  /** Whether the engine can work now, and why not (for /api/status); absent = always up once loaded. */
  health?(): AsrHealth;
  /** Idempotent. */
  close(): Promise<void>;
}

/**
 * - `timeout`: the engine took longer than this segment's time limit; it was killed and is
 *   being restarted.
 * - `crashed`: the engine died while working on this segment; it is being restarted.
 * - `failed`: the engine answered with an error, or is closed.
 */
export type AsrEngineErrorCode = 'timeout' | 'crashed' | 'failed';

/** A job the engine could not do; `code` says why. Later jobs are not affected. */
export class AsrEngineError extends Error {
  constructor(
    readonly code: AsrEngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AsrEngineError';
  }
}

/** The AbortError every ASR layer rejects with when a caller's signal aborts. */
export function abortError(): Error {
  return new DOMException('transcription aborted', 'AbortError');
}

export interface AsrJobOptions {
  language: string;
  signal?: AbortSignal;
  /** Opaque ids a remote engine carries with the job (for logs and metrics); never the access token. */
  session?: string;
  conversation?: string;
  /**
   * Decoded tokens allowed per whisper segment (whisper.cpp's `max_tokens`); absent or 0 = no
   * cap. Partials always carry one; finals only when ASR_TOKENS_PER_S asks for it.
   */
  maxTokens?: number;
  /**
   * The encoder's audio context in frames of 20 ms (whisper.cpp's `audio_ctx`, at most 1500 =
   * 30 s); absent or 0 = the full 30 s. Partials use about their own length; finals never set it.
   */
  audioCtx?: number;
  /** Text the decoder is primed with (the previous partial's text); absent = none. */
  prompt?: string;
  /** `partial`: interim text, the lowest class (a remote engine gives it a short deadline and never retries it). */
  priority?: 'final' | 'partial';
}
