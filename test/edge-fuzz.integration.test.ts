/**
 * Fuzzing the network edge over real TLS (issue #9): thousands of seeded, generated requests
 * (request targets, methods, header sets, upgrade attempts, requests cut short) to the page and
 * the upgrade path. Every one must be answered with an HTTP status line, or closed when it was
 * cut short; the process must not throw; and a normal session must still work afterwards.
 */
import { seededRandom } from '../src/testing/signals.js';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient } from '../src/testing/client.js';
import { loadConversation } from '../src/testing/corpus.js';
import { startTestServer } from './helpers/server.js';

const SEED = 0x9e3779b9;
const CASES = 2000;
const PARALLEL = 16;
/** A case not answered or closed within this long fails. */
const CASE_TIMEOUT_MS = 5000;

/** A seeded PRNG, so a failing case can be replayed from its number. */
const rng = seededRandom;

interface Case {
  n: number;
  bytes: Buffer;
  /** Cut short: sent in part, then the client half-closes; a close without answer is fine. */
  truncated: boolean;
}

const TARGET_PIECES = [
  '/', '/ws', '/api/info', '/healthz', '/index.html', '/app.js', '/ws?token=', '/ws?token=%', '?', '#', '*',
  'http://evil.example/ws', 'https://x/', '//evil.example/ws', '/%', '/%zz', '/%00', '/%2e%2e/%2e%2e/etc/passwd',
  '/../../etc/passwd', '/\\..\\..\\', '/[', 'http://[::1', '/@', '/:', '/\u00e9', '/\u{1f600}', '/\u0000', '/\t',
  '/a b', '/\u007f', '&token=a', '?token=aaaaaaaaaaaaaaaaaaaaaa', '/ws/', '/WS', '/api/', '/api/info?token=x',
  'ws://127.0.0.1/ws', 'ftp://x', 'javascript:alert(1)', '/;', '/%c0%ae%c0%ae/', '/.', '/..', '/./ws',
];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'CONNECT', 'get', 'G E T', 'BREW', '', 'GET\u0000', 'PRI'];
const BAD_VERSIONS = ['HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 extra', '', 'http/1.1', 'HTTP/9.9'];
/** Well-formed headers, hostile or not. */
const HEADER_POOL: Array<(r: () => number, token: string) => string> = [
  () => 'Host: 127.0.0.1',
  () => 'Host: evil.example',
  () => 'Host:',
  () => 'Host: a\r\nHost: b',
  () => 'Origin: https://evil.example',
  () => 'Origin: null',
  () => 'Origin: https://127.0.0.1',
  () => 'Authorization: Bearer wrong-token',
  (_r, token) => `Authorization: Bearer ${token}`,
  () => 'Authorization: Basic Zm9vOmJhcg==',
  () => 'Content-Length: 5',
  () => 'Content-Length: -1',
  () => 'Content-Length: 99999999999999999999',
  () => 'Content-Length: 1\r\nContent-Length: 2',
  () => 'Transfer-Encoding: chunked',
  () => 'Transfer-Encoding: gzip, chunked',
  () => 'Expect: 100-continue',
  () => 'Connection: keep-alive',
  () => 'Connection: close',
  () => 'Connection: Upgrade',
  () => 'Upgrade: websocket',
  () => 'Upgrade: h2c',
  () => 'Sec-WebSocket-Version: 13',
  () => 'Sec-WebSocket-Version: 8',
  () => 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  () => 'Sec-WebSocket-Key: short',
  () => 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
  () => 'Sec-WebSocket-Protocol: a, b, ,',
  (r) => `X-Random: ${randomText(r, 40).replace(/[^\x20-\x7e]/g, '')}`,
];
/** Headers Node's parser refuses. */
const BAD_HEADER_POOL: Array<(r: () => number, token: string) => string> = [
  () => 'X-Bad Header: 1',
  () => 'X-Nul: a\u0000b',
  () => ': empty-name',
  () => 'No-Colon-Here',
  () => ' Folded: continuation',
  (r) => `X-Long: ${'x'.repeat(Math.floor(r() * 20_000))}`,
  (r) => `X-Random: ${randomText(r, 40)}`,
];
/** The headers of a well-formed WebSocket upgrade, often mixed in so the upgrade path is hit. */
const UPGRADE = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomText(r: () => number, maxLen: number): string {
  let s = '';
  const len = Math.floor(r() * maxLen);
  for (let i = 0; i < len; i++) s += String.fromCharCode(r() < 0.8 ? 0x20 + Math.floor(r() * 95) : Math.floor(r() * 256));
  return s;
}

