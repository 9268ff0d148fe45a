/**
 * Notes on disk, beside their conversation: `conversations/<id>/notes/<note_id>.json`, one
 * JSON record per note (0600 in a 0700 folder), replaced atomically. Deleting the conversation
 * deletes its folder and so its notes. Every read and write goes through the conversation
 * store's file layer ({@link ConversationStore.files}), so notes are owner-only and, with
 * encryption at rest (DATA_KEY_FILE), sealed like every other record.
 *
 * A note is written `running` when it starts and replaced by `done` or `failed`; a record found
 * `running` at start-up belonged to a server that stopped mid-note and is rewritten as failed
 * (`interrupted`), so a half-made note is never taken for a finished one.
 */
import { join } from 'node:path';
import { isId } from '../storage/ids.js';
import type { StorageFs } from '../storage/fs.js';
import type { ConversationStore } from '../storage/store.js';
import type { NoteContent, SegmentSentiment } from './schema.js';

export type NoteStatus = 'queued' | 'running' | 'done' | 'failed';

export interface StoredNote {
  version: 1;
  id: string;
  conversation_id: string;
  status: NoteStatus;
  template: string;
  template_label: string;
  /** The request's own instruction (template `custom`). */
  instruction?: string;
  /** ISO 8601. */
  created_at: string;
  finished_at: string | null;
  engine: { kind: 'local' | 'remote'; model: string };
  /** Parts the transcript was split into (1 = it fit one request). */
  parts: number;
  content?: NoteContent;
  sentiments?: SegmentSentiment[];
  error?: { code: string; message: string };
}

/** Largest note record read, bytes. */
const MAX_NOTE_BYTES = 4 * 1024 * 1024;
/** Notes kept per conversation; the oldest are removed beyond it. */
export const MAX_NOTES_PER_CONVERSATION = 50;

export class ConversationGoneError extends Error {
  constructor() {
    super('the conversation was deleted');
  }
}

export class NoteStore {
  private readonly fs: StorageFs;

  constructor(private readonly store: ConversationStore) {
    this.fs = store.files;
  }

  private dir(conversationId: string): string {
    return join(this.store.dirOf(conversationId), 'notes');
  }

  /**
   * Writes a note record. When the conversation is gone (deleted, even while the note ran)
   * this throws {@link ConversationGoneError} and removes whatever the write left behind.
   */
  async write(note: StoredNote): Promise<void> {
    if (!isId(note.conversation_id) || !isId(note.id)) throw new Error('malformed id');
    if (!(await this.store.get(note.conversation_id))) throw new ConversationGoneError();
    const dir = this.dir(note.conversation_id);
    await this.fs.mkdir(dir);
    await this.fs.writeAtomic(join(dir, `${note.id}.json`), JSON.stringify(note));
    // Deleted in the meantime: the delete may have listed the folder before this file landed.
    if (!(await this.store.get(note.conversation_id))) {
      await this.fs.remove(this.store.dirOf(note.conversation_id)).catch(() => undefined);
      throw new ConversationGoneError();
    }
  }

  /** One note, or null (unknown, unreadable, or not this conversation's). */
  async read(conversationId: string, noteId: string): Promise<StoredNote | null> {
    if (!isId(conversationId) || !isId(noteId)) return null;
    try {
      const text = await this.fs.read(join(this.dir(conversationId), `${noteId}.json`));
      if (text === null || text.length > MAX_NOTE_BYTES) return null;
      const n = JSON.parse(text) as StoredNote;
      return n && n.version === 1 && n.id === noteId && n.conversation_id === conversationId ? n : null;
    } catch {
      return null;
    }
  }

  /** The conversation's notes, newest first. */
  async list(conversationId: string): Promise<StoredNote[]> {
    if (!isId(conversationId)) return [];
    const names = await this.fs.list(this.dir(conversationId)).catch(() => [] as string[]);
    const out: StoredNote[] = [];
    for (const f of names) {
      const id = f.endsWith('.json') ? f.slice(0, -5) : '';
      const n = isId(id) ? await this.read(conversationId, id) : null;
      if (n) out.push(n);
    }
    return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  }

  async remove(conversationId: string, noteId: string): Promise<boolean> {
    if (!(await this.read(conversationId, noteId))) return false;
    await this.fs.remove(join(this.dir(conversationId), `${noteId}.json`));
    return true;
  }

  /** Removes the oldest finished notes beyond {@link MAX_NOTES_PER_CONVERSATION}. */
  async prune(conversationId: string): Promise<void> {
    const all = await this.list(conversationId);
    for (const n of all.slice(MAX_NOTES_PER_CONVERSATION)) if (n.status === 'done' || n.status === 'failed') await this.remove(conversationId, n.id);
  }

  /** Rewrites every `running`/`queued` record as failed (`interrupted`); returns how many. Run at start-up. */
  async failInterrupted(now = new Date()): Promise<number> {
    let n = 0;
    for (const c of await this.store.list()) {
      for (const note of await this.list(c.id)) {
        if (note.status !== 'running' && note.status !== 'queued') continue;
        await this.write({ ...note, status: 'failed', finished_at: now.toISOString(), error: { code: 'interrupted', message: 'the server stopped while this note was being written' } }).catch(() => undefined);
        n++;
      }
    }
    return n;
  }
}
