import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationStore } from '../storage/store.js';
import { SearchService } from './service.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function storeWith(texts: string[]): Promise<{ store: ConversationStore; ids: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'duet-search-svc-'));
  dirs.push(dir);
  const store = new ConversationStore(dir);
  await store.init();
  const ids: string[] = [];
  for (const text of texts) {
    const meta = await store.createFinished({
      language: 'en',
      models: { asr: 'a', speaker: 's', vad: 'v' },
      speakers: [{ id: 0, name: null }, { id: 1, name: null }],
      title: 't',
      endedAt: new Date(),
      audioS: 1,
      segments: [{ segment_id: 0, speaker_id: 0, start: 0, end: 1, text }],
    });
    ids.push(meta.id);
  }
  return { store, ids };
}

describe('SearchService', () => {
  it('builds from the store, and a conversation deleted during the build is never indexed', async () => {
    const { store, ids } = await storeWith(['alpha one', 'alpha two', 'alpha three']);
    const svc = new SearchService(store);
    const built = svc.start();
    await store.delete(ids[1]!);
    await built;
    const page = await svc.search('alpha', 0, 10);
    expect(page.results.map((r) => r.conversation_id).sort()).toEqual([ids[0], ids[2]].sort());
    expect(svc.index.has(ids[1]!)).toBe(false);
    expect(page.indexing).toBeNull();
    svc.close();
  });

  it('answers a search with every change made before it, without waiting for the timer', async () => {
    const { store, ids } = await storeWith(['beta']);
    const svc = new SearchService(store);
    await svc.start();
    await store.correct(ids[0]!, { op: 'edit', segment_id: 0, text: 'gamma' });
    expect((await svc.search('gamma', 0, 10)).results).toHaveLength(1);
    expect((await svc.search('beta', 0, 10)).results).toHaveLength(0);
    await store.patch(ids[0]!, { title: 'Delta meeting' });
    expect((await svc.search('delta', 0, 10)).results).toHaveLength(1);
    svc.close();
  });
});
