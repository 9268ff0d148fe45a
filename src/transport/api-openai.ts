/**
 * The OpenAI-compatible transcription API, so existing clients and SDKs can use this server
 * unchanged (base URL `https://host:port/v1`, API key = the access token):
 *
 * - `POST /v1/audio/transcriptions` — multipart/form-data (`file`, `model`, `language`,
 *   `prompt`, `response_format`, `timestamp_granularities[]`, `known_speaker_names[]`,
 *   `known_speaker_references[]`, `store`). The file runs through the same file pipeline as
 *   `/api/transcriptions` (fair queue, limits, bad-file handling) and is kept as a conversation
 *   unless `store=false`; the answer comes when the job is done, on the same connection.
 * - `GET /v1/models`, `GET /v1/models/:id` — what is loaded.
 *
 * Errors are `{error: {message, type, param, code}}` as OpenAI answers them. The caller
 * (server.ts) has already checked the token. docs/integrations.md lists every field and code.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import busboy from 'busboy';
import type { FileJobs, JobRequest, JobView } from '../files/jobs.js';
import { probeDurationS } from '../files/probe.js';
import type { SavedVoicesResult } from '../files/voices.js';
import type { Logger } from '../log.js';
import { errorBody, formatTranscription, isResponseFormat, RESPONSE_FORMATS, type ResponseFormat } from '../openai/formats.js';
import type { RequestTarget } from './request-target.js';
import { SECURITY_HEADERS } from './static.js';
import { clientIp, presentedToken, type TokenGate } from './auth.js';

export interface OpenAiApiOptions {
  jobs: FileJobs;
  /** Where uploads are written (a private folder). */
  uploadDir: string;
  /** Largest file accepted, bytes (MAX_UPLOAD_MB). */
  maxUploadBytes: number;
  /** Longest recording accepted, seconds, judged from the file's header before decoding (MAX_FILE_S). */
  maxFileS: number;
  /** The model ids a request may name (the loaded recognition model and its aliases). */
  models(): readonly string[];
  /** Whether text is recognised at all (false: diarization only, every text is ''). */
  withText: boolean;
  /** Resolves two saved voice ids (`id1,id2`) to profiles; absent: known speakers are refused. */
  voices?(value: string): Promise<SavedVoicesResult>;
  /** Saved voices as listed (id and name), for `known_speaker_names[]` given without references. */
  listVoices?(): Promise<Array<{ id: string; name: string }>>;
  /** Whether the `notify=email` field can be honoured (e-mail configured). */
  canEmail?(): boolean;
  /** A multipart body that sends nothing for this long is dropped. Default 60 s. */
  idleTimeoutMs?: number;
  log?: Logger;
}

/** Bytes a multipart body may carry beyond the file itself (boundaries, part headers, fields). */
const MULTIPART_SLACK_BYTES = 256 * 1024;
/** Bounds of the text fields. */
const MAX_FIELDS = 64;
const MAX_FIELD_BYTES = 16 * 1024;
const MAX_PROMPT_CHARS = 4096;
const MAX_SPEAKER_NAME_CHARS = 100;
const LANGUAGE = /^(auto|[a-z]{2,3}(-[A-Za-z]{2,4})?)$/;
/** When the model list was made (OpenAI's `created`, unix seconds): the server's start. */
const STARTED_S = Math.floor(Date.now() / 1000);

/** The labels OpenAI gives speakers it does not know: A, B. */
const DEFAULT_LABELS: readonly [string, string] = ['A', 'B'];

/** HTTP status of each failed job's code. */
function jobErrorStatus(code: string): number {
  // The server's own faults (no decoder, a bug) are 5xx; everything else is about the file.
  if (code === 'internal' || code === 'decoder_missing') return 500;
  if (code === 'aborted') return 503;
  return 400;
}

function sendJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

/** An OpenAI-shaped error answer. */
export function sendOpenAiError(res: ServerResponse, status: number, code: string, message: string, param: string | null = null, extra: Record<string, string> = {}): void {
  sendJson(res, status, errorBody(status, code, message, param), extra);
}

/** Answers and stops reading the rest of a body that will not be used; the connection then closes. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, param: string | null = null): void {
  sendOpenAiError(res, status, code, message, param, { Connection: 'close' });
  res.on('finish', () => req.socket.destroySoon?.());
  req.unpipe?.();
  req.pause();
}

/** What the multipart body held, once read. */
interface Received {
  fields: Map<string, string[]>;
  file: { path: string; bytes: number; name: string } | null;
}

type ReadOutcome = { ok: true; got: Received } | { ok: false; status: number; code: string; message: string; param?: string };

