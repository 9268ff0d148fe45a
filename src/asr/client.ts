/**
 * whisper-server's HTTP API, as this server uses it: `/health` and `/inference` with the
 * child's secret on every request (the patched server refuses anything without it). Each
 * segment goes as an in-memory WAV in a multipart POST; nothing touches the disk.
 */
import { encodeWav } from '../audio/wav.js';
import type { AsrResult, AsrSegment } from './types.js';

/** How a request failed at the transport level. */
export type RequestFailure =
  /** Nothing was listening (the request never reached a child). */
  | 'refused'
  /** The connection broke while the request was in flight. */
  | 'broken'
  /** An HTTP answer that is not a recognition (status or body). */
  | 'bad_answer';

export class WhisperRequestError extends Error {
  constructor(
    readonly failure: RequestFailure,
    message: string,
  ) {
    super(message);
    this.name = 'WhisperRequestError';
  }
}

/** Classifies a rejected `fetch` (undici puts the socket error in `cause`). */
function failureOf(err: unknown): RequestFailure {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code === 'ECONNREFUSED' ? 'refused' : 'broken';
}

/** Optional per-request decoding limits (see `AsrJobOptions`). */
export interface InferenceExtras {
  maxTokens?: number;
  audioCtx?: number;
  prompt?: string;
}

export class WhisperClient {
  constructor(
    readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  private get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.secret}` };
  }

  /** True when the child answers `/health` with 200 `{"status":"ok"}` to a request with its secret. */
  async healthy(signal: AbortSignal): Promise<boolean> {
    const res = await fetch(`${this.baseUrl}/health`, { headers: this.auth, signal });
    const body = await res.text();
    return res.status === 200 && /"status"\s*:\s*"ok"/.test(body);
  }

  /**
   * Recognises one segment. Rejects with AbortError when `signal` aborts, or with a
   * `WhisperRequestError`.
   */
  async inference(samples: Float32Array, language: string, signal: AbortSignal, extra: InferenceExtras = {}): Promise<AsrResult> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(encodeWav(samples))], { type: 'audio/wav' }), 'segment.wav');
    form.append('language', language || 'auto');
    // verbose_json carries Whisper's own confidence per segment (no_speech_prob, avg_logprob).
    form.append('response_format', 'verbose_json');
    // ...without the per-language probabilities, which cost a second encoder pass.
    form.append('no_language_probabilities', 'true');
    form.append('temperature', '0');
    // No temperature fallback: one decoding pass, predictable latency.
    form.append('temperature_inc', '0');
    form.append('no_timestamps', 'true');
    // Only sent when set, so a request without them is exactly what it was before partials.
    if (extra.maxTokens !== undefined && extra.maxTokens > 0) form.append('max_tokens', String(Math.floor(extra.maxTokens)));
    if (extra.audioCtx !== undefined && extra.audioCtx > 0) form.append('audio_ctx', String(Math.min(1500, Math.floor(extra.audioCtx))));
    if (extra.prompt) form.append('prompt', extra.prompt);
    let res: Response;
    let body: string;
    try {
      // Aborting closes the connection, and whisper-server's abort callback stops the inference.
      res = await fetch(`${this.baseUrl}/inference`, { method: 'POST', body: form, headers: this.auth, signal });
      body = await res.text();
    } catch (err) {
      if (signal.aborted) throw err;
      throw new WhisperRequestError(failureOf(err), `whisper-server request failed: ${(err as Error).message}`);
    }
    const parsed = parseInference(body);
    if (!res.ok || !parsed) {
      let why = body.slice(0, 200);
      try {
        const e = (JSON.parse(body) as { error?: unknown }).error;
        if (typeof e === 'string') why = e;
      } catch {
        // not JSON: the raw start of the body says it
      }
      throw new WhisperRequestError('bad_answer', `whisper-server answered HTTP ${res.status}: ${why}`);
    }
    return parsed;
  }
}

function finiteOr(x: unknown, fallback: number): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : fallback;
}

/**
 * Parses a `verbose_json` (or plain `json`) answer; null when it is not one. The text is one
 * line per whisper segment, each with a leading space: joined here by single spaces.
 */
export function parseInference(body: string): AsrResult | null {
  let raw: { text?: unknown; segments?: unknown; duet_wait_ms?: unknown };
  try {
    raw = JSON.parse(body) as typeof raw;
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || typeof raw.text !== 'string') return null;
  const text = raw.text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
  const segments: AsrSegment[] = [];
  if (Array.isArray(raw.segments)) {
    for (const s of raw.segments as Array<Record<string, unknown>>) {
      if (typeof s !== 'object' || s === null || typeof s.text !== 'string') continue;
      segments.push({
        text: s.text.trim(),
        // Missing numbers read as "no confidence": speech unlikely, tokens improbable.
        noSpeechProb: finiteOr(s.no_speech_prob, 1),
        avgLogprob: finiteOr(s.avg_logprob, -Infinity),
      });
    }
  }
  // Our patched whisper-server's time waiting for the model (ms); absent elsewhere.
  const wait = raw.duet_wait_ms;
  return typeof wait === 'number' && Number.isFinite(wait) && wait >= 0 ? { text, segments, engineWaitMs: wait } : { text, segments };
}