function makeTarget(r: () => number, token: string): string {
  const roll = r();
  if (roll < 0.05) return '/' + 'a'.repeat(Math.floor(r() * 20_000));
  if (roll < 0.15) return randomText(r, 60);
  if (roll < 0.2) return `/ws?token=${token}`;
  let t = '';
  const parts = 1 + Math.floor(r() * 3);
  for (let i = 0; i < parts; i++) t += pick(r, TARGET_PIECES);
  return t;
}

/** Targets Node's HTTP parser lets through but the WHATWG URL parser rejects (issue #9's crash). */
const URL_REJECTS = ['http://[::1', 'http://[', 'https://x:99999/', 'http://a%zz/', 'http://:80/', 'http:///', 'https://[::1]x/', 'http://xn--/', 'http://1.2.3.4.5/', '//[', 'http://%/'];

/** Pieces a well-formed request line can carry (no spaces or control characters). */
const SANE_PIECES = TARGET_PIECES.filter((p) => p.startsWith('/') && !/[\u0000-\u0020\u007f-\uffff]/u.test(p));

function makeCase(n: number, r: () => number, token: string): Case {
  // Half the cases are well-formed HTTP with hostile content, so they reach the server's own
  // logic (auth, static files, upgrade admission); the other half is chaos for the parser.
  const sane = r() < 0.5;
  const method = sane ? pick(r, ['GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS', 'DELETE']) : pick(r, METHODS);
  const version = sane || r() < 0.7 ? (r() < 0.8 ? 'HTTP/1.1' : 'HTTP/1.0') : pick(r, BAD_VERSIONS);
  let target = makeTarget(r, token);
  if (sane) {
    target = pick(r, SANE_PIECES) + (r() < 0.5 ? pick(r, SANE_PIECES) : '');
    if (r() < 0.3) target = `/ws?token=${r() < 0.6 ? token : 'wrong'}`;
    else if (r() < 0.2) target = pick(r, URL_REJECTS) + (r() < 0.5 ? `/ws?token=${token}` : '');
  }
  const headers: string[] = [];
  if (sane || r() < 0.85) headers.push('Host: 127.0.0.1');
  if (r() < 0.4) headers.push(...UPGRADE);
  const extra = Math.floor(r() * (sane ? 3 : 5));
  for (let i = 0; i < extra; i++) headers.push(pick(r, HEADER_POOL)(r, token));
  if (!sane && r() < 0.5) headers.push(pick(r, BAD_HEADER_POOL)(r, token));
  const lineEnd = sane || r() < 0.8 ? '\r\n' : '\n';
  const head = `${method} ${target}${version ? ` ${version}` : ''}${lineEnd}${headers.map((h) => h + lineEnd).join('')}${lineEnd}`;
  const body = r() < 0.1 ? randomText(r, 200) : '';
  let bytes = Buffer.from(head + body, 'latin1');
  if (!sane && r() < 0.1) bytes = Buffer.from(randomText(r, 300), 'latin1');
  if (r() < 0.2) bytes = bytes.subarray(0, Math.floor(r() * bytes.length));
  // Whatever was cut short (or never formed a request head) is followed by a half-close; a
  // client that stays silent instead is the idle timeout's business (silent-clients test).
  const truncated = !/\r?\n\r?\n/.test(bytes.toString('latin1'));
  return { n, bytes, truncated };
}

type Outcome = { kind: 'answered'; status: string } | { kind: 'closed' } | { kind: 'timeout' } | { kind: 'connect-error'; message: string };

