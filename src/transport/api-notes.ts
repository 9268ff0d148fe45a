/**
 * The notes API (the caller has checked the token):
 *
 *   GET    /api/notes                                         engine status and templates
 *   POST   /api/conversations/:id/notes {template, instruction?}  → 202 the queued note
 *   GET    /api/conversations/:id/notes                       list, newest first
 *   GET    /api/conversations/:id/notes/:note_id              one note (progress and text so far while it runs)
 *   GET    /api/conversations/:id/notes/:note_id/export?format=md|json
 *   DELETE /api/conversations/:id/notes/:note_id              cancel a running note, or delete a finished one
 *
 * Errors are `{error: {code, message}}` JSON with the status: 400 bad body or unknown template,
 * 404 unknown conversation or note, 409 a note of that conversation is already running, 422
 * nothing to note, 429 queue full, 503 notes are off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { NotesService } from '../notes/service.js';
import { noteToMarkdown } from '../notes/markdown.js';
import { CUSTOM_TEMPLATE, MAX_CUSTOM_INSTRUCTION_CHARS, resolveTemplate, type NoteTemplate } from '../notes/templates.js';
import { isId } from '../storage/ids.js';
import type { ConversationStore } from '../storage/store.js';
import type { RequestTarget } from './request-target.js';
import { SECURITY_HEADERS } from './static.js';

const MAX_BODY_BYTES = 16 * 1024;

const StartBody = z
  .object({
    template: z.string().min(1).max(40),
    instruction: z.string().max(MAX_CUSTOM_INSTRUCTION_CHARS).optional(),
  })
  .strict();

/** What `GET /api/notes` says, also when notes are off (then with how to turn them on). */
export interface NotesStatus {
  enabled: boolean;
  engine: { kind: 'local' | 'remote'; model: string; leaves_machine: boolean; host?: string } | null;
  /** Why notes are off and how to turn them on; absent when enabled. */
  how_to_enable?: string;
  auto: boolean;
  sentiment: 'batch' | 'off';
  templates: Array<{ name: string; label: string; sections: string[] }>;
}

export interface NotesApiOptions {
  service: NotesService | null;
  store: ConversationStore;
  templates: ReadonlyMap<string, NoteTemplate>;
  status: NotesStatus;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { error: { code, message } });
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `/api/conversations/:id/notes[/:note_id[/export]]` or `/api/notes`; false = not a notes path. */
export function isNotesPath(pathname: string): boolean {
  return pathname === '/api/notes' || /^\/api\/conversations\/[^/]+\/notes(\/|$)/.test(pathname);
}

export function createNotesApi(o: NotesApiOptions) {
  return async (req: IncomingMessage, res: ServerResponse, url: RequestTarget): Promise<boolean> => {
    const method = req.method ?? 'GET';
    if (url.pathname === '/api/notes') {
      if (method !== 'GET') fail(res, 405, 'method_not_allowed', 'GET only');
      else send(res, 200, { ...o.status, templates: [...o.templates.values()].map((t) => ({ name: t.name, label: t.label, sections: t.sections })) });
      return true;
    }
    const [, , id, , noteId, tail, ...rest] = url.pathname.split('/').filter((p) => p !== '');
    if (!isNotesPath(url.pathname) || rest.length > 0 || (tail !== undefined && tail !== 'export')) return false;
    if (!id || !isId(id) || (noteId !== undefined && !isId(noteId))) {
      fail(res, 400, 'malformed_id', 'malformed id');
      return true;
    }
    const service = o.service;
    if (!service) {
      fail(res, 503, 'notes_off', o.status.how_to_enable ?? 'notes are off');
      return true;
    }
    if (noteId === undefined) {
      if (method === 'GET') {
        if (!(await o.store.get(id))) fail(res, 404, 'not_found', 'no such conversation');
        else send(res, 200, await service.list(id));
      } else if (method === 'POST') {
        const raw = await readBody(req);
        if (raw === null) return (fail(res, 413, 'too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`), true);
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          return (fail(res, 400, 'bad_request', 'the body must be JSON: {"template": "general"}'), true);
        }
        const parsed = StartBody.safeParse(body);
        if (!parsed.success) {
          const i = parsed.error.issues[0];
          return (fail(res, 400, 'bad_request', `invalid body: ${i?.path.join('.') || 'body'}: ${i?.message ?? 'invalid'}`), true);
        }
        const template = resolveTemplate(o.templates, parsed.data.template, parsed.data.instruction);
        if (!template) {
          const names = [...o.templates.keys(), CUSTOM_TEMPLATE].join(', ');
          const why = parsed.data.template === CUSTOM_TEMPLATE ? `template "${CUSTOM_TEMPLATE}" needs an instruction` : `unknown template "${parsed.data.template}"`;
          return (fail(res, 400, 'unknown_template', `${why}; templates: ${names}`), true);
        }
        const r = await service.start(id, template);
        if ('code' in r && !('id' in r)) {
          const status = { not_found: 404, busy: 409, queue_full: 429, empty: 422, closed: 503 }[r.code];
          fail(res, status, r.code, r.message);
        } else send(res, 202, r);
      } else fail(res, 405, 'method_not_allowed', 'GET, POST');
      return true;
    }
    if (tail === 'export') {
      if (method !== 'GET') return (fail(res, 405, 'method_not_allowed', 'GET only'), true);
      const format = url.searchParams.get('format') ?? 'md';
      if (format !== 'md' && format !== 'json') return (fail(res, 400, 'bad_format', 'format must be md or json'), true);
      const note = await service.notes.read(id, noteId);
      const rec = note ? await o.store.get(id) : null;
      if (!note || !rec) return (fail(res, 404, 'not_found', 'no such note'), true);
      if (note.status !== 'done') return (fail(res, 409, 'not_done', `the note is ${note.status}`), true);
      const stamp = rec.started_at.slice(0, 16).replace(/[^0-9]/g, '');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': format === 'md' ? 'text/markdown; charset=utf-8' : 'application/json; charset=utf-8',
        'Content-Disposition': `attachment; filename="note-${stamp}.${format}"`,
        'Cache-Control': 'no-store',
      });
      res.end(format === 'md' ? noteToMarkdown(note, rec.title) : JSON.stringify(note, null, 2) + '\n');
      return true;
    }
    if (method === 'GET') {
      const v = await service.get(id, noteId);
      if (!v) fail(res, 404, 'not_found', 'no such note');
      else send(res, 200, v);
    } else if (method === 'DELETE') {
      const r = await service.cancelOrDelete(id, noteId);
      if (!r) fail(res, 404, 'not_found', 'no such note');
      else send(res, 200, { [r]: noteId });
    } else fail(res, 405, 'method_not_allowed', 'GET, DELETE');
    return true;
  };
}
