/**
 * Builds and starts the whole server: models, TLS, the HTTPS page, the WebSocket gateway.
 * `main.ts` calls this with the process configuration; tests call it with port 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AsrEngine } from './asr/types.js';
import type { AsrEngineStatus } from './asr/availability.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { MAX_TEXT_FRAME_BYTES } from './protocol/messages.js';
import { FileJobs } from './files/jobs.js';
import { keepInStore } from './files/keep.js';
import { loadSavedVoices } from './files/voices.js';
import { fileStagesFrom } from './files/stages.js';
import { buildPipeline } from './session/pipeline.js';
import type { Connection } from './session/ports.js';
import type { FrontPool } from './front-pool/pool.js';
import { Conversations } from './session/conversations.js';
import { Session } from './session/session.js';
import { nodeFs, type StorageFs } from './storage/fs.js';
import { storageFsFor } from './storage/encrypted-fs.js';
import { ConversationStore } from './storage/store.js';
import { securePrivateTree } from './storage/private-fs.js';
import type { SpeakerEncoder } from './speaker/types.js';
import { clientIp, presentedToken, TokenGate } from './transport/auth.js';
import { SignIn } from './transport/signin.js';
import { ConnectionBudget } from './transport/conn-budget.js';
import { sessionHash } from './transport/session-cookie.js';
import { AuditLog, auditActionOf } from './storage/audit-log.js';
import { answerAudit } from './transport/api-audit.js';
import { FileToken, loadOrCreateToken, tokenPathOf } from './transport/token-file.js';
import { isSelfSigned, loadOrCreateTls } from './transport/certs.js';
import { createApiHandler } from './transport/api.js';
import { Gateway } from './transport/gateway.js';
import { parseRequestTarget } from './transport/request-target.js';
import { createTranscriptionsApi } from './transport/api-transcriptions.js';
import { handleSearch } from './transport/api-search.js';
import { SearchService } from './search/service.js';
import { createOpenAiEdge, openAiModelIds } from './transport/api-openai.js';
import { DuetMetrics } from './metrics/metrics.js';
import { createMetricsEndpoint } from './transport/metrics-endpoint.js';
import { Notifier } from './notify/notifier.js';
import { createStaticHandler, sendPlain, SECURITY_HEADERS } from './transport/static.js';
import type { VadModel } from './vad/types.js';
import { fromRoot } from './paths.js';
import { StatusBoard } from './status.js';
import { registerCoreStatus } from './status-probes.js';
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
  /** Speech recognition's state now (the start-up summary says it). */
  engine(): AsrEngineStatus;
  /** The loaded models' descriptions. */
  models: { asr: string | null; speaker: string; vad: string };
  /** The status board behind /healthz and /api/status: other parts add their sections with `status.register`. */
  status: StatusBoard;
  /** The conversation store under DATA_DIR. */
  store: ConversationStore;
  /** The private folder holding uploaded recordings while they are processed. */
  uploadDir: string;
  /** Full-text search over the store; `ready` resolves once the first build is done. */
  search: { service: SearchService; ready: Promise<void> };
  /** Open connections: all, those not signed in yet, and how many were dropped to make room. */
  connections(): { total: number; pending: number; evicted: number };
  /** The worker threads running the live fronts (FRONT_THREADS), or null when they run in-process. */
  frontPool: FrontPool | null;
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
/** How often Node checks the header deadline of open connections, ms. */
const HEADER_CHECK_MS = 1000;

/** File transcription jobs kept at once (queued, running, finished). */
const MAX_FILE_JOBS = 32;

/**
 * The access token's source: ACCESS_TOKEN when set, else the token kept in DATA_DIR (created
 * on first start), re-read when `npm run token -- --rotate` replaces it.
 */
async function accessTokenSource(fixed: string, dataDir: string, log: Logger): Promise<{ current: () => string; file: FileToken | null }> {
  if (fixed) return { current: () => fixed, file: null };
  const { token, created } = await loadOrCreateToken(dataDir);
  if (created) log.info(`generated an access token, kept in ${tokenPathOf(dataDir)} (npm run token prints the link)`);
  const file = new FileToken(tokenPathOf(dataDir), token, (m) => log.error(`access token: ${m}`));
  return { current: () => file.current(), file };
}

