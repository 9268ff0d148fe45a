/**
 * The remote note engine: any OpenAI-compatible `/v1/chat/completions` (Ollama, llama.cpp's
 * server, LM Studio, vLLM, a cloud provider), streamed as server-sent events.
 *
 * - The answer is constrained with `response_format: {type: "json_schema"}` and validated
 *   with zod by the caller whatever the server did with it.
 * - 429 and 5xx are retried with exponential backoff (Retry-After honoured, capped); a stream
 *   that ends without `[DONE]` or a finish reason is a dropped stream and is retried too.
 * - The API key is sent only as the Authorization header: never logged, never in an error.
 */
import { EngineError, type EngineInfo, type GenerateRequest, type NoteEngine } from './engine.js';

export interface RemoteEngineOptions {
  /** Base URL ending before `/chat/completions`, e.g. `http://127.0.0.1:11434/v1`. */
  url: string;
  model: string;
  apiKey: string;
  contextTokens: number;
  /** One request's time limit (connect to last byte), ms. */
  timeoutMs: number;
  /** Retries after the first try for 429, 5xx and dropped streams. */
  maxRetries: number;
  /** First backoff, ms; doubled each retry. */
  backoffMs: number;
  /** Longest wait honoured from Retry-After, ms. */
  maxBackoffMs: number;
  fetchImpl?: typeof fetch;
}

/** Largest answer read from a remote server, characters: a note is a few KB. */
const MAX_ANSWER_CHARS = 256 * 1024;
/** Largest line of the event stream, characters. */
const MAX_LINE_CHARS = 64 * 1024;

