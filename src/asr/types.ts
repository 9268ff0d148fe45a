/** Speech-recognition engine boundary. */
export interface AsrEngine {
  /** Short description reported in `model_loaded.models.asr`, e.g. `whisper.cpp base (cpu)`. */
  readonly name: string;
  load(): Promise<void>;
  /**
   * Transcribes 16 kHz float samples in [-1, 1]. `language` is `auto` or an ISO 639-1 code.
   * Resolves with the raw recognised text (hallucination filtering happens in the caller).
   * Rejects with an AbortError when `signal` aborts.
   */
  transcribe(samples: Float32Array, options: AsrJobOptions): Promise<string>;
  /**
   * Jobs the engine takes at once; absent = 1 (a local whisper.cpp context is not re-entrant).
   * A remote engine reports its live workers × their concurrency, so the queue in front keeps
   * no more than that outstanding and its fairness decides the order, not the remote backlog.
   */
  slots?(): number;
  /** Called whenever `slots()` may have changed (a worker joined or left). */
  onSlotsChange?(listener: () => void): void;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface AsrJobOptions {
  language: string;
  signal?: AbortSignal;
  /** Opaque ids a remote engine carries with the job (for logs and metrics); never the access token. */
  session?: string;
  conversation?: string;
}
