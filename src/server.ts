/**
 * Builds and starts the whole server: models, TLS, the HTTPS page, the WebSocket gateway.
 * `main.ts` calls this with the process configuration; tests call it with port 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { AsrEngine } from './asr/types.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { FileJobs } from './files/jobs.js';
import { fileStagesFrom } from './files/stages.js';
import { buildPipeline } from './session/pipeline.js';
import { Session } from './session/session.js';
import type { SpeakerEncoder } from './speaker/types.js';
import { clientIp, generateToken, presentedToken, TokenGate } from './transport/auth.js';
import { isSelfSigned, loadOrCreateTls } from './transport/certs.js';
import { Gateway } from './transport/gateway.js';
import { createTranscriptionsApi } from './transport/api-transcriptions.js';
import { createStaticHandler, sendPlain, SECURITY_HEADERS } from './transport/static.js';
import type { VadModel } from './vad/types.js';
import { fromRoot } from './paths.js';

/** Model overrides, for tests: any part not given is built from the configuration. */
export interface ServerDeps {
  vad?: VadModel;
  encoder?: SpeakerEncoder;
  /** `null` forces diarization-only mode. */
  asr?: AsrEngine | null;
  log?: Logger;
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
  /** The private folder holding uploaded recordings while they are processed. */
  uploadDir: string;
  close(): Promise<void>;
}

/** A hard cap far above MAX_FRAME_BYTES: frames between the two get a coded error and are dropped. */
const HARD_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** File transcription jobs kept at once (queued, running, finished). */
const MAX_FILE_JOBS = 32;

export async function startServer(config: Config, deps: ServerDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.LOG_LEVEL);
  const pipeline = await buildPipeline(config, deps, log);
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
  const fileJobs = new FileJobs({ stages: fileStagesFrom(pipeline, config), maxJobs: MAX_FILE_JOBS, tmpDir: uploadDir, log: log.child('files') });
  const transcriptionsApi = createTranscriptionsApi({
    jobs: fileJobs,
    uploadDir,
    maxUploadBytes: Math.round(config.MAX_UPLOAD_MB * 1024 * 1024),
    log: log.child('files'),
  });

  const gateway = new Gateway({
    tokenGate,
    allowedOrigins: config.ALLOWED_ORIGINS.split(',').filter((o) => o.trim().length > 0),
    maxSessions: config.MAX_SESSIONS,
    hardMaxPayloadBytes: HARD_MAX_PAYLOAD_BYTES,
    heartbeatMs: config.HEARTBEAT_MS,
    log: log.child('ws'),
    createSession: (conn) => new Session(conn, { config, pipeline, log: log.child('session') }),
  });

  const server: Server = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=15552000');
    if (path === '/healthz') return sendPlain(res, 200, 'ok');
    if (path.startsWith('/api/')) {
      const admission = tokenGate?.check(clientIp(req), presentedToken(req)) ?? 'ok';
      if (admission === 'rate_limited') return sendPlain(res, 429, 'too many failed attempts; try again in a minute');
      if (admission === 'unauthorized') return sendPlain(res, 401, 'unauthorized');
      if (path === '/api/info' && req.method === 'GET') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ models: pipeline.models, sessions: gateway.size, maxSessions: config.MAX_SESSIONS }));
        return;
      }
      if (path.startsWith('/api/transcriptions')) {
        transcriptionsApi(req, res).then(
          (handled) => handled || sendPlain(res, 404, 'not found'),
          () => sendPlain(res, 500, 'internal error'),
        );
        return;
      }
      return sendPlain(res, 404, 'not found');
    }
    serveStatic(req, res).then(
      (handled) => handled || sendPlain(res, 405, 'method not allowed'),
      () => sendPlain(res, 500, 'internal error'),
    );
  });
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.headersTimeout = 10_000;
  // No whole-request deadline: a 2 GB upload takes minutes. Headers still have 10 s, no other
  // route reads a body, and uploads are dropped after 60 s without data (api-transcriptions.ts).
  server.requestTimeout = 0;

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
    uploadDir,
    async reloadTls() {
      const next = await loadOrCreateTls(fromRoot(config.TLS_CERT), fromRoot(config.TLS_KEY));
      server.setSecureContext({ cert: next.cert, key: next.key });
      log.info('TLS certificate reloaded');
    },
    close() {
      closed ??= (async () => {
        await gateway.close();
        await fileJobs.close();
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
