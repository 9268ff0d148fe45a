import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptedFs } from '../storage/encrypted-fs.js';
import { nodeFs } from '../storage/fs.js';
import { newId } from '../storage/ids.js';
import { dataKey } from '../storage/record-codec.js';
import { ConversationStore } from '../storage/store.js';
import { ConversationGoneError, NoteStore, type StoredNote } from './note-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-notes-'));
  dirs.push(d);
  return d;
}

const models = { asr: null, speaker: 'enc', vad: 'v' };
function note(conversationId: string, summary: string): StoredNote {
  return {
    version: 1,
    id: newId(),
    conversation_id: conversationId,
    status: 'done',
    template: 'clinical',
    template_label: 'Clinical',
    created_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    engine: { kind: 'local', model: 'test' },
    parts: 1,
    error: { code: 'none', message: summary },
  };
}

describe('NoteStore', () => {
  it('writes owner-only records through the store, deleted with the conversation', async () => {
    const dataDir = tmp();
    const store = new ConversationStore(dataDir, nodeFs);
    await store.init();
    const meta = await store.create({ language: 'en', models, speakers: [] });
    const notes = new NoteStore(store);
    const n = note(meta.id, 'the patient reported headaches');
    await notes.write(n);
    expect(await notes.read(meta.id, n.id)).toEqual(n);
    const dir = join(store.dirOf(meta.id), 'notes');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, `${n.id}.json`)).mode & 0o777).toBe(0o600);
    await store.delete(meta.id);
    expect(await notes.list(meta.id)).toEqual([]);
    await expect(notes.write(note(meta.id, 'late'))).rejects.toBeInstanceOf(ConversationGoneError);
  });

  it('is sealed on disk under encryption at rest, and reads back with the key', async () => {
    const dataDir = tmp();
    const fs = encryptedFs(nodeFs, { dataDir, key: dataKey(randomBytes(32)) });
    const store = new ConversationStore(dataDir, fs);
    await store.init();
    const meta = await store.create({ language: 'en', models, speakers: [] });
    const notes = new NoteStore(store);
    const n = note(meta.id, 'the patient reported headaches');
    await notes.write(n);
    const dir = join(store.dirOf(meta.id), 'notes');
    const onDisk = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    expect(onDisk).not.toContain('headaches');
    expect(onDisk).not.toContain('clinical');
    expect((await notes.list(meta.id)).map((x) => x.id)).toEqual([n.id]);
    expect((await notes.read(meta.id, n.id))?.error?.message).toBe('the patient reported headaches');
  });
});
