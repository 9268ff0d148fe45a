/**
 * The WebSocket edge: admission (path, Origin, token, rate limit, session count), frame
 * routing to a session, heartbeat, and backpressure by pausing the socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Logger } from '../log.js';
import type { Connection } from '../session/ports.js';
import { clientIp, originAllowed, presentedToken, type TokenGate } from './auth.js';
import { parseRequestTarget } from './request-target.js';

/** What the gateway needs from a per-connection session. */
export interface SessionHandle {
  onText(text: string): void;
  onBinary(data: Buffer): void;
  /** Frees everything; safe to call twice. */
  close(): Promise<void>;
  /**
   * Whether the server still owes this client results (e.g. text of segments it already sent):
   * a client waiting quietly for them after `stop_transcription` is not idle.
   */
  busy?(): boolean;
}

export interface GatewayOptions {
  /** The token check (shared with the API; a SignIn also takes the session cookie); null disables it. */
  tokenGate: Pick<TokenGate, 'check'> | null;
  allowedOrigins: readonly string[];
  maxSessions: number;
  /** Hard cap for one frame; ws closes the connection (1009) above it. */
  hardMaxPayloadBytes: number;
  heartbeatMs: number;
  /**
   * A session that sends no message for this long is closed (1001): an abandoned tab or a
   * silent client must not hold a session slot and a socket forever. A live conversation
   * streams audio continuously, so this only ever fires outside one.
   */
  idleTimeoutMs: number;
  /**
   * How long a refused upgrade's socket may linger after its answer before it is destroyed
   * (a client that never closes must not keep it). Default 1000 ms.
   */
  refusedLingerMs?: number;
  /**
   * Bytes of replies a peer may leave unread before it is disconnected (1008): a client that
   * stops reading must not make the server buffer without bound. Default 4 MiB.
   */
  maxSendBufferBytes?: number;
  log: Logger;
  createSession(conn: Connection, info: { ip: string }): SessionHandle;
}

/**
 * Refuses an upgrade with a plain HTTP answer, then destroys the socket after `lingerMs`: `end()`
 * only half-closes, and a peer that never closes its side would keep the socket (and a file
 * descriptor) forever, with no HTTP timeout left to apply after the upgrade event.
 */