/** Whether a URL's host is this machine (loopback): only then does nothing leave it. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
  } catch {
    return false;
  }
}

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const s = header.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

class Retryable extends Error {
  constructor(
    message: string,
    readonly waitMs: number | null,
    readonly code: 'rate_limited' | 'bad_response',
  ) {
    super(message);
  }
}

export class RemoteEngine implements NoteEngine {
  readonly info: EngineInfo;
  private readonly fetch: typeof fetch;
  private readonly base: string;

  constructor(private readonly opts: RemoteEngineOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    const host = safeHost(opts.url);
    this.info = { kind: 'remote', model: opts.model, leavesMachine: !isLoopbackUrl(opts.url), host, contextTokens: opts.contextTokens };
    this.fetch = opts.fetchImpl ?? fetch;
  }

  async load(): Promise<void> {}
  async close(): Promise<void> {}

  async generate(req: GenerateRequest): Promise<string> {
    let lastErr: Retryable | null = null;
    for (let attempt = 0; attempt <= this.opts.maxRetries; attempt++) {
      if (req.signal?.aborted) throw new EngineError('cancelled', 'cancelled');
      if (lastErr) {
        const wait = Math.min(this.opts.maxBackoffMs, lastErr.waitMs ?? this.opts.backoffMs * 2 ** (attempt - 1));
        await sleep(wait, req.signal);
        req.onRestart?.();
      }
      try {
        return await this.once(req);
      } catch (err) {
        if (err instanceof Retryable) {
          lastErr = err;
          continue;
        }
        throw err;
      }
    }
    throw new EngineError(lastErr!.code, `${lastErr!.message} (after ${this.opts.maxRetries + 1} tries)`);
  }

  private async once(req: GenerateRequest): Promise<string> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const body = {
      model: this.opts.model,
      messages: req.messages,
      stream: true,
      max_tokens: req.maxTokens,
      temperature: 0.2,
      response_format: { type: 'json_schema', json_schema: { name: 'note', strict: true, schema: req.jsonSchema } },
    };
    let res: Response;
    try {
      res = await this.fetch(`${this.base}/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...(this.opts.apiKey ? { Authorization: `Bearer ${this.opts.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      const e = this.transportError(err, req.signal, timeout);
      // A connection reset before the answer began is transient (a proxy, a restarting server).
      if (e.code === 'unreachable' && /UND_ERR_SOCKET|ECONNRESET|EPIPE/.test(e.message)) throw new Retryable(e.message, null, 'bad_response');
      throw e;
    }
    const type = res.headers.get('content-type') ?? '';
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel().catch(() => undefined);
      throw new Retryable(`${this.info.host} answered ${res.status}`, retryAfterMs(res.headers.get('retry-after')), 'rate_limited');
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw new EngineError('unauthorized', `${this.info.host} refused the API key (${res.status}); check LLM_API_KEY`);
    }
    if (!res.ok) {
      const text = (await readCapped(res, 4096).catch(() => '')).toLowerCase();
      if (res.status === 404 && /model/.test(text)) throw new EngineError('unknown_model', `${this.info.host} does not know the model "${this.opts.model}"; check LLM_MODEL`);
      throw new EngineError('bad_response', `${this.info.host} answered ${res.status}${res.status === 404 ? ': is LLM_URL the base URL ending in /v1?' : ''}`);
    }
    if (/text\/html/i.test(type)) {
      await res.body?.cancel().catch(() => undefined);
      throw new EngineError('bad_response', `${this.info.host} answered an HTML page, not an OpenAI-compatible API: check LLM_URL (it should end in /v1)`);
    }
    if (!/text\/event-stream/i.test(type)) {
      // A server that ignored `stream: true` and sent one JSON completion is still understood.
      const text = await readCapped(res, MAX_ANSWER_CHARS).catch((err: unknown) => {
        throw this.transportError(err, req.signal, timeout);
      });
      try {
        const content = (JSON.parse(text) as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
        if (typeof content === 'string') {
          req.onText?.(content);
          return content;
        }
      } catch {
        // falls through to the error below
      }
      throw new EngineError('bad_response', `${this.info.host} answered ${type || 'no content type'}, not an OpenAI chat completion`);
    }
    return this.readStream(res, req, timeout);
  }

  private async readStream(res: Response, req: GenerateRequest, timeout: AbortSignal): Promise<string> {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let out = '';
    let finished = false;
    try {
      for (;;) {
        let r: ReadableStreamReadResult<string>;
        try {
          r = await reader.read();
        } catch (err) {
          const e = this.transportError(err, req.signal, timeout);
          if (e.code === 'unreachable') throw new Retryable(`the stream from ${this.info.host} broke off`, null, 'bad_response');
          throw e;
        }
        if (r.done) break;
        buf += r.value;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            finished = true;
            continue;
          }
          let ev: { choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>; error?: { message?: unknown } };
          try {
            ev = JSON.parse(data);
          } catch {
            throw new EngineError('bad_response', `${this.info.host} sent an event that is not JSON`);
          }
          if (ev.error) throw new EngineError('bad_response', `${this.info.host} reported an error mid-stream`);
          const choice = ev.choices?.[0];
          const piece = choice?.delta?.content;
          if (typeof piece === 'string' && piece !== '') {
            out += piece;
            if (out.length > MAX_ANSWER_CHARS) throw new EngineError('bad_response', `the answer from ${this.info.host} exceeded ${MAX_ANSWER_CHARS} characters`);
            req.onText?.(piece);
          }
          if (choice?.finish_reason) finished = true;
        }
        if (buf.length > MAX_LINE_CHARS) throw new EngineError('bad_response', `${this.info.host} sent an event line over ${MAX_LINE_CHARS} characters`);
      }
    } finally {
      reader.releaseLock();
      await res.body?.cancel().catch(() => undefined);
    }
    if (!finished) throw new Retryable(`the stream from ${this.info.host} ended before the answer did`, null, 'bad_response');
    return out;
  }

  private transportError(err: unknown, user: AbortSignal | undefined, timeout: AbortSignal): EngineError {
    if (user?.aborted) return new EngineError('cancelled', 'cancelled');
    if (timeout.aborted) return new EngineError('timeout', `no complete answer from ${this.info.host} within ${Math.round(this.opts.timeoutMs / 1000)} s`);
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code ?? '';
    return new EngineError('unreachable', `cannot reach ${this.info.host}${cause ? ` (${cause})` : ''}: is the LLM server running at LLM_URL?`);
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the LLM server';
  }
}

/** A body's first `max` characters at most; the rest is never read. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  try {
    while (text.length < max) {
      const r = await reader.read();
      if (r.done) break;
      text += r.value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, max);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new EngineError('cancelled', 'cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
