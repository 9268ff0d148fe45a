/**
 * Corrections of a stored transcript over HTTP (the caller has checked the token):
 *
 *   PATCH  /api/conversations/:id/segments/:segment_id         {text?, speaker_id?: 0|1|null, revision?}
 *   DELETE /api/conversations/:id/segments/:segment_id         {revision?} (or ?revision=)
 *   POST   /api/conversations/:id/segments/:segment_id/split   {at: UTF-16 offset in the text, revision?}
 *   POST   /api/conversations/:id/segments/:segment_id/merge   {revision?} (with the next segment)
 *   POST   /api/conversations/:id/undo                         {} (cancels the latest correction)
 *
 * Every answer is JSON: 200 `{segments, removed}` (the changed segments as they are now, and the
 * ids no longer shown), or `{error: {code, message}}` with 400 / 404 / 409 / 413.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { MAX_SEGMENT_TEXT, type CorrectionRequest } from '../storage/corrections.js';
import type { ConversationStore } from '../storage/store.js';
import type { RequestTarget } from './request-target.js';
import { SECURITY_HEADERS } from './static.js';

/** Largest body read: a segment's text at most, in UTF-8, with room for the JSON around it. */
const MAX_BODY_BYTES = 4 * MAX_SEGMENT_TEXT + 1024;
/** Segment ids are non-negative integers below 2^53; ten digits hold every id this server makes. */
const SEGMENT_ID = /^(0|[1-9][0-9]{0,15})$/;

const revision = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional();
const speaker = z.union([z.literal(0), z.literal(1), z.null()]);
const EditBody = z
  .object({ text: z.string().max(MAX_SEGMENT_TEXT * 2).optional(), speaker_id: speaker.optional(), revision })
  .strict()
  .refine((b) => b.text !== undefined || b.speaker_id !== undefined, { message: 'give text or speaker_id' });
const RevisionBody = z.object({ revision }).strict();
const SplitBody = z.object({ at: z.number().int().min(0).max(1_000_000), revision }).strict();
const UndoBody = z.object({}).strict();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, code: string, message: string, allow?: string): void {
  if (allow) res.setHeader('Allow', allow);
  // The rest of an oversized body is not read: close the connection after the answer.
  if (status === 413) res.setHeader('Connection', 'close');
  sendJson(res, status, { error: { code, message } });
}

/** The body as JSON (an empty body is `{}`), or a coded refusal for a large or malformed one. */
async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; status: number; code: string; message: string }> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return { ok: false, status: 413, code: 'body_too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, code: 'body_too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, status: 400, code: 'bad_json', message: 'the body must be JSON' };
  }
}

/**
 * Handles `sub` = `segments` or `undo` under a conversation whose id is well formed; resolves
 * once answered.
 */
export async function handleCorrection(store: ConversationStore, req: IncomingMessage, res: ServerResponse, url: RequestTarget, id: string, sub: string, rest: readonly string[]): Promise<void> {
  const method = req.method ?? 'GET';
  let request: CorrectionRequest;
  if (sub === 'undo') {
    if (rest.length > 0) return sendError(res, 404, 'not_found', 'not found');
    if (method !== 'POST') return sendError(res, 405, 'method_not_allowed', 'POST here', 'POST');
    const body = await readJson(req);
    if (!body.ok) return sendError(res, body.status, body.code, body.message);
    const parsed = UndoBody.safeParse(body.value);
    if (!parsed.success) return sendError(res, 400, 'invalid_body', 'undo takes an empty body');
    request = { op: 'undo' };
  } else {
    const [segmentText, action, ...more] = rest;
    if (segmentText === undefined || more.length > 0 || (action !== undefined && action !== 'split' && action !== 'merge')) return sendError(res, 404, 'not_found', 'not found');
    if (!SEGMENT_ID.test(segmentText) || !Number.isSafeInteger(Number(segmentText))) return sendError(res, 400, 'malformed_segment_id', 'a segment id is a non-negative integer');
    const segmentId = Number(segmentText);
    const allow = action === undefined ? 'PATCH, DELETE' : 'POST';
    const allowed = action === undefined ? method === 'PATCH' || method === 'DELETE' : method === 'POST';
    if (!allowed) return sendError(res, 405, 'method_not_allowed', `use ${allow}`, allow);
    const body = await readJson(req);
    if (!body.ok) return sendError(res, body.status, body.code, body.message);
    const invalid = (error: z.ZodError) => {
      const issue = error.issues[0];
      sendError(res, 400, 'invalid_body', `invalid body: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    };
    if (action === 'split') {
      const p = SplitBody.safeParse(body.value);
      if (!p.success) return invalid(p.error);
      request = { op: 'split', segment_id: segmentId, at: p.data.at, ...(p.data.revision !== undefined ? { revision: p.data.revision } : {}) };
    } else if (action === 'merge' || method === 'DELETE') {
      const p = RevisionBody.safeParse(body.value);
      if (!p.success) return invalid(p.error);
      let rev = p.data.revision;
      const q = url.searchParams.get('revision');
      if (rev === undefined && q !== null) {
        if (!/^[0-9]{1,15}$/.test(q)) return sendError(res, 400, 'invalid_body', 'revision must be a non-negative integer');
        rev = Number(q);
      }
      request = { op: action === 'merge' ? 'merge' : 'delete', segment_id: segmentId, ...(rev !== undefined ? { revision: rev } : {}) };
    } else {
      const p = EditBody.safeParse(body.value);
      if (!p.success) return invalid(p.error);
      request = {
        op: 'edit',
        segment_id: segmentId,
        ...(p.data.text !== undefined ? { text: p.data.text } : {}),
        ...(p.data.speaker_id !== undefined ? { speaker_id: p.data.speaker_id } : {}),
        ...(p.data.revision !== undefined ? { revision: p.data.revision } : {}),
      };
    }
  }
  const result = await store.correct(id, request);
  if (result === null) return sendError(res, 404, 'no_such_conversation', 'no such conversation');
  if (!result.ok) return sendError(res, result.error.status, result.error.code, result.error.message);
  sendJson(res, 200, { segments: result.segments, removed: result.removed });
}
