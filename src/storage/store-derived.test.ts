/** Files derived from a conversation's records (the search index's): fingerprint, read, write. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFs } from './fs.js';
import { ConversationStore } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function storeWithOne(): Promise<{ store: ConversationStore; id: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'duet-derived-'));
  dirs.push(dir);
  const store = new ConversationStore(dir);
  await store.init();
  const meta = await store.createFinished({
    language: 'en',
    models: { asr: 'a', speaker: 's', vad: 'v' },
    speakers: [{ id: 0, name: null }, { id: 1, name: null }],
    title: 'T',
    endedAt: new Date(),
    audioS: 1,
    segments: [{ segment_id: 0, speaker_id: 0, start: 0, end: 1, text: 'hello' }],
  });
  return { store, id: meta.id };
}

describe('derived files', () => {
  it('fingerprints the records: every append, correction, rename and compaction changes it', async () => {
    const { store, id } = await storeWithOne();
    const seen = new Set<string>();
    const take = async () => {
      const f = await store.fingerprint(id);
      expect(f).not.toBeNull();
      expect(seen.has(f!)).toBe(false);
      seen.add(f!);
    };
    await take();
    expect(await store.fingerprint(id)).toBe([...seen][0]);
    await store.append(id, { k: 'segment', segment_id: 1, speaker_id: 1, start: 1, end: 2, similarity: [0.1, 0.9] });
    await take();
    await store.correct(id, { op: 'edit', segment_id: 0, text: 'hullo' });
    await take();
    await store.patch(id, { title: 'U' });
    await take();
    // Same size, new content: the rename gives a new inode and time.
    await store.patch(id, { title: 'V' });
    await take();
    expect(await store.compactCorrections(id)).toBe(true);
    await take();
    // A derived file is not part of the fingerprint.
    const before = await store.fingerprint(id);
    expect(await store.writeDerived(id, 'search.json', '{}')).toBe(true);
    expect(await store.fingerprint(id)).toBe(before);
    expect(await store.fingerprint('0000000000000000')).toBeNull();
    expect(await store.fingerprint('../../etc')).toBeNull();
  });

  it('reads and writes only derived names, never the records themselves, nor outside the folder', async () => {
    const { store, id } = await storeWithOne();
    for (const name of ['meta.json', 'speakers.json', 'events.jsonl', '../x.json', 'a/b.json', '.json', 'X.json', 'search.json.tmp']) {
      expect(await store.writeDerived(id, name, '{}'), name).toBe(false);
      expect(await store.readDerived(id, name), name).toBeNull();
    }
    expect(await store.readDerived(id, 'search.json')).toBeNull();
    expect(await store.writeDerived(id, 'search.json', '{"a":1}')).toBe(true);
    expect(await store.readDerived(id, 'search.json')).toBe('{"a":1}');
    expect((await store.get(id))!.title).toBe('T');
    await store.delete(id);
    expect(await store.readDerived(id, 'search.json')).toBeNull();
    expect(await store.writeDerived(id, 'search.json', '{}')).toBe(false);
  });

  it('has no fingerprint on a file layer that cannot stat (every start then rebuilds)', async () => {
    const { store, id } = await storeWithOne();
    const { stat: _stat, ...noStat } = nodeFs;
    const plain = new ConversationStore(store.dataDir, noStat);
    expect(await plain.fingerprint(id)).toBeNull();
  });
});
