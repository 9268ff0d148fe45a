/**
 * Clients that open sockets and then say nothing (issue #9): every kind is dropped by the
 * server within its timeout, so they cannot pile up and exhaust descriptors; the connection cap
 * holds (by dropping the oldest connection that has not signed in); a client that keeps talking is left alone. Short timeouts through the configuration.
 */
import { connect as netConnect, Socket as NetSocket, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient } from '../src/testing/client.js';
import { startTestServer } from './helpers/server.js';

const HANDSHAKE_MS = 500;
const IDLE_MS = 1000;
const MAX_CONNECTIONS = 8;

/**
 * Resolves with the milliseconds until the server has really closed `socket` (rejects after
 * `limitMs`). A half-open client sees only 'end' when the server ends its side, whether or not
 * the server then destroys the socket; so after 'end' it keeps writing a byte: to a destroyed
 * socket that draws a reset (and 'close'), to a merely half-closed one it is silently accepted.
 */
function closedWithin(socket: Socket, limitMs: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let probe: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      clearInterval(probe);
      socket.destroy();
      reject(new Error(`socket still open after ${limitMs} ms`));
    }, limitMs);
    socket.on('error', () => undefined);
    socket.once('end', () => {
      probe = setInterval(() => socket.writable && socket.write('x'), 100);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      clearInterval(probe);
      resolve(performance.now() - t0);
    });
  });
}

/**
 * A TLS client that never closes its side by itself: it keeps the socket half-open when the
 * server ends, as a hostile client would (a default client would close in reply).
 */
function tls(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const raw = new NetSocket({ allowHalfOpen: true });
    raw.connect({ host: '127.0.0.1', port });
    const s = tlsConnect({ socket: raw, rejectUnauthorized: false, allowHalfOpen: true } as ConnectionOptions, () => resolve(s));
    s.once('error', reject);
  });
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('silent clients', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({
      TLS_HANDSHAKE_TIMEOUT_MS: HANDSHAKE_MS,
      IDLE_TIMEOUT_MS: IDLE_MS,
      MAX_CONNECTIONS,
    });
  });
  afterAll(() => server?.close());

  it('drops a TCP peer that never starts the TLS handshake', async () => {
    const s = await tcp(server.port);
    const ms = await closedWithin(s, HANDSHAKE_MS + 3000);
    expect(ms).toBeGreaterThan(HANDSHAKE_MS * 0.8);
  });

  it('drops a TLS peer that sends no request, and one that stops mid-request', async () => {
    const silent = await tls(server.port);
    const partial = await tls(server.port);
    partial.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const [a, b] = await Promise.all([closedWithin(silent, IDLE_MS + 3000), closedWithin(partial, IDLE_MS + 3000)]);
    expect(Math.min(a, b)).toBeGreaterThan(IDLE_MS * 0.8);
  });

  it('destroys a refused upgrade shortly after its answer, though the client never closes', async () => {
    for (const [target, status] of [
      ['/ws?token=wrong', '401'],
      ['/elsewhere', '404'],
      ['http://[::1', '400'],
    ] as const) {
      const s = await tls(server.port);
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      // The client never ends its side; the server must close the socket anyway.
      await closedWithin(s, 3000);
      expect(got.startsWith(`HTTP/1.1 ${status} `), `${target}: ${got.slice(0, 40)}`).toBe(true);
    }
  });

  it('closes (1001) a WebSocket session that sends nothing, and keeps one that talks', async () => {
    const idle = await ProtocolClient.connect({ url: server.url, token: server.token });
    const talker = await ProtocolClient.connect({ url: server.url, token: server.token });
    const closed = new Promise<number>((resolve) => idle.ws.once('close', (code) => resolve(code)));
    // The talker sends a message (answered with a coded error) every 300 ms for 3 idle periods.
    const chatter = setInterval(() => talker.send({ type: 'stop_transcription' }), 300);
    const t0 = performance.now();
    expect(await closed).toBe(1001);
    expect(performance.now() - t0).toBeLessThan(IDLE_MS * 2 + 1000);
    await new Promise((r) => setTimeout(r, IDLE_MS * 2));
    clearInterval(chatter);
    expect(talker.ws.readyState).toBe(WebSocket.OPEN);
    expect(server.sessions()).toBe(1);
    await talker.close();
  });

  it(`holds at most ${MAX_CONNECTIONS} connections: a newcomer makes the oldest silent one go, so the owner still gets in`, async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => tcp(server.port)));
    // Let the server account for them before the next one arrives.
    await new Promise((r) => setTimeout(r, 100));
    const extra = await tcp(server.port);
    // The oldest silent peer is dropped for the newcomer (issue #21: no lock-out), not the newcomer.
    expect(await closedWithin(held[0]!, 1000)).toBeLessThan(1000);
    expect(server.connections().total).toBeLessThanOrEqual(MAX_CONNECTIONS);
    // While the other silent ones are still held, a real session works.
    const client = await ProtocolClient.connect({ url: server.url, token: server.token });
    expect(client.messages[0]?.type).toBe('model_loaded');
    await client.close();
    extra.destroy();
    for (const s of held) s.destroy();
  });
});
