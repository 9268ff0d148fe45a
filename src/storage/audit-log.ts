/**
 * The access log: who read, exported, edited or deleted which conversation, used which saved
 * voice, signed in or out, and when. One JSON line per event in `<DATA_DIR>/audit.jsonl`
 * (owner-only, appended); entries older than AUDIT_RETENTION_DAYS are removed at start and
 * daily. An entry never holds content (no text, no names, no titles) and never the token or
 * cookie: only the time, the action, the ids, a one-way hash of the sign-in session and the
 * client's address.
 */
import { open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { openPrivate, writePrivateFile } from './private-fs.js';

export const AUDIT_FILE = 'audit.jsonl';

export const AUDIT_ACTIONS = [
  'list',
  'read',
  'export',
  'edit',
  'delete',
  'voice_read',
  'voice_delete',
  'voice_use',
  'sign_in',
  'sign_in_failed',
  'sign_out',
  'audit_read',
  'search',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One line of the access log (what `GET /api/audit` returns). */
export interface AuditEntry {
  /** ISO 8601. */
  t: string;
  action: AuditAction;
  conversation_id: string | null;
  voice_id: string | null;
  /** 12 hex digits naming the sign-in session (cookie), one-way; null for a token or no sign-in. */
  session: string | null;
  /** How the request proved itself: cookie, bearer, query (the link's token), or null. */
  via: 'cookie' | 'bearer' | 'query' | null;
  /** The client's address (the socket's peer; 127.0.0.1 behind the tunnel), or null when not known. */
  ip: string | null;
}

const Entry = z.object({
  t: z.string().max(40),
  action: z.enum(AUDIT_ACTIONS),
  conversation_id: z.string().max(64).nullable(),
  voice_id: z.string().max(64).nullable(),
  session: z.string().max(64).nullable(),
  via: z.enum(['cookie', 'bearer', 'query']).nullable(),
  ip: z.string().max(64).nullable(),
});

/** Parses one line; null for a line that is not an entry (torn or foreign). Total. */
export function parseAuditLine(line: string): AuditEntry | null {
  if (line.length > 4096) return null;
  try {
    const r = Entry.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/**
 * The action a stored-data request is, from its method and path (before it is answered);
 * null for requests that touch no stored conversation or voice. Routes added under
 * `/api/conversations/:id/…` (corrections, notes) count as reads (GET) or edits (others).
 */
export function auditActionOf(method: string, pathname: string): { action: AuditAction; conversation_id: string | null; voice_id: string | null } | null {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'api') return null;
  const [, collection, id, sub] = parts;
  const m = method.toUpperCase();
  if (collection === 'conversations') {
    if (id === undefined) return m === 'GET' ? { action: 'list', conversation_id: null, voice_id: null } : null;
    const cid = id.slice(0, 64);
    if (sub === 'export') return m === 'GET' ? { action: 'export', conversation_id: cid, voice_id: null } : null;
    if (m === 'GET' || m === 'HEAD') return { action: 'read', conversation_id: cid, voice_id: null };
    if (m === 'DELETE' && sub === undefined) return { action: 'delete', conversation_id: cid, voice_id: null };
    return { action: 'edit', conversation_id: cid, voice_id: null };
  }
  if (collection === 'voices' && id !== undefined) {
    if (m === 'GET') return { action: 'voice_read', conversation_id: null, voice_id: id.slice(0, 64) };
    if (m === 'DELETE') return { action: 'voice_delete', conversation_id: null, voice_id: id.slice(0, 64) };
  }
  if (collection === 'audit' && m === 'GET') return { action: 'audit_read', conversation_id: null, voice_id: null };
  // A search answers snippets of every conversation's text: who searched is logged, never the query.
  if (collection === 'search' && m === 'GET') return { action: 'search', conversation_id: null, voice_id: null };
  return null;
}

/** Bytes read from the end of the log to answer a query (the newest entries). */
const TAIL_BYTES = 4 * 1024 * 1024;

export class AuditLog {
  readonly path: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly onError: (err: Error) => void = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.path = join(dataDir, AUDIT_FILE);
  }

  /** Resolves when every entry recorded so far is written (or has failed and been reported). */
  async flush(): Promise<void> {
    await this.chain;
  }

  /** Appends one entry (in order, after those before it); a failure is reported, never thrown. */
  record(e: Omit<AuditEntry, 't' | 'conversation_id' | 'voice_id' | 'session' | 'via' | 'ip'> & Partial<AuditEntry>): Promise<void> {
    const entry: AuditEntry = {
      t: this.now().toISOString(),
      action: e.action,
      conversation_id: e.conversation_id ?? null,
      voice_id: e.voice_id ?? null,
      session: e.session ?? null,
      via: e.via ?? null,
      ip: e.ip ?? null,
    };
    const line = JSON.stringify(entry) + '\n';
    const run = this.chain.then(async () => {
      const fh = await openPrivate(this.path, 'a');
      try {
        await fh.writeFile(line, 'utf8');
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
    this.chain = run.catch((err: Error) => this.onError(err));
    return this.chain as Promise<void>;
  }

  /** The newest entries first, at most `limit`, optionally only those of one conversation. */
  async query(opts: { limit: number; conversationId?: string }): Promise<AuditEntry[]> {
    await this.chain;
    let text: string;
    try {
      const size = (await stat(this.path)).size;
      const start = Math.max(0, size - TAIL_BYTES);
      const fh = await open(this.path, 'r');
      try {
        const buf = Buffer.alloc(size - start);
        await fh.read(buf, 0, buf.length, start);
        text = buf.toString('utf8');
      } finally {
        await fh.close();
      }
      // A cut first line (when only the tail was read) is not an entry.
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: AuditEntry[] = [];
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < opts.limit; i--) {
      const e = parseAuditLine(lines[i]!);
      if (e && (opts.conversationId === undefined || e.conversation_id === opts.conversationId)) out.push(e);
    }
    return out;
  }

  /** Removes entries older than `days` days (0 keeps all); returns how many were removed. */
  prune(days: number): Promise<number> {
    if (days <= 0) return Promise.resolve(0);
    const run = this.chain.then(async () => {
      const cutoff = this.now().getTime() - days * 86_400_000;
      let text: string;
      try {
        const fh = await open(this.path, 'r');
        try {
          text = await fh.readFile('utf8');
        } finally {
          await fh.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
      const kept: string[] = [];
      let removed = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const e = parseAuditLine(line);
        if (e && Date.parse(e.t) >= cutoff) kept.push(line);
        else removed++;
      }
      if (removed === 0) return 0;
      const tmp = `${this.path}.tmp`;
      await writePrivateFile(tmp, kept.length ? kept.join('\n') + '\n' : '');
      await rename(tmp, this.path);
      return removed;
    });
    this.chain = run.catch((err: Error) => this.onError(err));
    return run;
  }
}
