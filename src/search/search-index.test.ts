import { describe, expect, it } from 'vitest';
import { parseQuery } from './query.js';
import { SearchIndex, type IndexedConversation } from './search-index.js';
import { countKeys, normalForm, normalize } from './text.js';

function conv(id: string, title: string | null, texts: Array<[0 | 1 | null, string]>, started = '2026-03-01T09:00:00Z'): IndexedConversation {
  return {
    id,
    title,
    started_at: started,
    speakers: [
      { id: 0, name: 'Kim' },
      { id: 1, name: 'Lee' },
    ],
    segments: texts.map(([speaker, text], i) => ({ segment_id: i, speaker_id: speaker, start: i * 2, text })),
  };
}

function idx(): SearchIndex {
  const index = new SearchIndex();
  index.set(conv('en', 'Monday visit', [[0, 'Did you take the medication this morning?'], [1, 'Yes, the Medication helps.'], [0, 'Good. Any side effects?']], '2026-03-01T09:00:00Z'));
  index.set(conv('ko', '상담', [[0, '오늘 약을 먹었어요?'], [1, '네, 약이 잘 들어요.'], [0, '감기약도 드셨어요?'], [1, '아니요']], '2026-03-02T09:00:00Z'));
  index.set(conv('mix', null, [[null, 'ＦＵＬＬ ｗｉｄｔｈ text and ﾃｽﾄ'], [0, 'c++ (a|b)* [x] .* \\d']], '2026-03-03T09:00:00Z'));
  return index;
}

const search = (index: SearchIndex, q: string) => index.search(parseQuery(q), 0, 20).results;

describe('search text and queries', () => {
  it('normalizes case and width, and parses words, phrases and the prefix being typed', () => {
    expect(normalForm('ＦＵＬＬ Ｗｉｄｔｈ ﾃｽﾄ\u0000x')).toBe('full width テスト x');
    expect(parseQuery('Take "the  Medication" mor')).toEqual([
      { text: 'take', words: ['take'], prefix: false, phrase: false },
      { text: 'the medication', words: ['the', 'medication'], prefix: false, phrase: true },
      { text: 'mor', words: ['mor'], prefix: true, phrase: false },
    ]);
    expect(parseQuery('morning ')[0]!.prefix).toBe(false);
    expect(parseQuery('(a|b)* .* \\d [x] \u0007')).toEqual(['a', 'b', 'd', 'x'].map((w) => ({ text: w, words: [w], prefix: false, phrase: false })));
    expect(parseQuery('x'.repeat(10_000)).length).toBe(1);
    expect(parseQuery('  "" ... ')).toEqual([]);
  });

  it('maps every normalized unit back to its source, plain runs and special characters alike', () => {
    const text = 'Don’t ＡＢ ﬁne\nCafé ½ 약을';
    const { norm, map } = normalize(text);
    expect(norm).toBe('don’t ab fine\ncafé 1⁄2 약을');
    expect(map!.length).toBe(norm.length);
    // 'fine' comes from the ligature (one unit) and 'ne'; the newline stays in place.
    expect(text[map![norm.indexOf('fine')]!]).toBe('ﬁ');
    expect(text[map![norm.indexOf('\n')]!]).toBe('\n');
    expect(text.slice(map![norm.indexOf('약')]!)).toBe('약을');
  });

  it('counts the same keys on the fast path (ASCII and Hangul) as on the general one', () => {
    const text = normalForm('Take 2 tablets, 감기약을 먹었어요 x2y 약 mri검사 ok');
    const fast = new Map<string, number>();
    const general = new Map<string, number>();
    countKeys(text, fast);
    countKeys(`${text}\t`, general);
    expect(fast).toEqual(general);
    expect(fast.get('약')).toBe(2);
    expect(fast.get('기약')).toBe(1);
    expect(fast.get('mri')).toBe(1);
  });
});

