/**
 * VAD model boundary. A model is loaded once per process; each connection gets its own
 * stream, which carries the recurrent state.
 */
export interface VadModel {
  /** Short name reported in `model_loaded.models.vad`, e.g. `silero-v4`. */
  readonly name: string;
  load(): Promise<void>;
  /** A new stream with fresh recurrent state. */
  createStream(): VadStream;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface VadStream {
  /** Speech probability (0..1) of one frame of exactly FRAME_SAMPLES float samples in [-1, 1]. */
  process(frame: Float32Array): Promise<number>;
  /** Forget the recurrent state (e.g. at the start of a new conversation). */
  reset(): void;
}