function refuse(socket: Duplex, status: number, text: string, lingerMs: number): void {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<WebSocket, SessionHandle>();
  private readonly alive = new WeakSet<WebSocket>();
  /** When each session last sent a message (ms, `Date.now()`). */
  private readonly lastHeard = new Map<WebSocket, number>();
  private readonly idleCheck: NodeJS.Timeout;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly opts: GatewayOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.hardMaxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // Invalid UTF-8 in a text frame is bad input like any other: it gets `bad_json` from the
      // parser (the bytes decode to U+FFFD) instead of closing the connection with 1007.
      skipUTF8Validation: true,
    });
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
    // Checked a few times per timeout, so a session is closed at most ~25 % late.
    this.idleCheck = setInterval(() => this.closeIdle(), Math.max(100, Math.floor(opts.idleTimeoutMs / 4)));
    this.idleCheck.unref();
  }

  /** Number of open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** Handles an HTTP upgrade request for the WebSocket path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { log } = this.opts;
    const ip = clientIp(req);
    const linger = this.opts.refusedLingerMs ?? 1000;
    socket.on('error', () => socket.destroy());
    const target = parseRequestTarget(req.url);
    if (target === null) return refuse(socket, 400, 'Bad Request', linger);
    if (target.pathname !== '/ws') return refuse(socket, 404, 'Not Found', linger);
    if (!originAllowed(req, this.opts.allowedOrigins)) {
      log.warn(`refused upgrade from ${ip}: foreign origin`);
      return refuse(socket, 403, 'Forbidden', linger);
    }
    if (this.opts.tokenGate !== null) {
      const presented = presentedToken(req, target);
      const admission = this.opts.tokenGate.check(ip, presented, req);
      if (admission === 'rate_limited') return refuse(socket, 429, 'Too Many Requests', linger);
      if (admission === 'unauthorized') {
        log.warn(`refused upgrade from ${ip}: ${presented === null ? 'missing' : 'wrong'} token`);
        return refuse(socket, 401, 'Unauthorized', linger);
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Before anything else: a protocol error on a socket without an 'error' listener would
      // throw from the EventEmitter and take the whole process down.
      ws.on('error', (err) => log.warn(`socket error from ${ip}: ${err.message}`));
      if (this.sessions.size >= this.opts.maxSessions) {
        log.warn(`refused session from ${ip}: ${this.sessions.size} sessions open (MAX_SESSIONS)`);
        ws.send(JSON.stringify({ type: 'error', code: 'server_busy', message: `the server is busy: ${this.opts.maxSessions} sessions are open; try again later` }));
        ws.close(1013, 'server busy');
        // A peer that does not answer the close handshake must not keep the socket.
        setTimeout(() => ws.terminate(), linger).unref();
        return;
      }
      this.attach(ws, ip);
    });
  }

  private attach(ws: WebSocket, ip: string): void {
    const { log } = this.opts;
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    const maxSendBuffer = this.opts.maxSendBufferBytes ?? 4 * 1024 * 1024;
    const conn: Connection = {
      send: (msg) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > maxSendBuffer) {
          log.warn(`closing session from ${ip}: it left ${ws.bufferedAmount} bytes of replies unread`);
          ws.close(1008, 'not reading replies');
          // The peer is not reading, so it will not answer the close handshake either.
          setTimeout(() => ws.terminate(), 1000).unref();
          return;
        }
        ws.send(JSON.stringify(msg));
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      close: (code, reason) => ws.close(code, reason),
    };
    const session = this.opts.createSession(conn, { ip });
    this.sessions.set(ws, session);
    this.lastHeard.set(ws, Date.now());
    log.info(`session opened from ${ip} (${this.sessions.size} open)`);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.lastHeard.set(ws, Date.now());
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) session.onBinary(buf);
      else session.onText(buf.toString('utf8'));
    });
    ws.on('close', () => {
      this.sessions.delete(ws);
      this.lastHeard.delete(ws);
      void session.close();
      log.info(`session closed from ${ip} (${this.sessions.size} open)`);
    });
  }

  /**
   * Terminates peers that did not answer the previous ping. A socket paused for backpressure
   * is not read, so its pongs cannot arrive: it is skipped until its session resumes it.
   */
  private beat(): void {
    for (const ws of this.sessions.keys()) {
      if (ws.isPaused) {
        this.alive.add(ws);
        continue;
      }
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  /**
   * Closes sessions that sent nothing for `idleTimeoutMs` (1001), terminating them a second
   * later if they do not answer the close. A socket paused for backpressure is not read, so
   * its messages cannot arrive: it counts as heard until its session resumes it. So does a
   * session that still owes its client results (`busy`): after `stop_transcription` a client
   * sends nothing while it waits for the last texts, which may take minutes under load.
   */
  private closeIdle(): void {
    const now = Date.now();
    for (const [ws, heard] of this.lastHeard) {
      if (ws.isPaused || this.sessions.get(ws)?.busy?.()) {
        this.lastHeard.set(ws, now);
        continue;
      }
      if (now - heard < this.opts.idleTimeoutMs || ws.readyState !== ws.OPEN) continue;
      this.opts.log.info(`closing a session idle for ${Math.round((now - heard) / 1000)} s`);
      ws.close(1001, 'idle');
      setTimeout(() => ws.terminate(), 1000).unref();
    }
  }

  /**
   * Closes every open session with `code` (4401 when the access token was replaced: the
   * credentials they opened with are void), terminating those that do not answer within a
   * second. The gateway goes on accepting. Returns how many were open.
   */
  closeSessions(code: number, reason: string): number {
    const n = this.sessions.size;
    for (const ws of this.sessions.keys()) {
      ws.close(code, reason);
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    return n;
  }

  /** Closes every connection and awaits every session's cleanup. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.idleCheck);
    const closing = [...this.sessions.entries()].map(([ws, s]) => {
      ws.terminate();
      return s.close();
    });
    this.sessions.clear();
    await Promise.allSettled(closing);
    this.wss.close();
  }
}