/**
 * Reads the multipart body: the one `file` part streamed to a private file (bounded by
 * `maxUploadBytes`), the text fields into memory (bounded in count and size). Never throws;
 * whatever fails, no file is left behind.
 */
function readMultipart(req: IncomingMessage, opts: OpenAiApiOptions, idleMs: number): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    const fields = new Map<string, string[]>();
    let filePath: string | null = null;
    let fileName = '';
    let bytes = 0;
    let out: WriteStream | null = null;
    let fileParts = 0;
    let settled = false;
    let parser: busboy.Busboy;
    const socket = req.socket;
    const cleanupFile = async () => {
      out?.destroy();
      if (filePath) await rm(filePath, { force: true }).catch(() => undefined);
    };
    const onIdle = () => fail(408, 'timeout', 'the upload stalled (no data for a minute)');
    const detach = () => {
      socket.setTimeout(0);
      socket.off('timeout', onIdle);
    };
    function fail(status: number, code: string, message: string, param?: string): void {
      if (settled) return;
      settled = true;
      detach();
      req.unpipe(parser);
      void cleanupFile().then(() => resolve({ ok: false, status, code, message, ...(param ? { param } : {}) }));
    }
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fileSize: opts.maxUploadBytes, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 1, fieldNameSize: 200 },
      });
    } catch {
      resolve({ ok: false, status: 415, code: 'unsupported_media_type', message: 'send the request as multipart/form-data with a boundary' });
      return;
    }
    socket.setTimeout(idleMs);
    socket.on('timeout', onIdle);
    let fileWritten: Promise<boolean> = Promise.resolve(true);
    parser.on('file', (name, stream, info) => {
      fileParts++;
      if (settled || name !== 'file') {
        stream.resume();
        if (name !== 'file') fail(400, 'unexpected_file', `a file was sent in the field "${name.slice(0, 50)}"; send the recording as "file"`, name.slice(0, 50));
        return;
      }
      fileName = (info.filename ?? 'recording').slice(0, 200);
      filePath = join(opts.uploadDir, `${randomUUID()}.upload`);
      const sink = createWriteStream(filePath, { flags: 'wx', mode: 0o600 });
      out = sink;
      fileWritten = new Promise((done) => {
        sink.on('error', () => {
          done(false);
          // Writes after the upload was given up (the sink destroyed) are not a disk fault.
          if (settled) return;
          // A disk that refuses the upload ends it at once (busboy would otherwise wait on the pipe).
          opts.log?.error('could not write an upload to disk');
          fail(500, 'internal', 'the upload could not be stored');
        });
        sink.on('finish', () => done(true));
      });
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      stream.on('limit', () => fail(413, 'file_too_large', `files are limited to ${Math.floor(opts.maxUploadBytes / 1048576)} MB (MAX_UPLOAD_MB)`, 'file'));
      stream.pipe(sink);
    });
    parser.on('field', (name, value, info) => {
      if (settled) return;
      if (name === 'file') return fail(400, 'missing_file', 'the field "file" must be a file part (with a filename), not text', 'file');
      if (info.valueTruncated || info.nameTruncated) return fail(400, 'field_too_large', `the field "${name.slice(0, 50)}" is longer than ${MAX_FIELD_BYTES} bytes`, name.slice(0, 50));
      const list = fields.get(name) ?? [];
      list.push(value);
      fields.set(name, list);
    });
    parser.on('filesLimit', () => fail(400, 'too_many_files', 'send exactly one file (in the field "file")', 'file'));
    parser.on('fieldsLimit', () => fail(400, 'too_many_fields', `at most ${MAX_FIELDS} fields`));
    parser.on('partsLimit', () => fail(400, 'too_many_fields', `at most ${MAX_FIELDS} fields`));
    parser.on('error', () => fail(400, 'bad_multipart', 'the multipart/form-data body is malformed'));
    parser.on('close', () => {
      if (settled) return;
      void fileWritten.then((written) => {
        if (settled) return;
        if (!written) {
          opts.log?.error('could not write an upload to disk');
          return fail(500, 'internal', 'the upload could not be stored');
        }
        if (fileParts > 1) return fail(400, 'too_many_files', 'send exactly one file (in the field "file")', 'file');
        settled = true;
        detach();
        resolve({ ok: true, got: { fields, file: filePath ? { path: filePath, bytes, name: fileName } : null } });
      });
    });
    req.on('aborted', () => fail(400, 'aborted', 'the upload was cut off'));
    req.on('error', () => fail(400, 'aborted', 'the upload was cut off'));
    req.pipe(parser);
  });
}

