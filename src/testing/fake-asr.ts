/** Fake speech-recognition engines for tests: same interface as the real one, no model. */
import type { AsrEngine, AsrJobOptions, AsrResult } from '../asr/types.js';

export interface FakeAsrCall {
  samples: Float32Array;
  language: string;
  signal: AbortSignal | undefined;
  /** The opaque session and conversation ids the job carried, if any. */
  session: string | undefined;
  conversation: string | undefined;
  /** Every option the job carried (partials: `priority`, `audioCtx`, `prompt`, `maxTokens`). */
  options: AsrJobOptions;
  /** Settles this call (manual mode): a text (reported without confidence figures) or a full result. */
  resolve(text: string | AsrResult): void;
  reject(err: unknown): void;
  /** Settles when the call has finished, however it ended. */
  settled: Promise<void>;
}

export interface FakeAsrOptions {
  /** Text (or full result) for each call (default: `"samples=<n>"`). */
  text?: string | AsrResult | ((samples: Float32Array, language: string) => string | AsrResult);
  /** Delay before answering, in ms (automatic mode). */
  delayMs?: number;
  /** Calls stay pending until the test settles them through `calls`. */
  manual?: boolean;
  /** Makes a call fail with this error (automatic mode). */
  failWith?: (samples: Float32Array) => Error | null;
}

/**
 * An `AsrEngine` that answers with canned text, records every call, honours AbortSignal like
 * the real engine, and counts how many calls ran at once.
 */
export class FakeAsrEngine implements AsrEngine {
  readonly name = 'fake asr';
  readonly calls: FakeAsrCall[] = [];
  loaded = false;
  closed = 0;
  active = 0;
  maxActive = 0;

  constructor(private readonly options: FakeAsrOptions = {}) {}

  async load(): Promise<void> {
    this.loaded = true;
  }

  transcribe(samples: Float32Array, options: AsrJobOptions): Promise<AsrResult> {
    const { language, signal, session, conversation } = options;
    if (signal?.aborted) return Promise.reject(new DOMException('aborted', 'AbortError'));
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    let done = false;
    let settle!: (ok: boolean, value: unknown) => void;
    const result = new Promise<AsrResult>((resolve, reject) => {
      settle = (ok, value) => {
        if (done) return;
        done = true;
        // Counted down synchronously, so the next queued call never looks concurrent.
        this.active--;
        signal?.removeEventListener('abort', onAbort);
        if (ok) resolve(typeof value === 'string' ? { text: value, segments: [] } : (value as AsrResult));
        else reject(value);
      };
    });
    const resolveCall = (text: string | AsrResult) => settle(true, text);
    const rejectCall = (err: unknown) => settle(false, err);
    const onAbort = () => rejectCall(new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.calls.push({ samples, language, signal, session, conversation, options, resolve: resolveCall, reject: rejectCall, settled });

    if (!this.options.manual) {
      setTimeout(() => {
        const failure = this.options.failWith?.(samples);
        if (failure) return rejectCall(failure);
        const t = this.options.text;
        resolveCall(typeof t === 'function' ? t(samples, language) : t ?? `samples=${samples.length}`);
      }, this.options.delayMs ?? 0);
    }
    return result;
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
