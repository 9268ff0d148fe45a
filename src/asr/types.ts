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
  transcribe(samples: Float32Array, options: { language: string; signal?: AbortSignal }): Promise<string>;
  /** Idempotent. */
  close(): Promise<void>;
}
