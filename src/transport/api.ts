/**
 * The HTTP API over stored conversations and saved voices (the caller has checked the token):
 *
 *   GET    /api/conversations                       list, newest first
 *   GET    /api/conversations/:id                   the record with its segments
 *   GET    /api/conversations/:id/export?format=    txt | srt | vtt | json (a download)
 *   PATCH  /api/conversations/:id                   {title?, speakers?: [{id, name}]}
 *   DELETE /api/conversations/:id
 *   GET    /api/voices, GET|DELETE /api/voices/:id
 *   …/:id/segments/:segment_id[/split|/merge], …/:id/undo   corrections (api-corrections.ts)
 *   GET    /api/conversations/:id?original=true     the engine's segments, uncorrected
 *
 * A malformed id is 400, an unknown one 404. Every answer carries the security headers.
 */
import type { RequestTarget } from './request-target.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Conversations } from '../session/conversations.js';
import { EXPORT_FORMATS, EXPORT_TYPES, exportConversation, type ExportFormat } from '../storage/exports.js';
import { isId } from '../storage/ids.js';
import type { ConversationStore } from '../storage/store.js';
import { sendPlain, SECURITY_HEADERS } from './static.js';
import { handleCorrection } from './api-corrections.js';

/** Largest PATCH body read. */
const MAX_BODY_BYTES = 16 * 1024;

const Patch = z
  .object({
    title: z.string().max(200).nullable().optional(),
    speakers: z
      .array(z.object({ id: z.union([z.literal(0), z.literal(1)]), name: z.string().max(40).nullable() }).strict())
      .max(2)
      .optional(),
  })
  .strict();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendPlain(res, 405, 'method not allowed');
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyError(413, `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** File name of an export: `conversation-2026-03-01-0900.srt`. */
function exportName(startedAt: string, format: ExportFormat): string {
  const stamp = startedAt.slice(0, 16).replace('T', '-').replace(':', '');
  return `conversation-${stamp.replace(/[^0-9-]/g, '')}.${format}`;
}

export interface ApiOptions {
  store: ConversationStore;
  conversations: Conversations;
  /** The conversation's notes, added to its JSON export (absent when notes are off). */
  notesFor?: (id: string) => Promise<unknown[]>;
  /** Told when a conversation is deleted (a note being written of it stops). */
  onDeleted?: (id: string) => void;
}

/** Returns a handler that answers `/api/conversations…` and `/api/voices…`; false = not its path. */
export function createApiHandler({ store, conversations, notesFor, onDeleted }: ApiOptions) {
  return async (req: IncomingMessage, res: ServerResponse, url: RequestTarget): Promise<boolean> => {
    const parts = url.pathname.split('/').filter((p) => p !== '').slice(1); // drop "api"
    const method = req.method ?? 'GET';
    const [collection, id, sub, ...rest] = parts;
    if (collection !== 'conversations' && collection !== 'voices') return false;
    if (collection === 'conversations' && id !== undefined && (sub === 'segments' || sub === 'undo')) {
      if (!isId(id)) sendPlain(res, 400, 'malformed id');
      else await handleCorrection(store, req, res, url, id, sub, rest);
      return true;
    }
    if (rest.length > 0 || (sub !== undefined && (collection !== 'conversations' || sub !== 'export'))) {
      sendPlain(res, 404, 'not found');
      return true;
    }
    if (id !== undefined && !isId(id)) {
      sendPlain(res, 400, 'malformed id');
      return true;
    }

    if (collection === 'voices') {
      if (id === undefined) {
        if (method !== 'GET') notAllowed(res, 'GET');
        else sendJson(res, 200, await store.listVoices());
        return true;
      }
      if (method === 'GET') {
        const v = await store.getVoice(id);
        if (!v) sendPlain(res, 404, 'no such voice');
        else sendJson(res, 200, { id: v.id, name: v.name, created_at: v.created_at, encoder: v.encoder });
      } else if (method === 'DELETE') {
        if (await store.deleteVoice(id)) sendJson(res, 200, { deleted: id });
        else sendPlain(res, 404, 'no such voice');
      } else notAllowed(res, 'GET, DELETE');
      return true;
    }

    if (id === undefined) {
      if (method !== 'GET') notAllowed(res, 'GET');
      else sendJson(res, 200, await store.list());
      return true;
    }
    if (sub === 'export') {
      if (method !== 'GET') {
        notAllowed(res, 'GET');
        return true;
      }
      const format = url.searchParams.get('format') ?? 'txt';
      if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
        sendPlain(res, 400, `format must be one of ${EXPORT_FORMATS.join(', ')}`);
        return true;
      }
      const rec = await store.get(id);
      if (!rec) {
        sendPlain(res, 404, 'no such conversation');
        return true;
      }
      const f = format as ExportFormat;
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': EXPORT_TYPES[f],
        'Content-Disposition': `attachment; filename="${exportName(rec.started_at, f)}"`,
        'Cache-Control': 'no-store',
      });
      if (f === 'json' && notesFor) res.end(JSON.stringify({ ...rec, notes: await notesFor(id) }, null, 2) + '\n');
      else res.end(exportConversation(rec, f));
      return true;
    }
    if (method === 'GET') {
      const rec = await store.get(id, { original: url.searchParams.get('original') === 'true' });
      if (!rec) sendPlain(res, 404, 'no such conversation');
      else sendJson(res, 200, rec);
    } else if (method === 'PATCH') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        sendPlain(res, err instanceof BodyError ? err.status : 400, err instanceof BodyError ? err.message : 'the body must be JSON');
        return true;
      }
      const parsed = Patch.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        sendPlain(res, 400, `invalid body: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
        return true;
      }
      const p = parsed.data;
      const updated = await store.patch(id, {
        ...(p.title !== undefined ? { title: p.title === null || p.title.trim() === '' ? null : p.title.trim() } : {}),
        ...(p.speakers ? { speakers: p.speakers.map((s) => ({ id: s.id, name: s.name === null || s.name.trim() === '' ? null : s.name.trim() })) } : {}),
      });
      if (!updated) sendPlain(res, 404, 'no such conversation');
      else sendJson(res, 200, await store.get(id));
    } else if (method === 'DELETE') {
      conversations.forget(id);
      onDeleted?.(id);
      if (await store.delete(id)) sendJson(res, 200, { deleted: id });
      else sendPlain(res, 404, 'no such conversation');
    } else notAllowed(res, 'GET, PATCH, DELETE');
    return true;
  };
}
