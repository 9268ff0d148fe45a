/**
 * `/api/transcriptions`: upload a recording, follow its processing, export or cancel it.
 *
 * - `POST /api/transcriptions?language=ko&speakers=1|2&voices=id1,id2&title=…` with the file as
 *   the request body → `202 {id}`. `voices` (two saved voice ids) attributes as live instead of
 *   clustering; an unknown or incompatible voice is refused (400) before the body is read. The body is streamed to disk, never held in memory. A declared length
 *   over `MAX_UPLOAD_MB` is refused with 413 before any of it is read; an undeclared one
 *   (chunked) is cut off with 413 as soon as it passes the limit. A client that disconnects
 *   mid-upload leaves nothing: the partial file is deleted.
 * - `GET /api/transcriptions/:id` → `{id, status: queued|running|done|failed, progress, eta_s,
 *   error?, conversation_id?, …}`.
 * - `GET /api/transcriptions/:id/export?format=txt|srt|vtt|json` → the result (409 until done):
 *   the stored conversation's export when the server keeps results in its store.
 * - `DELETE /api/transcriptions/:id` → cancels (or forgets a finished job); 204.
 *
 * The caller (server.ts) has already checked the token; answers carry the security headers.
 */
import type { RequestTarget } from './request-target.js';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EXPORT_FORMATS, EXPORT_MIME, exportConversation, type ExportFormat } from '../files/export.js';
import type { FileJobs, JobRequest } from '../files/jobs.js';
import type { SavedVoicesResult } from '../files/voices.js';
import { EXPORT_TYPES as STORED_EXPORT_TYPES, exportConversation as exportStored } from '../storage/exports.js';
import type { ConversationRecord as StoredRecord } from '../storage/types.js';
import type { Logger } from '../log.js';
import { SECURITY_HEADERS } from './static.js';
import { probeDurationS } from '../files/probe.js';

export interface TranscriptionsApiOptions {
  jobs: FileJobs;
  /** Where uploads are written (a private folder). */
  uploadDir: string;
  maxUploadBytes: number;
  /** An upload that sends nothing for this long is dropped. Default 60 s. */
  idleTimeoutMs?: number;
  log?: Logger;
  /** Resolves `voices=id1,id2` to the two profiles; absent: the query is refused (`voices_unsupported`). */
  voices?(value: string): Promise<SavedVoicesResult>;
  /** The stored conversation of a finished job (for its export, with later renames); absent: the job's own result. */
  stored?(conversationId: string): Promise<StoredRecord | null>;
  /** Longest recording taken, seconds, judged from the file's header before decoding (MAX_FILE_S); absent: no limit. */
  maxFileS?: number;
  /** Whether `notify=email` can be honoured (e-mail configured); absent: it is refused. */
  canEmail?(): boolean;
}

const PREFIX = '/api/transcriptions';
const LANGUAGE = /^(auto|[a-z]{2,3}(-[A-Za-z]{2,4})?)$/;

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, extra);
}

/** Ends a request whose body will not be read: the answer, then the connection closes. */
function refuseUpload(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  sendError(res, status, code, message, { Connection: 'close' });
  // Stop reading what the client still sends; closing the socket after the answer is flushed.
  res.on('finish', () => req.socket.destroySoon?.());
  req.unpipe?.();
  req.pause();
}

/**
 * Handles the request when its path is under /api/transcriptions; resolves false otherwise.
 */
export function createTranscriptionsApi(opts: TranscriptionsApiOptions): (req: IncomingMessage, res: ServerResponse, url: RequestTarget) => Promise<boolean> {
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  return async (req, res, url) => {
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== PREFIX && !path.startsWith(PREFIX + '/')) return false;
    const rest = path.slice(PREFIX.length).split('/').filter(Boolean);

    if (rest.length === 0) {
      if (req.method !== 'POST') {
        sendError(res, 405, 'method_not_allowed', 'POST a file here');
        return true;
      }
      await upload(req, res, url, opts, idleMs);
      return true;
    }
    const id = rest[0]!;
    if (rest.length === 1 && req.method === 'GET') {
      const view = opts.jobs.get(id);
      if (!view) sendError(res, 404, 'not_found', 'no such transcription');
      else sendJson(res, 200, view);
      return true;
    }
    if (rest.length === 1 && req.method === 'DELETE') {
      if (opts.jobs.cancel(id)) {
        res.writeHead(204, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store' });
        res.end();
      } else sendError(res, 404, 'not_found', 'no such transcription');
      return true;
    }
    if (rest.length === 2 && rest[1] === 'export' && req.method === 'GET') {
      const format = (url.searchParams.get('format') ?? 'json') as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) {
        sendError(res, 400, 'bad_format', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
        return true;
      }
      const view = opts.jobs.get(id);
      const result = opts.jobs.result(id);
      if (!view) sendError(res, 404, 'not_found', 'no such transcription');
      else if (!result) sendError(res, 409, 'not_ready', `the transcription is ${view.status}`);
      else if (opts.stored && view.conversation_id) {
        // Kept in the store: export what is stored now (renamed title and speakers included).
        const rec = await opts.stored(view.conversation_id);
        if (!rec) sendError(res, 404, 'not_found', 'the conversation of this transcription was deleted');
        else {
          const name = ((rec.title ?? '').replace(/\.[^.]*$/, '') || 'transcript').replace(/[^\w.-]+/g, '_');
          res.writeHead(200, {
            ...SECURITY_HEADERS,
            'Content-Type': STORED_EXPORT_TYPES[format],
            'Cache-Control': 'no-store',
            'Content-Disposition': `attachment; filename="${name}.${format}"`,
          });
          res.end(exportStored(rec, format));
        }
      } else {
        const body = exportConversation(result.conversation, format);
        const name = (result.conversation.title.replace(/\.[^.]*$/, '') || 'transcript').replace(/[^\w.-]+/g, '_');
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': EXPORT_MIME[format],
          'Cache-Control': 'no-store',
          'Content-Disposition': `attachment; filename="${name}.${format}"`,
        });
        res.end(body);
      }
      return true;
    }
    sendError(res, 404, 'not_found', 'not found');
    return true;
  };
}

