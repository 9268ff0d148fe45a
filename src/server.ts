/**
 * Builds and starts the whole server: models, TLS, the HTTPS page, the WebSocket gateway.
 * `main.ts` calls this with the process configuration; tests call it with port 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AsrEngine } from './asr/types.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { MAX_TEXT_FRAME_BYTES } from './protocol/messages.js';
import { FileJobs } from './files/jobs.js';
import { keepInStore } from './files/keep.js';
import { loadSavedVoices } from './files/voices.js';
import { fileStagesFrom } from './files/stages.js';
import { buildPipeline } from './session/pipeline.js';
import { Conversations } from './session/conversations.js';
import { Session } from './session/session.js';
import type { StorageFs } from './storage/fs.js';
import { ConversationStore } from './storage/store.js';
import type { SpeakerEncoder } from './speaker/types.js';
import { clientIp, generateToken, presentedToken, TokenGate } from './transport/auth.js';
import { isSelfSigned, loadOrCreateTls } from './transport/certs.js';
import { createApiHandler } from './transport/api.js';
import { Gateway } from './transport/gateway.js';
import { parseRequestTarget } from './transport/request-target.js';
import { createTranscriptionsApi } from './transport/api-transcriptions.js';
import { createStaticHandler, sendPlain, SECURITY_HEADERS } from './transport/static.js';
import type { VadModel } from './vad/types.js';
import { fromRoot } from './paths.js';
import type { NoteEngine } from './notes/engine.js';
import type { NoteLimits } from './notes/schema.js';
import { setupNotes } from './notes/setup.js';
import { LiveSentiment } from './notes/live-sentiment.js';
import { createNotesApi, isNotesPath } from './transport/api-notes.js';

/** Model overrides, for tests: any part not given is built from the configuration. */
export interface ServerDeps {
  vad?: VadModel;
  encoder?: SpeakerEncoder;
  /** `null` forces diarization-only mode. */
  asr?: AsrEngine | null;
  log?: Logger;
  /** The store's filesystem layer (tests inject a failing disk). */
  storageFs?: StorageFs;
  /** The notes engine (tests: a real engine on a generated model, with small note limits). */
  notesEngine?: NoteEngine;
  notesLimits?: NoteLimits;
  notesCharsPerToken?: number;
}

export interface RunningServer {
  /** `https://<host>:<port>/` (loopback host name when bound to all interfaces). */
  url: string;
  port: number;
  /** The access token ('' when AUTH is off). */
  token: string;
  /** Re-reads the certificate files; new connections use them, open ones are kept. */
  reloadTls(): Promise<void>;
  /** Number of open WebSocket sessions. */
  sessions(): number;
  /** The conversation store under DATA_DIR. */
  store: ConversationStore;
  /** The private folder holding uploaded recordings while they are processed. */
  uploadDir: string;
  close(): Promise<void>;
}

/**
 * Slack above MAX_FRAME_BYTES before ws itself closes the connection (1009): a frame just over
 * the limit gets a coded error and is dropped, a much larger one is never buffered.
 */
const PAYLOAD_SLACK_BYTES = 64 * 1024;

/**
 * Writes a bare HTTP answer on a raw socket and destroys the socket a second later whatever
 * the peer does. Never throws.
 */
function answerAndClose(socket: Duplex, status: number, text: string): void {
  // After 'connect' Node no longer listens for this socket's errors: an unheard reset would throw.
  if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
  try {
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
  } catch {
    socket.destroy();
  }
}
/** File transcription jobs kept at once (queued, running, finished). */
const MAX_FILE_JOBS = 32;