describe('SearchIndex', () => {
  it('finds words case-insensitively, marks them, and the last word as a prefix', () => {
    const r = search(idx(), 'MEDICATION');
    expect(r.map((x) => x.conversation_id)).toEqual(['en']);
    expect(r[0]!.hits.map((h) => [h.segment_id, h.speaker_id, h.speaker_name, h.snippet.slice(h.marks[0]![0], h.marks[0]![1])])).toEqual([
      [0, 0, 'Kim', 'medication'],
      [1, 1, 'Lee', 'Medication'],
    ]);
    expect(search(idx(), 'medic').map((x) => x.conversation_id)).toEqual(['en']);
    expect(search(idx(), 'medic ')).toEqual([]);
    expect(search(idx(), 'side eff')[0]!.hits[0]!.segment_id).toBe(2);
  });

  it('finds a Korean word with its particles and in compounds (약 → 약을, 약이, 감기약)', () => {
    const r = search(idx(), '약');
    expect(r.map((x) => x.conversation_id)).toEqual(['ko']);
    expect(r[0]!.hits.map((h) => h.segment_id)).toEqual([0, 1, 2]);
    expect(r[0]!.hits[0]!.marks).toEqual([[3, 4]]);
    expect(search(idx(), '감기약').map((x) => x.hit_count)).toEqual([1]);
    expect(search(idx(), '약국')).toEqual([]);
  });

  it('matches phrases exactly, titles and speaker names, full-width text, and regex-looking text literally', () => {
    const index = idx();
    expect(search(index, '"the medication helps"')[0]!.hits.map((h) => h.segment_id)).toEqual([1]);
    expect(search(index, '"medication the"')).toEqual([]);
    expect(search(index, 'monday')[0]!.title_marks).toEqual([[0, 6]]);
    expect(search(index, 'lee medication').map((x) => x.conversation_id)).toEqual(['en']);
    const full = search(index, 'full width');
    expect(full[0]!.hits[0]!.snippet.slice(...full[0]!.hits[0]!.marks[0]!)).toBe('ＦＵＬＬ');
    expect(search(index, 'テスト').length).toBe(1);
    expect(search(index, '(a|b)* .*').map((x) => x.conversation_id)).toEqual(['mix']);
  });

  it('matches a phrase across several spaces or punctuation, in the query and in the text, never across segments', () => {
    const index = new SearchIndex();
    index.set(conv('gap', null, [[0, 'Check the blood   pressure, then the blood, pressure again.'], [1, 'No blood'], [0, 'pressure here'], [1, 'bloodpressure, the bloody pressure']]));
    index.set(conv('kog', null, [[0, '약을    먹었어요'], [1, '약을먹었어요']]));
    const hits = (q: string) => search(index, q).flatMap((r) => r.hits.map((h) => [r.conversation_id, h.segment_id, h.marks.map(([a, b]) => h.snippet.slice(a, b))]));
    expect(hits('"blood pressure"')).toEqual([['gap', 0, ['blood   pressure', 'blood, pressure']]]);
    expect(hits('"blood      pressure"')).toEqual(hits('"blood pressure"'));
    expect(hits('"the blood pressure"')).toEqual([['gap', 0, ['the blood   pressure', 'the blood, pressure']]]);
    expect(hits('"약을 먹었어요"')).toEqual([['kog', 0, ['약을    먹었어요']]]);
    expect(hits('"pressure blood"')).toEqual([]);
  });

  it('pages with an offset, and forgets a removed conversation completely', () => {
    const index = idx();
    index.set(conv('en2', 'Tuesday', [[0, 'medication again medication']], '2026-03-04T09:00:00Z'));
    const first = index.search(parseQuery('medication'), 0, 1);
    expect(first.results).toHaveLength(1);
    expect(first.next).toBe(1);
    const second = index.search(parseQuery('medication'), first.next!, 1);
    expect(new Set([first.results[0]!.conversation_id, second.results[0]!.conversation_id])).toEqual(new Set(['en', 'en2']));
    expect(second.next).toBeNull();
    const keys = index.keys;
    expect(index.remove('ko')).toBe(true);
    expect(search(index, '약')).toEqual([]);
    expect(index.keys).toBeLessThan(keys - 10);
    expect(index.remove('ko')).toBe(false);
    // Replacing a conversation follows the new text only.
    index.set(conv('en2', 'Tuesday', [[0, 'nothing here']]));
    expect(search(index, 'again')).toEqual([]);
    for (const id of ['en', 'en2', 'mix']) index.remove(id);
    expect([index.size, index.keys]).toEqual([0, 0]);
  });
});
