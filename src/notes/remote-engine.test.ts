import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackUrl, RemoteEngine, retryAfterMs, type RemoteEngineOptions } from './remote-engine.js';
import { noteJsonSchema, parseNote } from './schema.js';

const NOTE = JSON.stringify({ title: 'Friday', summary: 'They planned.', key_points: [], decisions: ['Meet Friday'], action_items: [{ who: 'Ben', what: 'send the report', when: 'Thursday' }], open_questions: [], tone: [] });

type Handler = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, n: number) => void;
let server: Server | null = null;

async function serve(handler: Handler): Promise<{ url: string; bodies: Array<Record<string, unknown>>; auth: Array<string | undefined> }> {
  const bodies: Array<Record<string, unknown>> = [];
  const auth: Array<string | undefined> = [];
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      bodies.push(body);
      auth.push(req.headers.authorization);
      expect(req.url).toBe('/v1/chat/completions');
      handler(req, res, body, bodies.length);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, bodies, auth };
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** The OpenAI streaming protocol: `data: {chunk}` events, a finish reason, then `data: [DONE]`. */
function streamText(res: ServerResponse, text: string, opts: { done?: boolean; pieces?: number } = {}): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const n = opts.pieces ?? 4;
  const size = Math.ceil(text.length / n);
  res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
  for (let i = 0; i < text.length; i += size) {
    res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text.slice(i, i + size) }, finish_reason: null }] })}\n\n`);
  }
  if (opts.done === false) {
    // Let the pieces reach the client first, so the drop happens mid-stream.
    setTimeout(() => res.destroy(), 100);
    return;
  }
  res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  res.end('data: [DONE]\n\n');
}

function engine(url: string, over: Partial<RemoteEngineOptions> = {}): RemoteEngine {
  return new RemoteEngine({ url, model: 'qwen2.5:1.5b', apiKey: 'sk-test-secret', contextTokens: 8192, timeoutMs: 10_000, maxRetries: 2, backoffMs: 10, maxBackoffMs: 2000, ...over });
}

const req = () => ({ messages: [{ role: 'system' as const, content: 's' }, { role: 'user' as const, content: 'u' }], jsonSchema: noteJsonSchema([]), maxTokens: 500 });

describe('RemoteEngine against a local OpenAI-compatible streaming server', () => {
  it('streams the answer, sends the schema as response_format and the key as a bearer token', async () => {
    const s = await serve((_q, res) => streamText(res, NOTE));
    const chunks: string[] = [];
    const text = await engine(s.url).generate({ ...req(), onText: (c) => chunks.push(c) });
    expect(text).toBe(NOTE);
    expect(chunks.length).toBeGreaterThan(1);
    expect(parseNote(text)).toMatchObject({ ok: true, note: { action_items: [{ who: 'Ben' }] } });
    expect(s.bodies[0]).toMatchObject({ model: 'qwen2.5:1.5b', stream: true, max_tokens: 500, response_format: { type: 'json_schema', json_schema: { strict: true } } });
    expect(s.auth[0]).toBe('Bearer sk-test-secret');
  });

  it('waits as Retry-After says on 429, then succeeds', async () => {
    const times: number[] = [];
    const s = await serve((_q, res, _b, n) => {
      times.push(Date.now());
      if (n === 1) {
        res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' });
        res.end('{"error":{"message":"slow down"}}');
      } else streamText(res, NOTE);
    });
    expect(await engine(s.url).generate(req())).toBe(NOTE);
    expect(times.length).toBe(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
  });

  it('retries 5xx with backoff and gives up with rate_limited after the last try', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(503);
      res.end();
    });
    await expect(engine(s.url).generate(req())).rejects.toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/503.*after 3 tries/) });
    expect(s.bodies.length).toBe(3);
  });

  it('retries a dropped stream (no finish, no [DONE])', async () => {
    const s = await serve((_q, res, _b, n) => (n === 1 ? streamText(res, NOTE, { done: false }) : streamText(res, NOTE)));
    expect(await engine(s.url).generate(req())).toBe(NOTE);
    expect(s.bodies.length).toBe(2);
  });

  it('passes invalid JSON from the model through, and the note parser rejects it with a reason', async () => {
    const s = await serve((_q, res) => streamText(res, '{"title": "x", "summary": '));
    const text = await engine(s.url).generate(req());
    expect(parseNote(text)).toMatchObject({ ok: false, message: expect.stringMatching(/invalid JSON/) });
  });

  it('an endpoint that answers HTML is a bad_response naming LLM_URL', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html><body>Welcome</body></html>');
    });
    await expect(engine(s.url).generate(req())).rejects.toMatchObject({ code: 'bad_response', message: expect.stringMatching(/HTML.*LLM_URL/) });
  });

  it('an unknown model is unknown_model; a refused key is unauthorized and never echoed', async () => {
    const s = await serve((_q, res, body) => {
      if (body.model === 'nope') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"error":{"message":"model \\"nope\\" not found, try pulling it first"}}');
      } else {
        res.writeHead(401);
        res.end();
      }
    });
    await expect(engine(s.url, { model: 'nope' }).generate(req())).rejects.toMatchObject({ code: 'unknown_model' });
    const err = await engine(s.url).generate(req()).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'unauthorized' });
    expect((err as Error).message).not.toContain('sk-test-secret');
  });

  it('an unreachable server is unreachable; a slow one times out; a cancel is cancelled', async () => {
    await expect(engine('http://127.0.0.1:9/v1', { maxRetries: 0 }).generate(req())).rejects.toMatchObject({ code: 'unreachable' });
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
    });
    await expect(engine(s.url, { timeoutMs: 300 }).generate(req())).rejects.toMatchObject({ code: 'timeout' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(engine(s.url).generate({ ...req(), signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });
});

describe('remote helpers', () => {
  it('loopback URLs stay on the machine; others leave it', () => {
    expect(isLoopbackUrl('http://localhost:11434/v1')).toBe(true);
    expect(isLoopbackUrl('http://127.0.0.1:8080/v1')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8080/v1')).toBe(true);
    expect(isLoopbackUrl('https://api.openai.com/v1')).toBe(false);
    expect(isLoopbackUrl('http://192.168.1.5:11434/v1')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
  it('Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});