export async function startServer(config: Config, deps: ServerDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.LOG_LEVEL);
  const pipeline = await buildPipeline(config, deps, log);
  const store = new ConversationStore(fromRoot(config.DATA_DIR), deps.storageFs);
  const repaired = await store.init();
  if (repaired.repaired + repaired.ended > 0) {
    log.info(`storage: repaired ${repaired.repaired} torn record(s), ended ${repaired.ended} conversation(s) left open by a previous run`);
  }
  log.info(`conversations are kept in ${config.DATA_DIR}${config.KEEP_AUDIO ? ' with their audio' : ''}${config.RETENTION_DAYS > 0 ? `, for ${config.RETENTION_DAYS} days` : ''}`);
  const sweep = () =>
    store.sweep(config.RETENTION_DAYS).then(
      (n) => n > 0 && log.info(`retention: deleted ${n} conversation(s) older than ${config.RETENTION_DAYS} days`),
      (err: Error) => log.warn(`retention sweep failed: ${err.message}`),
    );
  await sweep();
  const daily = setInterval(() => void sweep(), 86_400_000);
  daily.unref();
  const notes = await setupNotes(config, store, log.child('notes'), { ...(deps.notesEngine ? { engine: deps.notesEngine } : {}), ...(deps.notesLimits ? { limits: deps.notesLimits } : {}), ...(deps.notesCharsPerToken ? { charsPerToken: deps.notesCharsPerToken } : {}) });
  const notesApi = createNotesApi({ service: notes.service, store, templates: notes.templates, status: notes.status });
  const autoNote = (id: string): void => {
    const template = notes.templates.get(config.NOTES_AUTO_TEMPLATE);
    if (!config.NOTES_AUTO || !notes.service || !template) return;
    void notes.service.start(id, template).then(
      (r) => 'code' in r && !('id' in r) && r.code !== 'empty' && log.warn(`notes: automatic note not started: ${r.code}`),
      (err: Error) => log.warn(`notes: automatic note failed to start: ${err.message}`),
    );
  };
  const conversations = new Conversations({ store, resumeWindowS: config.RESUME_WINDOW_S, models: pipeline.models, log: log.child('store'), keepAudio: config.KEEP_AUDIO, maxSuspended: 8 * config.MAX_SESSIONS, onEnded: autoNote });
  const liveSentiment = config.NOTES_LIVE_SENTIMENT && notes.service ? new LiveSentiment({ engine: notes.service.engine, busy: () => notes.service!.busy(), log: log.child('notes') }) : null;
  const api = createApiHandler({ store, conversations, notesFor: notes.service ? (id) => notes.service!.notes.list(id) : undefined, onDeleted: (id) => notes.service?.forget(id) });
  const tls = await loadOrCreateTls(fromRoot(config.TLS_CERT), fromRoot(config.TLS_KEY));
  if (tls.generated) {
    log.info(`generated a self-signed certificate in ${config.TLS_CERT} (browsers will warn; see README "TLS")`);
  }
  // HSTS only with a real certificate: on a self-signed localhost one it would pin every
  // localhost port of the user's browser to HTTPS and protect nothing.
  const hsts = !isSelfSigned(tls.cert);
  const token = config.AUTH ? config.ACCESS_TOKEN || generateToken() : '';
  const serveStatic = createStaticHandler(fromRoot('public'));
  const tokenGate = config.AUTH ? new TokenGate(token) : null;
  // Uploaded recordings and their speech spools: a private folder, removed at close.
  const uploadDir = await mkdtemp(join(tmpdir(), 'duet-uploads-'));
  const fileJobs = new FileJobs({
    stages: fileStagesFrom(pipeline, config),
    maxJobs: MAX_FILE_JOBS,
    tmpDir: uploadDir,
    log: log.child('files'),
    keep: (result, request) => keepInStore(store, result, request),
  });
  const transcriptionsApi = createTranscriptionsApi({
    jobs: fileJobs,
    voices: (value) => loadSavedVoices(store, pipeline.encoder, value),
    stored: (id) => store.get(id),
    uploadDir,
    maxUploadBytes: Math.round(config.MAX_UPLOAD_MB * 1024 * 1024),
    log: log.child('files'),
  });

  const gateway = new Gateway({
    tokenGate,
    allowedOrigins: config.ALLOWED_ORIGINS.split(',').filter((o) => o.trim().length > 0),
    maxSessions: config.MAX_SESSIONS,
    hardMaxPayloadBytes: Math.max(config.MAX_FRAME_BYTES, MAX_TEXT_FRAME_BYTES) + PAYLOAD_SLACK_BYTES,
    heartbeatMs: config.HEARTBEAT_MS,
    idleTimeoutMs: config.IDLE_TIMEOUT_MS,
    log: log.child('ws'),
    createSession: (conn) => new Session(conn, { config, pipeline, log: log.child('session'), conversations, ...(liveSentiment ? { onTranscription: (m, send) => liveSentiment.onTranscription(m, send) } : {}) }),
  });

  const server: Server = createHttpsServer(
    // A peer that opens TCP and never completes the handshake is dropped after this long.
    { cert: tls.cert, key: tls.key, handshakeTimeout: config.TLS_HANDSHAKE_TIMEOUT_MS },
    (req, res) => {
      // No request can throw out of the listener: an exception here would be uncaught and end
      // the process for every user. A bug answers 500 and is logged instead.
      try {
        handleRequest(req, res);
      } catch (err) {
        log.error(`request handler failed: ${(err as Error).message}`);
        if (!res.headersSent) sendPlain(res, 500, 'internal error');
        else res.destroy();
      }
    },
  );

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = parseRequestTarget(req.url);
    if (target === null) return sendPlain(res, 400, 'bad request target');
    const path = target.pathname;
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=15552000');
    if (path === '/healthz') return sendPlain(res, 200, 'ok');
    if (path.startsWith('/api/')) {
      const admission = tokenGate?.check(clientIp(req), presentedToken(req, target)) ?? 'ok';
      if (admission === 'rate_limited') return sendPlain(res, 429, 'too many failed attempts; try again in a minute');
      if (admission === 'unauthorized') return sendPlain(res, 401, 'unauthorized');
      if (path === '/api/info' && req.method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ models: pipeline.models, sessions: gateway.size, maxSessions: config.MAX_SESSIONS }));
        return;
      }
      if (isNotesPath(path)) {
        notesApi(req, res, target).then(
          (handled) => handled || sendPlain(res, 404, 'not found'),
          (err: Error) => {
            log.error(`notes api error: ${err.message}`);
            if (!res.headersSent) sendPlain(res, 500, 'internal error');
            else res.destroy();
          },
        );
        return;
      }
      if (path.startsWith('/api/transcriptions')) {
        transcriptionsApi(req, res, target).then(
          (handled) => handled || sendPlain(res, 404, 'not found'),
          () => sendPlain(res, 500, 'internal error'),
        );
        return;
      }
      api(req, res, target).then(
        (handled) => handled || sendPlain(res, 404, 'not found'),
        (err: Error) => {
          log.error(`api error: ${err.message}`);
          if (!res.headersSent) sendPlain(res, 500, 'internal error');
          else res.destroy();
        },
      );
      return;
    }
    // Answered before any await: Node drops the socket of some requests (an HTTP/2 preface
    // `PRI` without a version) as soon as the request event returns.
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendPlain(res, 405, 'method not allowed');
    serveStatic(req, res, path).then(
      (handled) => handled || sendPlain(res, 405, 'method not allowed'),
      () => sendPlain(res, 500, 'internal error'),
    );
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node stops listening for this socket's errors at the upgrade: an unheard reset would throw.
    socket.on('error', () => socket.destroy());
    try {
      gateway.handleUpgrade(req, socket, head);
    } catch (err) {
      log.error(`upgrade handler failed: ${(err as Error).message}`);
      socket.destroy();
    }
  });
  // A request Node's parser rejects (bad method, header, framing, oversized head) or a CONNECT
  // still gets an answer, then the socket is closed; neither may linger nor throw.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    answerAndClose(socket, status, status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request');
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => answerAndClose(socket, 405, 'Method Not Allowed'));
  server.headersTimeout = 10_000;
  // No whole-request deadline: a 2 GB upload takes minutes. Headers still have 10 s, no other
  // route reads a body, and uploads are dropped after 60 s without data (api-transcriptions.ts).
  server.requestTimeout = 0;
  // A connection that sends nothing (no request, or nothing after one) is dropped after this
  // long; an accepted WebSocket clears it (ws sets its own socket timeout to 0) and is watched
  // by the gateway's idle timer instead.
  server.timeout = config.IDLE_TIMEOUT_MS;
  server.maxConnections = config.MAX_CONNECTIONS;

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = ['0.0.0.0', '::'].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  log.info(`models: asr=${pipeline.models.asr ?? 'none (diarization only)'} speaker=${pipeline.models.speaker} vad=${pipeline.models.vad}`);

  let closed: Promise<void> | null = null;
  return {
    url: `https://${host}:${port}/`,
    port,
    token,
    sessions: () => gateway.size,
    store,
    uploadDir,
    async reloadTls() {
      const next = await loadOrCreateTls(fromRoot(config.TLS_CERT), fromRoot(config.TLS_KEY));
      server.setSecureContext({ cert: next.cert, key: next.key });
      log.info('TLS certificate reloaded');
    },
    close() {
      closed ??= (async () => {
        clearInterval(daily);
        await gateway.close();
        await conversations.close();
        await fileJobs.close();
        await notes.service?.close();
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections();
        await stopped;
        await pipeline.close();
        await rm(uploadDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
