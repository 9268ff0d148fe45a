import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFs, type StorageFs } from './fs.js';
import { ID_PATTERN, isId, newId } from './ids.js';
import { ConversationStore, parseEvents } from './store.js';

const models = { asr: null, speaker: 'enc', vad: 'silero-v4' };
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const seg = (id: number, start: number, end: number) => ({ k: 'segment' as const, segment_id: id, speaker_id: 0 as const, start, end, similarity: [0.9, 0.1] as [number, number] });
const tx = (id: number, text: string, start: number, end: number) => ({ k: 'transcription' as const, segment_id: id, speaker_id: 0 as const, text, timestamp: new Date().toISOString(), start, end });

describe('ids', () => {
  it('are 128-bit base64url, distinct, and validated', () => {
    const a = newId();
    expect(a).toMatch(ID_PATTERN);
    expect(newId()).not.toBe(a);
    expect(isId('../../etc/passwd')).toBe(false);
    expect(isId('a'.repeat(23))).toBe(false);
  });
});

describe('ConversationStore', () => {
  it('stores a finished conversation at once (a transcribed file): listed, ended, with its texts', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const endedAt = new Date('2026-03-01T10:00:00Z');
    const meta = await store.createFinished({
      language: 'ko',
      models,
      speakers: [{ id: 0, name: null }, { id: 1, name: 'Ben', voice_id: newId() }],
      startedAt: new Date('2026-03-01T09:59:00Z'),
      title: 'interview.m4a',
      endedAt,
      audioS: 61.5,
      segments: [
        { segment_id: 0, speaker_id: 0, start: 0.5, end: 2, text: 'hello' },
        { segment_id: 1, speaker_id: 1, start: 2.5, end: 4, text: null },
      ],
    });
    const rec = await store.get(meta.id);
    expect(rec).toMatchObject({ title: 'interview.m4a', language: 'ko', ended_at: endedAt.toISOString(), audio_s: 61.5, duration_s: 61.5 });
    expect(rec!.segments).toEqual([
      { segment_id: 0, speaker_id: 0, start: 0.5, end: 2, text: 'hello', revision: 2 },
      { segment_id: 1, speaker_id: 1, start: 2.5, end: 4, text: null, revision: 2 },
    ]);
    expect((await store.list()).map((c) => [c.id, c.segments, c.preview])).toEqual([[meta.id, 2, 'hello']]);
    // A restart does not take it for an interrupted live conversation.
    expect(await new ConversationStore(store.dataDir).init()).toEqual({ repaired: 0, ended: 0 });
  });

  it('writes a conversation and reads it back with its segments', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const meta = await store.create({ language: 'en', models, speakers: [{ id: 0, name: 'Kim' }, { id: 1, name: null }] });
    await store.append(meta.id, seg(0, 0.5, 1.5));
    await store.append(meta.id, seg(1, 2, 3));
    await store.append(meta.id, tx(0, 'hello there', 0.5, 1.5));
    const rec = (await store.get(meta.id))!;
    expect(rec.segments).toEqual([
      { segment_id: 0, speaker_id: 0, start: 0.5, end: 1.5, text: 'hello there', revision: 2 },
      { segment_id: 1, speaker_id: 0, start: 2, end: 3, text: null, revision: 1 },
    ]);
    expect(rec.duration_s).toBe(3);
    expect(rec).not.toHaveProperty('version');
    const list = await store.list();
    expect(list).toEqual([expect.objectContaining({ id: meta.id, segments: 2, preview: 'hello there', ended_at: null })]);
  });

  it('ignores a torn last record and truncates it at startup; the next run appends cleanly', async () => {
    const dir = tmp();
    const store = new ConversationStore(dir);
    await store.init();
    const meta = await store.create({ language: 'en', models, speakers: [] });
    await store.append(meta.id, seg(0, 0, 1));
    const events = join(store.dirOf(meta.id), 'events.jsonl');
    const good = statSync(events).size;
    appendFileSync(events, '{"k":"segment","segment_id":1,"speaker_id":0,"sta'); // kill -9 mid-write
    expect((await store.get(meta.id))!.segments.map((s) => s.segment_id)).toEqual([0]);

    const restarted = new ConversationStore(dir);
    expect(await restarted.init()).toEqual({ repaired: 1, ended: 1 });
    expect(statSync(events).size).toBe(good);
    const rec = (await restarted.get(meta.id))!;
    expect(rec.ended_at).not.toBeNull();
    await restarted.append(meta.id, seg(1, 1, 2));
    expect(parseEvents(readFileSync(events, 'utf8'))).toMatchObject({ torn: false, records: [{ segment_id: 0 }, { segment_id: 1 }] });
  });

  it('a garbled last line (complete but unparsable) is dropped too, never fatal', () => {
    const text = `${JSON.stringify(seg(0, 0, 1))}\n{"k":"seg\u0000\n`;
    const p = parseEvents(text);
    expect(p.records).toHaveLength(1);
    expect(p.torn).toBe(true);
    expect(p.goodBytes).toBe(Buffer.byteLength(JSON.stringify(seg(0, 0, 1)) + '\n'));
  });

  it('reports a full disk as a rejected write and keeps working when space returns', async () => {
    let full = false;
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const fs: StorageFs = {
      ...nodeFs,
      append: (p, d) => (full ? Promise.reject(enospc()) : nodeFs.append(p, d)),
      writeAtomic: (p, d) => (full ? Promise.reject(enospc()) : nodeFs.writeAtomic(p, d)),
    };
    const store = new ConversationStore(tmp(), fs);
    await store.init();
    const meta = await store.create({ language: 'en', models, speakers: [] });
    full = true;
    await expect(store.append(meta.id, seg(0, 0, 1))).rejects.toMatchObject({ code: 'ENOSPC' });
    full = false;
    await store.append(meta.id, seg(1, 1, 2));
    expect((await store.get(meta.id))!.segments.map((s) => s.segment_id)).toEqual([1]);
  });

  it('renames speakers and sets a title with PATCH; deletes; lists newest first', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const old = await store.create({ language: 'en', models, speakers: [{ id: 0, name: 'A' }], startedAt: new Date('2026-01-01T10:00:00Z') });
    const recent = await store.create({ language: 'ko', models, speakers: [], startedAt: new Date('2026-02-01T10:00:00Z') });
    expect((await store.list()).map((c) => c.id)).toEqual([recent.id, old.id]);
    const patched = await store.patch(old.id, { title: 'Session 1', speakers: [{ id: 0, name: 'Dr. Kim' }, { id: 1, name: 'Lee' }] });
    expect(patched).toMatchObject({ title: 'Session 1', speakers: [{ id: 0, name: 'Dr. Kim' }, { id: 1, name: 'Lee' }] });
    expect(await store.patch(newId(), { title: 'x' })).toBeNull();
    expect(await store.delete(old.id)).toBe(true);
    expect(existsSync(store.dirOf(old.id))).toBe(false);
    expect(await store.delete(old.id)).toBe(false);
    expect(await store.get(old.id)).toBeNull();
    await store.append(old.id, seg(0, 0, 1)); // a late write of a deleted conversation is dropped
    expect(existsSync(store.dirOf(old.id))).toBe(false);
  });

  it('retention deletes only ended conversations older than RETENTION_DAYS', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const now = new Date('2026-03-01T00:00:00Z');
    const ended = async (iso: string) => {
      const m = await store.create({ language: 'en', models, speakers: [], startedAt: new Date(iso) });
      await store.updateMeta(m.id, (x) => ({ ...x, ended_at: iso }));
      return m.id;
    };
    const old = await ended('2026-02-01T00:00:00Z');
    const fresh = await ended('2026-02-27T00:00:00Z');
    const open = (await store.create({ language: 'en', models, speakers: [], startedAt: new Date('2026-01-01T00:00:00Z') })).id;
    expect(await store.sweep(0, now)).toBe(0);
    expect(await store.sweep(7, now)).toBe(1);
    const left = (await store.list()).map((c) => c.id).sort();
    expect(left).toEqual([fresh, open].sort());
    expect(left).not.toContain(old);
  });

  it('saves, lists and deletes voices; a deleted voice is gone from disk', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const v = await store.saveVoice({ name: 'Dr. Kim', encoder: 'enc', profile: { mean: [0.1, 0.2] } });
    expect(v).toEqual({ id: expect.stringMatching(ID_PATTERN), name: 'Dr. Kim', created_at: expect.any(String), encoder: 'enc' });
    expect(await store.listVoices()).toEqual([v]);
    expect((await store.getVoice(v.id))!.profile).toEqual({ mean: [0.1, 0.2] });
    const file = join(store.voicesDir, `${v.id}.json`);
    expect(existsSync(file)).toBe(true);
    expect(await store.deleteVoice(v.id)).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(await store.deleteVoice(v.id)).toBe(false);
    writeFileSync(join(store.voicesDir, 'junk.json'), '{');
    expect(await store.listVoices()).toEqual([]);
  });
});