async function upload(req: IncomingMessage, res: ServerResponse, url: RequestTarget, opts: TranscriptionsApiOptions, idleMs: number): Promise<void> {
  const language = url.searchParams.get('language') ?? 'auto';
  const speakersParam = url.searchParams.get('speakers') ?? '2';
  if (!LANGUAGE.test(language)) return refuseUpload(req, res, 400, 'bad_language', 'language must be a code such as en, ko or auto');
  if (speakersParam !== '1' && speakersParam !== '2') return refuseUpload(req, res, 400, 'bad_speakers', 'speakers must be 1 or 2');
  const notify = url.searchParams.get('notify');
  if (notify !== null && notify !== 'email') return refuseUpload(req, res, 400, 'bad_notify', 'notify must be email');
  if (notify === 'email' && !opts.canEmail?.()) return refuseUpload(req, res, 400, 'notify_unavailable', 'e-mail notifications are not configured on this server (SMTP_URL, NOTIFY_EMAIL)');
  let profiles: JobRequest['profiles'];
  let voices: JobRequest['voices'];
  const voicesParam = url.searchParams.get('voices');
  if (voicesParam !== null) {
    if (!opts.voices) return refuseUpload(req, res, 400, 'voices_unsupported', 'saved voices are not available on this server; use speakers=2 (clustering)');
    if (speakersParam === '1') return refuseUpload(req, res, 400, 'bad_speakers', 'saved voices are for two speakers; leave out speakers=1');
    const found = await opts.voices(voicesParam);
    if (!found.ok) return refuseUpload(req, res, 400, found.code, found.message);
    profiles = found.profiles;
    voices = found.voices;
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > opts.maxUploadBytes) {
    return refuseUpload(req, res, 413, 'too_large', `uploads are limited to ${Math.floor(opts.maxUploadBytes / 1048576)} MB (MAX_UPLOAD_MB)`);
  }
  if (declared === '0') return refuseUpload(req, res, 400, 'empty_input', 'the file is empty (0 bytes)');
  if (!opts.jobs.hasRoom()) return refuseUpload(req, res, 503, 'busy', 'too many transcriptions are queued; try again later');
  const title = (url.searchParams.get('title') ?? 'recording').slice(0, 200);
  const file = join(opts.uploadDir, `${randomUUID()}.upload`);
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let received = 0;
  const outcome = await new Promise<'ok' | 'too_large' | 'aborted' | 'error'>((resolve) => {
    let done = false;
    const socket = req.socket;
    const onIdle = () => {
      finish('aborted');
      req.destroy();
    };
    const finish = (r: 'ok' | 'too_large' | 'aborted' | 'error') => {
      if (done) return;
      done = true;
      // A kept-alive socket serves later requests: no timer and no listener of this upload stay on it.
      socket.setTimeout(0);
      socket.off('timeout', onIdle);
      resolve(r);
    };
    socket.setTimeout(idleMs);
    socket.on('timeout', onIdle);
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      received += chunk.length;
      if (received > opts.maxUploadBytes) {
        finish('too_large');
        return;
      }
      if (!out.write(chunk)) {
        req.pause();
        out.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (done) return;
      out.end(() => finish('ok'));
    });
    req.on('aborted', () => finish('aborted'));
    req.on('close', () => {
      if (!req.complete) finish('aborted');
    });
    req.on('error', () => finish('aborted'));
    out.on('error', () => finish('error'));
  });
  if (outcome !== 'ok') {
    out.destroy();
    await rm(file, { force: true });
    if (outcome === 'too_large') {
      return refuseUpload(req, res, 413, 'too_large', `uploads are limited to ${Math.floor(opts.maxUploadBytes / 1048576)} MB (MAX_UPLOAD_MB)`);
    }
    if (outcome === 'error') {
      opts.log?.error('could not write an upload to disk');
      return sendError(res, 500, 'internal', 'the upload could not be stored');
    }
    return;
  }
  if (received === 0) {
    await rm(file, { force: true });
    return sendError(res, 400, 'empty_input', 'the file is empty (0 bytes)');
  }
  if (opts.maxFileS !== undefined) {
    const announcedS = await probeDurationS(file);
    if (announcedS !== null && announcedS > opts.maxFileS) {
      await rm(file, { force: true });
      return sendError(res, 400, 'too_long', `the recording lasts ${Math.round(announcedS / 60)} min; files are limited to ${Math.round(opts.maxFileS / 60)} min (MAX_FILE_S = ${opts.maxFileS} s)`);
    }
  }
  const view = opts.jobs.create({ filePath: file, title, language, speakers: Number(speakersParam) as 1 | 2, ...(profiles ? { profiles, voices } : {}), ...(notify === 'email' ? { notify: 'email' as const } : {}) });
  if (!view) return sendError(res, 503, 'busy', 'too many transcriptions are queued; try again later');
  sendJson(res, 202, { id: view.id });
}