/** Sends one case and resolves with what the server did; the client never lingers. */
function send(port: number, c: Case, session: Buffer | undefined): Promise<{ outcome: Outcome; session: Buffer | undefined }> {
  return new Promise((resolve) => {
    let got = '';
    let done = false;
    let socket: TLSSocket;
    let connected = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const s = socket.getSession();
      socket.destroy();
      resolve({ outcome, session: s ?? session });
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), CASE_TIMEOUT_MS);
    socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, session }, () => {
      connected = true;
      socket.write(c.bytes);
      if (c.truncated) socket.end();
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m) finish({ kind: 'answered', status: m[1]! });
      else if (got.length >= 12) finish({ kind: 'answered', status: `not HTTP: ${JSON.stringify(got.slice(0, 40))}` });
    });
    socket.on('error', (err) => finish(connected ? { kind: 'closed' } : { kind: 'connect-error', message: err.message }));
    socket.on('close', () => finish({ kind: 'closed' }));
  });
}

describe('the network edge under fuzzing (real TLS)', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ MAX_SESSIONS: 4 });
  });
  afterAll(() => server?.close());

  it(`answers or closes each of ${CASES} generated requests, then still serves a normal session`, async () => {
    const r = rng(SEED);
    const cases = Array.from({ length: CASES }, (_, n) => makeCase(n, r, server.token));
    const outcomes: Array<{ c: Case; outcome: Outcome }> = [];
    let session: Buffer | undefined;
    let next = 0;
    const startedAt = performance.now();
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const res = await send(server.port, c, session);
        session = res.session;
        outcomes.push({ c, outcome: res.outcome });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seconds = (performance.now() - startedAt) / 1000;

    const statuses = new Map<string, number>();
    for (const { outcome } of outcomes) {
      const key = outcome.kind === 'answered' ? outcome.status : outcome.kind;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    console.log(`[fuzz] ${CASES} cases (seed ${SEED}) in ${seconds.toFixed(1)} s: ${[...statuses].sort().map(([k, v]) => `${k}×${v}`).join(' ')}`);

    const bad = outcomes.filter(({ c, outcome }) => {
      if (outcome.kind === 'timeout' || outcome.kind === 'connect-error') return true;
      if (outcome.kind === 'answered') return !/^\d{3}$/.test(outcome.status) || outcome.status.startsWith('5');
      // Closed without an answer: only fine when the request was cut short.
      return !c.truncated;
    });
    const show = bad.slice(0, 5).map(({ c, outcome }) => `case ${c.n}: ${JSON.stringify(outcome)} for ${JSON.stringify(c.bytes.toString('latin1').slice(0, 200))}`);
    expect(show, `${bad.length} cases not answered properly`).toEqual([]);
    // The mix really reached both paths and both outcomes.
    expect(statuses.get('400') ?? 0).toBeGreaterThan(100);
    expect(statuses.get('404') ?? 0).toBeGreaterThan(10);
    expect((statuses.get('401') ?? 0) + (statuses.get('429') ?? 0)).toBeGreaterThan(10);
    expect(statuses.get('101') ?? 0).toBeGreaterThan(10);
    expect(statuses.get('200') ?? 0).toBeGreaterThan(10);
    expect(cases.filter((c) => c.truncated).length).toBeGreaterThan(CASES / 10);
    expect(outcomes).toHaveLength(CASES);

    // Afterwards: the page loads and a conversation runs end to end.
    const health = await send(server.port, { n: -1, bytes: Buffer.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), truncated: false }, undefined);
    expect(health.outcome).toEqual({ kind: 'answered', status: '200' });
    const conv = loadConversation('1688-1998-easy');
    const client = await ProtocolClient.connect({ url: server.url, token: server.token });
    expect((await client.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    expect((await client.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    const from = client.messages.length;
    client.send({ type: 'start_transcription' });
    await client.streamAudio(conv.audio.subarray(0, 15 * 16_000));
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 30_000, from);
    expect(client.messages.slice(from).some((m) => m.type === 'segment')).toBe(true);
    await client.close();
  }, 180_000);
});
