import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationStore, type StoreChange } from './store.js';

const models = { asr: 'fake', speaker: 'enc', vad: 'silero-v4' };
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-corr-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function finished(store: ConversationStore) {
  return store.createFinished({
    language: 'en',
    models,
    speakers: [{ id: 0, name: 'Kim' }, { id: 1, name: 'Lee' }],
    title: 't',
    endedAt: new Date('2026-03-01T10:00:00Z'),
    audioS: 10,
    segments: [
      { segment_id: 0, speaker_id: 0, start: 0, end: 2, text: 'Hello Anna.' },
      { segment_id: 1, speaker_id: 1, start: 3, end: 5, text: 'Hi there.' },
    ],
  });
}

describe('ConversationStore corrections', () => {
  it('appends each correction as its own record, tells watchers, and survives a torn last edit', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const meta = await finished(store);
    const changes: StoreChange[] = [];
    store.watch((c) => changes.push(c));
    const r = await store.correct(meta.id, { op: 'edit', segment_id: 0, text: 'Hello Hanna.', revision: 2 });
    expect(r).toEqual({ ok: true, removed: [], segments: [expect.objectContaining({ segment_id: 0, text: 'Hello Hanna.', revision: 3, corrected: true })] });
    expect(changes).toEqual([{ kind: 'changed', id: meta.id }]);
    const events = join(store.dirOf(meta.id), 'events.jsonl');
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ k: 'correction', op: 'edit', segment_id: 0 });
    // kill -9 in the middle of the next edit: half a line.
    appendFileSync(events, '{"k":"correction","op":"delete","segm');
    const again = new ConversationStore(store.dataDir);
    expect(await again.init()).toEqual({ repaired: 1, ended: 0 });
    const rec = (await again.get(meta.id))!;
    expect(rec.segments.map((s) => s.text)).toEqual(['Hello Hanna.', 'Hi there.']);
    expect((await again.get(meta.id, { original: true }))!.segments.map((s) => s.text)).toEqual(['Hello Anna.', 'Hi there.']);
    expect((await again.list())[0]!.preview).toBe('Hello Hanna. Hi there.');
  });

  it('refuses edits to a deleted conversation (null) and tells watchers of the delete', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const meta = await finished(store);
    const changes: StoreChange[] = [];
    store.watch((c) => changes.push(c));
    expect(await store.delete(meta.id)).toBe(true);
    expect(await store.correct(meta.id, { op: 'delete', segment_id: 0 })).toBeNull();
    expect(changes).toEqual([{ kind: 'deleted', id: meta.id }]);
  });

  it('10,000 edits: loads, compacts on load without losing an edit, and loads fast afterwards', async () => {
    const store = new ConversationStore(tmp());
    await store.init();
    const meta = await finished(store);
    const events = join(store.dirOf(meta.id), 'events.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) lines.push(JSON.stringify({ k: 'correction', op: 'edit', segment_id: i % 2, text: `edit ${i}`, at: '2026-03-01T10:00:00Z' }));
    appendFileSync(events, lines.join('\n') + '\n');
    const first = (await store.get(meta.id))!;
    expect(first.segments.map((s) => s.text)).toEqual(['edit 9998', 'edit 9999']);
    // The load scheduled a compaction on the conversation's write chain; the next write waits for it.
    await store.compactCorrections(meta.id);
    expect(readFileSync(events, 'utf8').trim().split('\n').length).toBeLessThan(10);
    const second = (await store.get(meta.id))!;
    expect(second.segments).toEqual(first.segments);
    expect((await store.get(meta.id, { original: true }))!.segments.map((s) => s.text)).toEqual(['Hello Anna.', 'Hi there.']);
    const r = await store.correct(meta.id, { op: 'edit', segment_id: 1, text: 'after', revision: first.segments[1]!.revision });
    expect(r).toMatchObject({ ok: true, segments: [{ text: 'after' }] });
  });
});
