/**
 * Search over the real HTTPS API: English and Korean, ranking and grouping, snippets with marks,
 * and an index that follows new segments, corrections, renames and deletes.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import type { SearchResult } from '../src/search/search-index.js';
import { SEARCH_FILE } from '../src/search/persisted.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ AUTH: true, ACCESS_TOKEN: 'search-test-token-123456' });
  await server.search.ready;
});
afterAll(async () => {
  await server.close();
});

type Answer = { results: SearchResult[]; next_cursor: string | null; indexing: unknown };
const find = async (q: string, extra = '') => {
  const r = await api(server.url, server.token, 'GET', `/api/search?q=${encodeURIComponent(q)}${extra}`);
  expect(r.status).toBe(200);
  return r.json<Answer>();
};
const models = { asr: 'fake', speaker: 'enc', vad: 'vad' };

async function finished(title: string, language: string, texts: string[]): Promise<string> {
  const meta = await server.store.createFinished({
    language,
    models,
    speakers: [{ id: 0, name: 'Dr Park' }, { id: 1, name: null }],
    title,
    endedAt: new Date(),
    audioS: texts.length * 3,
    segments: texts.map((text, i) => ({ segment_id: i, speaker_id: (i % 2) as 0 | 1, start: i * 3, end: i * 3 + 2, text })),
  });
  return meta.id;
}

describe('search API', () => {
  it('finds English and Korean, grouped by conversation with the matching segment, time, speaker and marked snippet', async () => {
    const en = await finished('Checkup', 'en', ['Did you take the medication?', 'Not yet.', 'The medication is important.']);
    const ko = await finished('상담', 'ko', ['오늘 약을 드셨어요?', '네, 약이 잘 들어요.']);
    let a = await find('medication');
    expect(a.results.map((r) => r.conversation_id)).toEqual([en]);
    expect(a.results[0]!.hits.map((h) => [h.segment_id, h.start, h.speaker_id, h.speaker_name])).toEqual([
      [0, 0, 0, 'Dr Park'],
      [2, 6, 0, 'Dr Park'],
    ]);
    const h = a.results[0]!.hits[0]!;
    expect(h.snippet.slice(h.marks[0]![0], h.marks[0]![1])).toBe('medication');
    a = await find('약');
    expect(a.results.map((r) => [r.conversation_id, r.hit_count])).toEqual([[ko, 2]]);
    a = await find('ＭＥＤＩＣ');
    expect(a.results.map((r) => r.conversation_id)).toEqual([en]);
    a = await find('"the medication is"');
    expect(a.results[0]!.hits.map((x) => x.segment_id)).toEqual([2]);
  });

  it('follows a new segment, a correction, a rename and a delete', async () => {
    const meta = await server.store.create({ language: 'en', models, speakers: [{ id: 0, name: null }, { id: 1, name: null }] });
    await server.store.append(meta.id, { k: 'segment', segment_id: 0, speaker_id: 0, start: 0, end: 1, similarity: [0.9, 0.1] });
    await server.store.append(meta.id, { k: 'transcription', segment_id: 0, speaker_id: 0, text: 'The zebrafish study.', timestamp: new Date().toISOString(), start: 0, end: 1 });
    expect((await find('zebrafish')).results.map((r) => r.conversation_id)).toEqual([meta.id]);
    const fix = await api(server.url, server.token, 'PATCH', `/api/conversations/${meta.id}/segments/0`, { text: 'The starfish study.' });
    expect(fix.status).toBe(200);
    expect((await find('zebrafish')).results).toEqual([]);
    expect((await find('starfish')).results.map((r) => r.conversation_id)).toEqual([meta.id]);
    await api(server.url, server.token, 'PATCH', `/api/conversations/${meta.id}`, { title: 'Marine biology', speakers: [{ id: 1, name: 'Quinn' }] });
    expect((await find('marine')).results[0]!.title_marks).toEqual([[0, 6]]);
    expect((await find('quinn starfish')).results.map((r) => r.conversation_id)).toEqual([meta.id]);
    const keys = server.search.service.index.keys;
    expect((await api(server.url, server.token, 'DELETE', `/api/conversations/${meta.id}`)).status).toBe(200);
    expect((await find('starfish')).results).toEqual([]);
    expect(server.search.service.index.has(meta.id)).toBe(false);
    expect(server.search.service.index.keys).toBeLessThan(keys);
  });

  it('pages with next_cursor and answers hostile queries without harm', async () => {
    for (let i = 0; i < 3; i++) await finished(`Paging ${i}`, 'en', ['a quokka appeared']);
    const first = await find('quokka', '&limit=2');
    expect(first.results).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const second = await find('quokka', `&limit=2&cursor=${first.next_cursor}`);
    expect(second.results).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    for (const q of ['.*', '(a|b)*[', '\\', '\u0000\u0007\u001b[31m', '"unclosed', '""', '   ', "' OR 1=1 --"]) await find(q);
    const bad: Array<[string, string]> = [
      [`/api/search?q=${'a'.repeat(600)}`, 'query_too_long'],
      ['/api/search', 'missing_query'],
      ['/api/search?q=x&limit=0', 'bad_limit'],
      ['/api/search?q=x&limit=abc', 'bad_limit'],
      ['/api/search?q=x&cursor=-1', 'bad_cursor'],
    ];
    for (const [path, code] of bad) {
      const r = await api(server.url, server.token, 'GET', path);
      expect([path.slice(0, 40), r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([path.slice(0, 40), 400, code]);
    }
    expect((await api(server.url, server.token, 'GET', '/api/search?q=x', undefined, { auth: false })).status).toBe(401);
    // 10 KB: over the longest request target, refused (400) before any handler reads it.
    expect((await api(server.url, server.token, 'GET', `/api/search?q=${'a'.repeat(10_240)}`)).status).toBe(400);
    expect((await find('quokka')).results).toHaveLength(3);
  });
});

describe('search index kept on disk', () => {
  it('is loaded, not rebuilt, by a restart; a conversation deleted through the API leaves no file holding its words', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'duet-search-kept-'));
    try {
      const first = await startTestServer({ AUTH: true, ACCESS_TOKEN: 'search-test-token-123456', DATA_DIR: dataDir });
      await first.search.ready;
      const add = (title: string, text: string) =>
        first.store.createFinished({ language: 'en', models, speakers: [{ id: 0, name: null }, { id: 1, name: null }], title, endedAt: new Date(), audioS: 3, segments: [{ segment_id: 0, speaker_id: 0, start: 0, end: 2, text }] });
      const kept = (await add('Kept', 'the periwinkleword stays')).id;
      const gone = (await add('Gone', 'the zanzibarword goes')).id;
      // Indexed, then written at shutdown.
      expect((await api(first.url, first.token, 'GET', '/api/search?q=zanzibarword')).json<Answer>().results).toHaveLength(1);
      await first.close();
      expect(existsSync(join(dataDir, 'conversations', gone, SEARCH_FILE))).toBe(true);

      const second = await startTestServer({ AUTH: true, ACCESS_TOKEN: 'search-test-token-123456', DATA_DIR: dataDir });
      try {
        await second.search.ready;
        expect(second.search.service.startup).toEqual({ loaded: 2, rebuilt: 0 });
        const q = async (w: string) => (await api(second.url, second.token, 'GET', `/api/search?q=${w}`)).json<Answer>().results.map((r) => r.conversation_id);
        expect(await q('periwinkleword')).toEqual([kept]);
        expect((await api(second.url, second.token, 'DELETE', `/api/conversations/${gone}`)).status).toBe(200);
        expect(await q('zanzibarword')).toEqual([]);
      } finally {
        await second.close();
      }
      const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(files.some((e) => e.name === SEARCH_FILE)).toBe(true);
      for (const e of files) expect(readFileSync(join(e.parentPath, e.name), 'latin1'), e.name).not.toContain('zanzibarword');
    } finally {
      // The access log may still be finishing its last appends (they are not awaited by close).
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  });
});