/** The request's choices, once its fields are checked. */
interface Choices {
  format: ResponseFormat;
  language: string;
  store: boolean;
  labels: readonly [string, string];
  /** Saved voice ids to attribute with (speaker 0, speaker 1). */
  voiceIds: [string, string] | null;
  /** E-mail the transcript when done (a Duet field, `notify=email`). */
  notifyEmail: boolean;
}

type Checked = { ok: true; choices: Choices } | { ok: false; status: number; code: string; message: string; param: string };

/** One value of a field (the last when sent twice), or the default. */
function one(fields: Map<string, string[]>, name: string): string | undefined {
  const list = fields.get(name);
  return list ? list[list.length - 1] : undefined;
}

/** Array fields arrive as `name[]` (OpenAI's SDKs) or repeated `name`. */
function many(fields: Map<string, string[]>, name: string): string[] {
  return [...(fields.get(`${name}[]`) ?? []), ...(fields.get(name) ?? [])];
}

async function checkFields(fields: Map<string, string[]>, opts: OpenAiApiOptions): Promise<Checked> {
  const bad = (code: string, message: string, param: string): Checked => ({ ok: false, status: 400, code, message, param });
  const model = one(fields, 'model');
  const models = opts.models();
  if (model === undefined || model.trim() === '') return bad('missing_model', `name a model; loaded: ${models.join(', ')}`, 'model');
  if (!models.includes(model)) return { ok: false, status: 404, code: 'model_not_found', message: `the model "${model.slice(0, 100)}" is not loaded here; loaded: ${models.join(', ')}`, param: 'model' };
  const format = one(fields, 'response_format') ?? 'json';
  if (!isResponseFormat(format)) return bad('unsupported_response_format', `response_format must be one of ${RESPONSE_FORMATS.join(', ')}`, 'response_format');
  const language = one(fields, 'language') ?? 'auto';
  if (!LANGUAGE.test(language)) return bad('invalid_language', 'language must be an ISO-639-1 code such as en, or auto', 'language');
  const prompt = one(fields, 'prompt');
  if (prompt !== undefined && prompt.length > MAX_PROMPT_CHARS) return bad('prompt_too_long', `prompt is limited to ${MAX_PROMPT_CHARS} characters`, 'prompt');
  const temperature = one(fields, 'temperature');
  if (temperature !== undefined && !(Number(temperature) >= 0 && Number(temperature) <= 1)) return bad('invalid_temperature', 'temperature must be a number between 0 and 1', 'temperature');
  for (const g of many(fields, 'timestamp_granularities')) {
    if (g === 'word') return bad('unsupported_granularity', 'word timestamps are not available on this server; use segment', 'timestamp_granularities');
    if (g !== 'segment') return bad('invalid_granularity', 'timestamp_granularities must be segment', 'timestamp_granularities');
  }
  const storeField = one(fields, 'store') ?? 'true';
  if (storeField !== 'true' && storeField !== 'false') return bad('invalid_store', 'store must be true or false', 'store');
  const notify = one(fields, 'notify');
  if (notify !== undefined && notify !== 'email') return bad('invalid_notify', 'notify must be email', 'notify');
  if (notify === 'email' && !opts.canEmail?.()) return bad('notify_unavailable', 'e-mail notifications are not configured on this server (SMTP_URL, NOTIFY_EMAIL)', 'notify');
  const stream = one(fields, 'stream');
  if (stream !== undefined && stream !== 'false') return bad('unsupported_stream', 'streaming answers are not available here; leave out stream (the answer comes when the file is done)', 'stream');

  const names = many(fields, 'known_speaker_names');
  const refs = many(fields, 'known_speaker_references');
  let labels = DEFAULT_LABELS;
  let voiceIds: [string, string] | null = null;
  if (names.length > 0 || refs.length > 0) {
    if (!opts.voices) return bad('voices_unsupported', 'saved voices are not available on this server', 'known_speaker_references');
    if (names.some((n) => n.trim() === '' || n.length > MAX_SPEAKER_NAME_CHARS)) return bad('invalid_speaker_name', `speaker names must be 1 to ${MAX_SPEAKER_NAME_CHARS} characters`, 'known_speaker_names');
    if (refs.length > 0) {
      if (refs.length !== 2) return bad('invalid_speaker_references', 'give two saved voice ids in known_speaker_references[] (speaker 1, speaker 2)', 'known_speaker_references');
      if (names.length !== 0 && names.length !== 2) return bad('invalid_speaker_names', 'give one name per reference in known_speaker_names[]', 'known_speaker_names');
      voiceIds = [refs[0]!.trim(), refs[1]!.trim()];
    } else {
      if (names.length !== 2) return bad('invalid_speaker_names', 'give the names of two saved voices in known_speaker_names[] (or their ids in known_speaker_references[])', 'known_speaker_names');
      const saved = (await opts.listVoices?.()) ?? [];
      const ids: string[] = [];
      for (const name of names) {
        const matches = saved.filter((v) => v.name.trim().toLowerCase() === name.trim().toLowerCase());
        if (matches.length !== 1) {
          return bad(matches.length === 0 ? 'unknown_voice' : 'ambiguous_voice', `${matches.length === 0 ? 'no' : 'more than one'} saved voice is named "${name.slice(0, MAX_SPEAKER_NAME_CHARS)}"; give its id in known_speaker_references[]`, 'known_speaker_names');
        }
        ids.push(matches[0]!.id);
      }
      voiceIds = [ids[0]!, ids[1]!];
    }
    if (names.length === 2) labels = [names[0]!.trim(), names[1]!.trim()];
  }
  return { ok: true, choices: { format, language, store: storeField === 'true', labels, voiceIds, notifyEmail: notify === 'email' } };
}