export async function startServer(config: Config, deps: ServerDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.LOG_LEVEL);
  // Before anything is read or written there (and before the models load): refuse a foreign or
  // world-writable DATA_DIR, narrow whatever an older version or another tool left readable.
  const secured = await securePrivateTree(fromRoot(config.DATA_DIR));
  if (secured.tightened > 0) log.warn(`privacy: narrowed the permissions of ${secured.tightened} folder(s)/file(s) under ${config.DATA_DIR} to owner-only`);
  // Encryption at rest (DATA_KEY_FILE) is a codec at the store's file boundary.
  const storage = await storageFsFor({
    dataDir: fromRoot(config.DATA_DIR),
    keyFile: config.DATA_KEY_FILE ? fromRoot(config.DATA_KEY_FILE) : '',
    inner: deps.storageFs ?? nodeFs,
    onUnreadable: (file, records) => log.error(`storage: ${records.length} record(s) of ${file} do not authenticate (altered on disk?): skipped, the rest is read`),
  });
  if (storage.keyId) log.info(`storage: records are encrypted (AES-256-GCM, key ${storage.keyId})`);
  // Metrics (GET /metrics): the parts are measured behind their own interfaces; the live
  // values are read at scrape time from what is built below.
  let liveParts: { sessions(): number; conversations(): number; jobs(): ReturnType<FileJobs['counts']> } | null = null;
  let engineSeen: AsrEngine | null = null;
  const metrics = config.METRICS
    ? new DuetMetrics({
        sessions: () => liveParts?.sessions() ?? 0,
        openConversations: () => liveParts?.conversations() ?? 0,
        fileJobs: () => liveParts?.jobs() ?? { queued: 0, running: 0, done: 0, failed: 0 },
        ...(config.QUEUE_URL ? { workerSlots: () => engineSeen?.slots?.() ?? 0 } : {}),
      })
    : null;
  const instrument = metrics
    ? {
        vad: (m: VadModel) => metrics.vad(m),
        encoder: (e: SpeakerEncoder) => metrics.encoder(e),
        asr: (e: AsrEngine) => metrics.engine((engineSeen = e)),
      }
    : undefined;
  const pipeline = await buildPipeline(config, { ...deps, ...(instrument ? { instrument } : {}) }, log);
  if (metrics) {
    // Each recognizer reports its latency and queue depth: sessions pass their id, the file lane none.
    const createRecognizer = pipeline.createRecognizer.bind(pipeline);
    pipeline.createRecognizer = (session?: string) => metrics.recognizer(createRecognizer(session), session === undefined ? 'file' : 'live');
  }
  // Write latency and failures are measured over the whole path, encryption included.
  const storageFs = metrics ? metrics.storageFs(storage.fs) : storage.fs;
  const store = new ConversationStore(fromRoot(config.DATA_DIR), storageFs);
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
  const audit = new AuditLog(fromRoot(config.DATA_DIR), (err) => log.warn(`access log: ${err.message}`));
  const pruneAudit = () => audit.prune(config.AUDIT_RETENTION_DAYS).catch((err: Error) => log.warn(`access log pruning failed: ${err.message}`));
  await pruneAudit();
  // Notifications (webhook, e-mail) when a transcript is ready: off unless configured.
  const notifier = new Notifier({ config, load: (id) => store.get(id), log: log.child('notify') });
  const daily = setInterval(() => void sweep().then(pruneAudit), 86_400_000);
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
  const conversations = new Conversations({ store, resumeWindowS: config.RESUME_WINDOW_S, models: pipeline.models, log: log.child('store'), keepAudio: config.KEEP_AUDIO, maxSuspended: 8 * config.MAX_SESSIONS, onEnded: (id) => {
      notifier.transcriptReady(id, 'live');
      autoNote(id);
    } });
  const liveSentiment = config.NOTES_LIVE_SENTIMENT && notes.service ? new LiveSentiment({ engine: notes.service.engine, busy: () => notes.service!.busy(), log: log.child('notes') }) : null;
  const api = createApiHandler({ store, conversations, notesFor: notes.service ? (id) => notes.service!.notes.list(id) : undefined, onDeleted: (id) => notes.service?.forget(id) });
  // Built in the background: the server answers at once, searches cover what is indexed so far.
  const search = new SearchService(store, log.child('search'));
  const searchReady = search.start().catch((err: Error) => log.error(`search index build failed: ${err.message}`));
  const tls = await loadOrCreateTls(fromRoot(config.TLS_CERT), fromRoot(config.TLS_KEY));
  if (tls.generated) {
    log.info(`generated a self-signed certificate in ${config.TLS_CERT} (browsers will warn; see docs/deployment.md, "TLS")`);
  }
  // HSTS only with a real certificate: on a self-signed localhost one it would pin every
  // localhost port of the user's browser to HTTPS and protect nothing.
  const hsts = !isSelfSigned(tls.cert);
  const serveStatic = createStaticHandler(fromRoot('public'));
  // The token is kept in DATA_DIR (ACCESS_TOKEN overrides it) and exchanged for a cookie.
  const tokenSource = config.AUTH ? await accessTokenSource(config.ACCESS_TOKEN, fromRoot(config.DATA_DIR), log) : null;
  const signIn = tokenSource
    ? new SignIn({
        token: tokenSource.current,
        sessionTtlS: config.SESSION_TTL_H * 3600,
        extraOrigins: config.ALLOWED_ORIGINS.split(',').filter((o) => o.trim().length > 0),
        log: log.child('auth'),
        onEvent: (e) =>
          void audit.record({ action: e.ok ? e.action : 'sign_in_failed', session: e.sid ? sessionHash(e.sid) : null, via: e.sid ? 'cookie' : null, ip: e.ip }),
      })
    : null;
  const tokenGate = signIn;
  // Uploaded recordings and their speech spools: a private folder, removed at close.
  const uploadDir = await mkdtemp(join(tmpdir(), 'duet-uploads-'));
  const fileJobs = new FileJobs({
    stages: fileStagesFrom(pipeline, config),
    maxJobs: MAX_FILE_JOBS,
    tmpDir: uploadDir,
    log: log.child('files'),
    keep: (result, request) => keepInStore(store, result, request),
    onSettled: (view, request) => {
      if (view.status === 'done' || view.status === 'failed') metrics?.fileJobFinished(view.status);
      if (view.status === 'done' && request.store !== false && view.conversation_id) notifier.transcriptReady(view.conversation_id, 'file', request.notify === 'email');
    },
  });
  const transcriptionsApi = createTranscriptionsApi({
    jobs: fileJobs,
    voices: (value) =>
      loadSavedVoices(
        {
          getVoice: async (id) => {
            const v = await store.getVoice(id);
            if (v) void audit.record({ action: 'voice_use', voice_id: v.id });
            return v;
          },
        },
        pipeline.encoder,
        value,
      ),
    stored: (id) => store.get(id),
    uploadDir,
    maxUploadBytes: Math.round(config.MAX_UPLOAD_MB * 1024 * 1024),
    log: log.child('files'),
    canEmail: () => notifier.emailAvailable,
    maxFileS: config.MAX_FILE_S,
  });
  const openAiApi = createOpenAiEdge({
    tokenGate,
    jobs: fileJobs,
    uploadDir,
    maxUploadBytes: Math.round(config.MAX_UPLOAD_MB * 1024 * 1024),
    maxFileS: config.MAX_FILE_S,
    models: () => openAiModelIds(pipeline.models.asr !== null, config.ASR_MODEL),
    withText: pipeline.models.asr !== null,
    voices: (value) => loadSavedVoices(store, pipeline.encoder, value),
    listVoices: () => store.listVoices(),
    canEmail: () => notifier.emailAvailable,
    log: log.child('v1'),
  });

  const gateway = new Gateway({
    tokenGate,
    allowedOrigins: config.ALLOWED_ORIGINS.split(',').filter((o) => o.trim().length > 0),
    maxSessions: config.MAX_SESSIONS,
    hardMaxPayloadBytes: Math.max(config.MAX_FRAME_BYTES, MAX_TEXT_FRAME_BYTES) + PAYLOAD_SLACK_BYTES,
    heartbeatMs: config.HEARTBEAT_MS,
    idleTimeoutMs: config.IDLE_TIMEOUT_MS,
    log: log.child('ws'),
    createSession: (conn, info) =>
      new Session(conn, {
        config,
        pipeline: pipeline.forSession(frontCrashReport(conn)),
        log: log.child('session'),
        conversations,
        onVoiceUse: (voiceId) => void audit.record({ action: 'voice_use', voice_id: voiceId, ip: info.ip }),
        ...(liveSentiment ? { onTranscription: (m, send) => liveSentiment.onTranscription(m, send) } : {}),
      }),
  });

  // /healthz and /api/status: each part registers its section (see src/status.ts).
  const status = new StatusBoard();
  registerCoreStatus(status, {
    config,
    asr: () => pipeline.asr.status(),
    models: () => pipeline.models,
    queue: () => ({ pending: pipeline.asr.queue.pending, busy: pipeline.asr.queue.busy, lanes: pipeline.asr.queue.lanesOpen }),
    sessions: () => gateway.size,
    dataDir: fromRoot(config.DATA_DIR),
  });
  // Delivery outcomes are reported, not judged: a receiver that is down does not make the server degraded.
  status.register('notifications', () => ({ ok: true, ...notifier.status() }));

  const server: Server = createHttpsServer(
    // A peer that opens TCP and never completes the handshake is dropped after this long.
    // The header deadline is checked every HEADER_CHECK_MS, not every 30 s (Node's default):
    // a slow-header peer is dropped soon after its deadline, not up to 30 s later.
    { cert: tls.cert, key: tls.key, handshakeTimeout: config.TLS_HANDSHAKE_TIMEOUT_MS, connectionsCheckingInterval: Math.min(HEADER_CHECK_MS, config.HEADERS_TIMEOUT_MS) },
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
    // A connection that proved who it is leaves the unproven connections' budget.
    const creds = signIn?.credentials(req, target) ?? null;
    if (!signIn || creds) budget.promote(req.socket as Socket);
    else {
      budget.requestStarted(req.socket as Socket);
      res.once('close', () => budget.answered(req.socket as Socket));
    }
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=15552000');
    if (path === '/healthz') {
      // No token, so no details: only `ok` or `degraded` (GET /api/status says why).
      status.health().then(
        (h) => sendPlain(res, 200, h),
        () => sendPlain(res, 200, 'degraded'),
      );
      return;
    }
    if (path === '/metrics') return serveMetrics(req, res, target);
    // The OpenAI-compatible API checks the same token itself (as the API key).
    if (path.startsWith('/v1/')) return openAiApi(req, res, target);
    if (path.startsWith('/api/')) {
      const admission = tokenGate?.check(clientIp(req), presentedToken(req, target), req) ?? 'ok';
      if (admission === 'rate_limited') return sendPlain(res, 429, 'too many failed attempts; try again in a minute');
      if (admission === 'unauthorized') return sendPlain(res, 401, 'unauthorized');
      if (signIn && !signIn.sameOrigin(req, creds)) return sendPlain(res, 403, 'cross-site request refused');
      // The access log: every read, export, edit and delete of stored data that succeeded.
      const audited = auditActionOf(req.method ?? 'GET', path);
      if (audited) {
        res.once('finish', () => {
          if (res.statusCode >= 400) return;
          void audit.record({ ...audited, session: creds?.via === 'cookie' ? sessionHash(creds.sid) : null, via: creds?.via ?? null, ip: clientIp(req) });
        });
      }
      if (path === '/api/audit') return answerAudit(audit, req, res, target);
      if (path === '/api/session' && signIn) {
        if (req.method === 'DELETE') return signIn.signOut(req, res);
        if (req.method !== 'GET') return sendPlain(res, 405, 'method not allowed');
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        return void res.end(JSON.stringify(signIn.describe(req, target)));
      }
      if (path === '/api/info' && req.method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ models: pipeline.models, sessions: gateway.size, maxSessions: config.MAX_SESSIONS }));
        return;
      }
      if (path === '/api/search') {
        handleSearch(search, req, res, target).catch((err: Error) => {
          log.error(`search error: ${err.message}`);
          if (!res.headersSent) sendPlain(res, 500, 'internal error');
        });
        return;
      }
      if (path === '/api/notifications' && req.method === 'GET') {
        // Delivery state of the notifications (GET /api/status includes the same object as `notifications`).
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ notifications: notifier.status(), targets: notifier.describe() }));
        return;
      }
      if (path === '/api/status' && req.method === 'GET') {
        status.report().then(
          (report) => {
            res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
            res.end(JSON.stringify(report));
          },
          () => sendPlain(res, 500, 'internal error'),
        );
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
    // The link's token becomes a session cookie, and the address loses the token.
    if (signIn?.exchange(req, res, target)) return;
    serveStatic(req, res, path).then(
      (handled) => handled || sendPlain(res, 405, 'method not allowed'),
      () => sendPlain(res, 500, 'internal error'),
    );
  }

  // GET /metrics: METRICS_TOKEN when set (then only it), else the access token; never open.
  const serveMetrics = createMetricsEndpoint(metrics, config.METRICS_TOKEN ? new TokenGate(config.METRICS_TOKEN) : tokenGate, log);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node stops listening for this socket's errors at the upgrade: an unheard reset would throw.
    socket.on('error', () => socket.destroy());
    try {
      if (!signIn || signIn.credentials(req)) budget.promote(socket as Socket);
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
  server.headersTimeout = config.HEADERS_TIMEOUT_MS;
  // No whole-request deadline: a 2 GB upload takes minutes. Headers still have HEADERS_TIMEOUT_MS, no other
  // route reads a body, and uploads are dropped after 60 s without data (api-transcriptions.ts).
  server.requestTimeout = 0;
  // A connection that sends nothing (no request, or nothing after one) is dropped after this
  // long; an accepted WebSocket clears it (ws sets its own socket timeout to 0) and is watched
  // by the gateway's idle timer instead.
  server.timeout = config.IDLE_TIMEOUT_MS;
  // MAX_CONNECTIONS and PENDING_CONNECTIONS are kept by the budget (conn-budget.ts), which
  // makes room by dropping the oldest connection that has not signed in.
  let evictedSinceLog = 0;
  let evictionLogAt = 0;
  const budget = new ConnectionBudget({
    maxPending: Math.min(config.PENDING_CONNECTIONS, config.MAX_CONNECTIONS),
    maxTotal: config.MAX_CONNECTIONS,
    onEvict: () => {
      evictedSinceLog++;
      const now = Date.now();
      if (now - evictionLogAt < 10_000) return;
      log.warn(`connection budget full: dropped ${evictedSinceLog} connection(s) that had not signed in (oldest first)`);
      evictedSinceLog = 0;
      evictionLogAt = now;
    },
  });
  // Rotation (`npm run token -- --rotate`) ends every session: cookies stop verifying at once,
  // and open WebSocket sessions are closed (4401) within a second of the file changing.
  let tokenWatch: NodeJS.Timeout | null = null;
  if (tokenSource?.file) {
    tokenSource.file.onChange = () => {
      const n = gateway.closeSessions(4401, 'access token replaced');
      log.warn(`access token replaced: every sign-in session ended${n > 0 ? `, ${n} open session(s) closed` : ''}`);
    };
    tokenWatch = setInterval(() => tokenSource.current(), 1000);
    tokenWatch.unref();
  }
  server.on('connection', (socket: Socket) => budget.admit(socket));
  server.on('secureConnection', (socket: Socket) => budget.secured(socket));

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', fail);
      ok();
    });
  });
  liveParts = { sessions: () => gateway.size, conversations: () => conversations.size, jobs: () => fileJobs.counts() };
  const port = (server.address() as AddressInfo).port;
  const host = ['0.0.0.0', '::'].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  log.info(`models: asr=${pipeline.models.asr ?? 'none (diarization only)'} speaker=${pipeline.models.speaker} vad=${pipeline.models.vad}`);

  let closed: Promise<void> | null = null;
  return {
    url: `https://${host}:${port}/`,
    port,
    get token() {
      return signIn?.token ?? '';
    },
    sessions: () => gateway.size,
    connections: () => ({ total: budget.size, pending: budget.pendingSize, evicted: budget.evicted }),
    engine: () => pipeline.asr.status(),
    models: pipeline.models,
    frontPool: pipeline.frontPool,
    status,
    store,
    uploadDir,
    search: { service: search, ready: searchReady },
    async reloadTls() {
      const next = await loadOrCreateTls(fromRoot(config.TLS_CERT), fromRoot(config.TLS_KEY));
      server.setSecureContext({ cert: next.cert, key: next.key });
      log.info('TLS certificate reloaded');
    },
    close() {
      closed ??= (async () => {
        clearInterval(daily);
        await search.close();
        if (tokenWatch) clearInterval(tokenWatch);
        notifier.close();
        await gateway.close();
        await conversations.close();
        await fileJobs.close();
        await notes.service?.close();
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections();
        await stopped;
        await pipeline.close();
        // The access log's last entries (e.g. the closing requests') are written before close resolves.
        await audit.flush();
        await rm(uploadDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/**
 * What a session's connection hears when the front worker holding its front and room dies:
 * one coded error, then a close (1011); the conversation is suspended as on any drop, so the
 * client may resume it (on another worker). Once, however many of its parts report it.
 */
function frontCrashReport(conn: Pick<Connection, 'send' | 'close'>): () => void {
  let told = false;
  return () => {
    if (told) return;
    told = true;
    conn.send({ type: 'error', code: 'front_crashed', message: 'the speech front of this session stopped; reconnect to resume the conversation' });
    conn.close(1011, 'front_crashed');
  };
}
