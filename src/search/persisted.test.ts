import { describe, expect, it } from 'vitest';
import { decodeSearchFile, encodeSearchFile, SEARCH_FILE_VERSION } from './persisted.js';
import { parseQuery } from './query.js';
import { SearchIndex, type IndexedConversation } from './search-index.js';

const conv = (id: string, texts: Array<string | null>, title: string | null = null): IndexedConversation => ({
  id,
  title,
  started_at: '2026-01-05T09:00:00.000Z',
  speakers: [
    { id: 0, name: 'Alice' },
    { id: 1, name: null },
  ],
  segments: texts.map((text, i) => ({ segment_id: i, speaker_id: i % 3 === 2 ? null : ((i % 2) as 0 | 1), start: i * 2.5, text })),
});

const a = conv('aaaaaaaaaaaaaaaa', ['Take the blood pressure pill', null, '약을 먹었어요\nline two', 'ＡＢＣ half-width ｶﾅ'], 'Morning check');
const b = conv('bbbbbbbbbbbbbbbb', ['nothing here but pressure'], null);

function kept(c: IndexedConversation) {
  const ix = new SearchIndex();
  ix.set(c, 'stamp-1');
  return ix.persisted(c.id)!;
}

describe('the kept search file', () => {
  it('loads into an index that answers exactly as one built from the records', () => {
    const built = new SearchIndex();
    built.set(a);
    built.set(b);
    const loaded = new SearchIndex();
    for (const c of [a, b]) {
      const text = encodeSearchFile(kept(c));
      expect(text).not.toContain('\n');
      loaded.load(decodeSearchFile(text, c.id)!);
    }
    expect(loaded.keys).toBe(built.keys);
    for (const q of ['pressure', 'blood pres', '"blood pressure"', '약', 'abc', 'ｶﾅ', 'alice', 'morning', 'two', 'line']) {
      expect(loaded.search(parseQuery(q), 0, 10), q).toEqual(built.search(parseQuery(q), 0, 10));
    }
    // Removing a loaded conversation leaves nothing of it, as for a built one.
    loaded.remove(a.id);
    built.remove(a.id);
    expect(loaded.keys).toBe(built.keys);
    expect(loaded.search(parseQuery('약'), 0, 10).results).toEqual([]);
  });

  it('adds up a key given twice (an altered file) instead of listing the conversation twice', () => {
    const p = kept(b);
    const at = p.keys.indexOf('pressure');
    const twice = { ...p, keys: [...p.keys, 'pressure'], counts: [...p.counts, 2] };
    const ix = new SearchIndex();
    ix.load(decodeSearchFile(encodeSearchFile(twice), b.id)!);
    ix.set(a);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(ix.search(parseQuery('pressure'), 0, 10).results.map((r) => r.conversation_id).sort()).toEqual([a.id, b.id].sort());
    ix.remove(b.id);
    expect(ix.search(parseQuery('pressure'), 0, 10).results.map((r) => r.conversation_id)).toEqual([a.id]);
  });

  it('keeps a conversation without segments', () => {
    const empty = conv('cccccccccccccccc', [], 'Only a title');
    const ix = new SearchIndex();
    ix.load(decodeSearchFile(encodeSearchFile(kept(empty)), empty.id)!);
    expect(ix.search(parseQuery('title'), 0, 10).results.map((r) => r.conversation_id)).toEqual([empty.id]);
  });

  it('has no kept form without a stamp (not read from the store)', () => {
    const ix = new SearchIndex();
    ix.set(a);
    expect(ix.persisted(a.id)).toBeNull();
    expect(ix.persisted('nope')).toBeNull();
  });

  it('trusts nothing torn, altered, foreign or of another version, and never throws', () => {
    const good = encodeSearchFile(kept(a));
    expect(decodeSearchFile(good, a.id)).not.toBeNull();
    expect(decodeSearchFile(good, b.id)).toBeNull();
    // Every cut a crash could leave.
    for (let cut = 0; cut < good.length; cut += 7) expect(decodeSearchFile(good.slice(0, cut), a.id)).toBeNull();
    const j = JSON.parse(good) as Record<string, unknown>;
    const bad: Array<Record<string, unknown>> = [
      { ...j, v: SEARCH_FILE_VERSION + 1 },
      { ...j, format: 'other' },
      // Keys made by another analysis of the text.
      { ...j, analyzer: 'deadbeef' },
      { ...j, stamp: 5 },
      { ...j, text: (j.text as string) + '\nextra segment' },
      { ...j, seg: (j.seg as number[]).slice(1) },
      { ...j, spk: (j.spk as number[]).map(() => 7) },
      { ...j, start: (j.start as number[]).map(() => 'x') },
      { ...j, counts: (j.counts as number[]).slice(1) },
      { ...j, counts: (j.counts as number[]).map(() => -1) },
      { ...j, speakers: [{ id: 2, name: 'x' }] },
      { ...j, speakers: 'x' },
      { ...j, title: 3 },
      { ...j, keys: 'a  b' },
    ];
    for (const x of bad) expect(decodeSearchFile(JSON.stringify(x), a.id)).toBeNull();
    for (const junk of ['', 'null', '[]', '"x"', '{', '\u0000unreadable\n', '{"format":"duet-search"}']) expect(decodeSearchFile(junk, a.id)).toBeNull();
  });
});