/**
 * The whole `/v1/` edge for server.ts: the token check (the access token as the API key, through
 * the shared gate: rate limit included; `null` = AUTH off), then the API, with any failure
 * answered in OpenAI's error shape. Never throws.
 */
export function createOpenAiEdge(opts: OpenAiApiOptions & { tokenGate: Pick<TokenGate, 'check'> | null }): (req: IncomingMessage, res: ServerResponse, url: RequestTarget) => void {
  const api = createOpenAiApi(opts);
  return (req, res, url) => {
    const admission = opts.tokenGate?.check(clientIp(req), presentedToken(req, url)) ?? 'ok';
    if (admission === 'rate_limited') return sendOpenAiError(res, 429, 'rate_limited', 'too many failed attempts; try again in a minute');
    if (admission === 'unauthorized') return sendOpenAiError(res, 401, 'invalid_api_key', 'the API key (access token) is missing or wrong');
    api(req, res, url).then(
      (handled) => handled || sendOpenAiError(res, 404, 'not_found', 'not found'),
      (err: Error) => {
        opts.log?.error(`v1 api error: ${err.message}`);
        if (!res.headersSent) sendOpenAiError(res, 500, 'internal', 'internal error');
        else res.destroy();
      },
    );
  };
}

/** Handles `/v1/...` requests; resolves false for other paths. */
export function createOpenAiApi(opts: OpenAiApiOptions): (req: IncomingMessage, res: ServerResponse, url: RequestTarget) => Promise<boolean> {
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  return async (req, res, url) => {
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (req.method !== 'GET') {
        sendOpenAiError(res, 405, 'method_not_allowed', 'use GET');
        return true;
      }
      const list = opts.models().map((id) => ({ id, object: 'model', created: STARTED_S, owned_by: 'duet' }));
      if (path === '/v1/models') {
        sendJson(res, 200, JSON.stringify({ object: 'list', data: list }));
        return true;
      }
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      const found = list.find((m) => m.id === id);
      if (found) sendJson(res, 200, JSON.stringify(found));
      else sendOpenAiError(res, 404, 'model_not_found', `the model "${id.slice(0, 100)}" is not loaded here; loaded: ${opts.models().join(', ')}`, 'model');
      return true;
    }
    if (path === '/v1/audio/transcriptions') {
      if (req.method !== 'POST') {
        sendOpenAiError(res, 405, 'method_not_allowed', 'POST a multipart/form-data body with the file');
        return true;
      }
      await transcribe(req, res, opts, idleMs);
      return true;
    }
    if (path.startsWith('/v1/')) {
      sendOpenAiError(res, 404, 'not_found', `this server offers /v1/audio/transcriptions and /v1/models only`);
      return true;
    }
    return false;
  };
}

