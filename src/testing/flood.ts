/**
 * A slow-header flood, for the lock-out test and `npm run bench:flood`: one client opens
 * `connections` TLS connections to a server and on each sends a request's first line, then one
 * more header line every `lineEveryMs`, never finishing the headers. And the owner's view of
 * it: how long a fresh page load and an authenticated WebSocket take while it runs.
 */
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';

export interface FloodOptions {
  port: number;
  host?: string;
  /** Connections opened in all. */
  connections: number;
  /** Connections being opened at once (the attacker's parallelism). */
  parallel?: number;
  /** Interval between header lines on each connection, ms. */
  lineEveryMs?: number;
  /** Open a replacement whenever the server drops one, up to `connections` opened in all at once. */
  reconnect?: boolean;
}

export interface Flood {
  /** Connections opened so far (TLS handshake completed). */
  readonly opened: number;
  /** Connections of the flood the server has not closed yet. */
  readonly open: number;
  /** Resolves once every connection has been attempted. */
  readonly started: Promise<void>;
  /** Closes every connection of the flood. */
  stop(): void;
}

/** Starts a slow-header flood. */
export function startFlood(opts: FloodOptions): Flood {
  const host = opts.host ?? '127.0.0.1';
  const parallel = opts.parallel ?? 50;
  const lineEveryMs = opts.lineEveryMs ?? 2000;
  const sockets = new Set<TLSSocket>();
  let opened = 0;
  let attempted = 0;
  let stopped = false;
  const openOne = () =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const s = connect({ host, port: opts.port, rejectUnauthorized: false }, () => {
        opened++;
        s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n`);
        let n = 0;
        const timer = setInterval(() => {
          if (s.writable) s.write(`X-Slow-${n++}: ${'a'.repeat(8)}\r\n`);
        }, lineEveryMs);
        s.once('close', () => clearInterval(timer));
        resolve();
      });
      sockets.add(s);
      s.on('error', () => resolve());
      s.once('close', () => {
        sockets.delete(s);
        resolve();
        if (opts.reconnect && !stopped) void openOne();
      });
    });
  const started = (async () => {
    const workers = Array.from({ length: Math.min(parallel, opts.connections) }, async () => {
      while (!stopped && attempted < opts.connections) {
        attempted++;
        await openOne();
      }
    });
    await Promise.all(workers);
  })();
  return {
    get opened() {
      return opened;
    },
    get open() {
      return sockets.size;
    },
    started,
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}

/** Milliseconds until a fresh connection gets the page's answer (its status), or null after `limitMs`. */
export function timePageLoad(port: number, limitMs: number, host = '127.0.0.1'): Promise<{ ms: number; status: number } | null> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', method: 'GET', rejectUnauthorized: false, agent: false, timeout: limitMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** Milliseconds until an authenticated WebSocket session opens, or null after `limitMs`. */
export function timeSessionOpen(port: number, token: string, limitMs: number, host = '127.0.0.1'): Promise<number | null> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://${host}:${port}/ws`, { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` }, handshakeTimeout: limitMs });
    const done = (v: number | null) => {
      clearTimeout(timer);
      ws.removeAllListeners('open');
      ws.on('error', () => undefined);
      if (ws.readyState === WebSocket.OPEN) ws.close();
      else ws.terminate();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), limitMs);
    ws.on('open', () => done(performance.now() - t0));
    ws.on('error', () => done(null));
    ws.on('unexpected-response', () => done(null));
  });
}