async function transcribe(req: IncomingMessage, res: ServerResponse, opts: OpenAiApiOptions, idleMs: number): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(type)) {
    return refuse(req, res, 415, 'unsupported_media_type', `send the request as multipart/form-data (got ${JSON.stringify(type.slice(0, 60))})`);
  }
  const declared = req.headers['content-length'];
  const limitMb = Math.floor(opts.maxUploadBytes / 1048576);
  if (declared !== undefined && Number(declared) > opts.maxUploadBytes + MULTIPART_SLACK_BYTES) {
    return refuse(req, res, 413, 'file_too_large', `files are limited to ${limitMb} MB (MAX_UPLOAD_MB)`, 'file');
  }
  if (!opts.jobs.hasRoom()) return refuse(req, res, 503, 'busy', 'too many transcriptions are queued; try again later');
  const read = await readMultipart(req, opts, idleMs);
  // A body given up half-read cannot leave the connection usable: every refusal closes it.
  if (!read.ok) return refuse(req, res, read.status, read.code, read.message, read.param ?? null);
  const { fields, file } = read.got;
  const discard = () => (file ? rm(file.path, { force: true }).catch(() => undefined) : Promise.resolve());
  if (!file) return sendOpenAiError(res, 400, 'missing_file', 'no file: send the recording in the multipart field "file"', 'file');
  if (file.bytes === 0) {
    await discard();
    return sendOpenAiError(res, 400, 'empty_file', 'the file is empty (0 bytes)', 'file');
  }
  const checked = await checkFields(fields, opts);
  if (!checked.ok) {
    await discard();
    return sendOpenAiError(res, checked.status, checked.code, checked.message, checked.param);
  }
  const { choices } = checked;
  const announcedS = await probeDurationS(file.path);
  if (announcedS !== null && announcedS > opts.maxFileS) {
    await discard();
    return sendOpenAiError(res, 400, 'audio_too_long', `the recording lasts ${Math.round(announcedS / 60)} min; files are limited to ${Math.round(opts.maxFileS / 60)} min (MAX_FILE_S = ${opts.maxFileS} s)`, 'file');
  }
  let profiles: JobRequest['profiles'];
  let voices: JobRequest['voices'];
  if (choices.voiceIds && opts.voices) {
    const found = await opts.voices(choices.voiceIds.join(','));
    if (!found.ok) {
      await discard();
      return sendOpenAiError(res, 400, found.code, found.message, 'known_speaker_references');
    }
    profiles = found.profiles;
    voices = found.voices;
  }
  const labels: readonly [string, string] = voices && choices.labels === DEFAULT_LABELS ? [voices[0].name, voices[1].name] : choices.labels;
  const view = opts.jobs.create({
    filePath: file.path,
    title: file.name,
    language: choices.language,
    speakers: 2,
    store: choices.store,
    ...(choices.notifyEmail ? { notify: 'email' as const } : {}),
    ...(profiles ? { profiles, voices } : {}),
  });
  if (!view) return sendOpenAiError(res, 503, 'busy', 'too many transcriptions are queued; try again later');
  // The answer waits for the job: no idle cut-off meanwhile, and TCP keepalive so that a NAT or
  // tunnel between does not forget a connection that is silent for an hour.
  req.socket.setTimeout(0);
  req.socket.setKeepAlive(true, 30_000);
  // A client that leaves before the answer: a kept result still lands in the store (it shows in
  // the history); one that would not be kept is of use to nobody, so its job is cancelled.
  const onGone = () => {
    if (!res.writableEnded && !choices.store) opts.jobs.cancel(view.id);
  };
  res.on('close', onGone);
  const done: JobView | null = await opts.jobs.settled(view.id);
  res.off('close', onGone);
  const result = opts.jobs.result(view.id);
  // The job's result stays in memory only until it is answered.
  opts.jobs.cancel(view.id);
  if (!done) return sendOpenAiError(res, 503, 'cancelled', 'the transcription was cancelled (the server is shutting down)');
  if (done.status === 'failed' || !result) {
    const error = done.error ?? { code: 'internal', message: 'processing failed' };
    return sendOpenAiError(res, jobErrorStatus(error.code), error.code, error.message, error.code === 'internal' ? null : 'file');
  }
  const body = formatTranscription({ conversation: result.conversation, labels, language: choices.language, withText: opts.withText }, choices.format);
  const extra: Record<string, string> = {};
  if (choices.store && done.conversation_id) extra['X-Duet-Conversation-Id'] = done.conversation_id;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': body.contentType, 'Cache-Control': 'no-store', ...extra });
  res.end(body.text);
}

/** Model id of diarization-only mode (no recognition model loaded: every text is ''). */
export const DIARIZE_ONLY_MODEL = 'duet-diarize';

/**
 * The model ids a request may name: with a recognition model, `whisper-1` (what OpenAI's
 * clients send by default) and the configured model's own name (ASR_MODEL, e.g. `base`); without
 * one, `duet-diarize` only.
 */
export function openAiModelIds(asrLoaded: boolean, asrModel: string): string[] {
  if (!asrLoaded) return [DIARIZE_ONLY_MODEL];
  const name = asrModel.trim();
  return name && name !== 'none' && name !== 'whisper-1' ? ['whisper-1', name] : ['whisper-1'];
}
