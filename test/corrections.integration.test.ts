/**
 * Corrections over the real HTTPS API: edit, reassign, split, merge, delete, undo, revisions
 * (two clients, one 409), the original kept, exports of the corrected view, a late transcription
 * on an open conversation, and bad input answered with coded errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { SPLIT_ID_BASE } from '../src/storage/corrections.js';
import type { ConversationRecord, StoredSegment } from '../src/storage/types.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ AUTH: true, ACCESS_TOKEN: 'corrections-test-token-1234' });
});
afterAll(async () => {
  await server.close();
});

const call = (method: string, path: string, body?: unknown) => api(server.url, server.token, method, path, body);
type Answer = { segments: StoredSegment[]; removed: number[] };

async function conversation(): Promise<string> {
  const meta = await server.store.createFinished({
    language: 'en',
    models: { asr: 'fake', speaker: 'enc', vad: 'vad' },
    speakers: [{ id: 0, name: 'Kim' }, { id: 1, name: 'Lee' }],
    title: 'visit',
    endedAt: new Date('2026-03-01T10:00:00Z'),
    audioS: 20,
    segments: [
      { segment_id: 0, speaker_id: 0, start: 0, end: 2, text: 'Hello Anna, how are you?' },
      { segment_id: 1, speaker_id: 0, start: 2.5, end: 4, text: 'Take the medicine twice.' },
      { segment_id: 2, speaker_id: 1, start: 5, end: 7, text: 'Okay, I will.' },
      { segment_id: 3, speaker_id: 1, start: 8, end: 9, text: 'Thank you.' },
    ],
  });
  return meta.id;
}

describe('corrections API', () => {
  it('edits, reassigns, splits, merges, deletes and undoes; exports follow; the original stays', async () => {
    const id = await conversation();
    const base = `/api/conversations/${id}/segments`;
    let r = await call('PATCH', `${base}/0`, { text: 'Hello Hanna, how are you?', revision: 2 });
    expect(r.status).toBe(200);
    expect(r.json<Answer>().segments[0]).toMatchObject({ segment_id: 0, text: 'Hello Hanna, how are you?', revision: 3, corrected: true, original: { text: 'Hello Anna, how are you?' } });
    r = await call('PATCH', `${base}/2`, { speaker_id: 0 });
    expect(r.json<Answer>().segments[0]).toMatchObject({ speaker_id: 0 });
    r = await call('POST', `${base}/0/split`, { at: 12 });
    expect(r.status).toBe(200);
    expect(r.json<Answer>().segments.map((s) => [s.segment_id, s.text])).toEqual([
      [0, 'Hello Hanna,'],
      [SPLIT_ID_BASE, 'how are you?'],
    ]);
    r = await call('POST', `${base}/1/merge`);
    expect(r.status).toBe(200);
    expect(r.json<Answer>()).toEqual({ segments: [expect.objectContaining({ segment_id: 1, text: 'Take the medicine twice. Okay, I will.', start: 2.5, end: 7 })], removed: [2] });
    r = await call('DELETE', `${base}/3`);
    expect(r.json<Answer>()).toEqual({ segments: [], removed: [3] });

    let rec = (await call('GET', `/api/conversations/${id}`)).json<ConversationRecord>();
    expect(rec.segments.map((s) => s.text)).toEqual(['Hello Hanna,', 'how are you?', 'Take the medicine twice. Okay, I will.']);
    const txt = (await call('GET', `/api/conversations/${id}/export?format=txt`)).text;
    expect(txt).toContain('Kim: Hello Hanna, how are you? Take the medicine twice. Okay, I will.');
    expect(txt).not.toContain('Thank you');
    const srt = (await call('GET', `/api/conversations/${id}/export?format=srt`)).text;
    expect(srt).toContain('Kim: how are you?');
    const json = JSON.parse((await call('GET', `/api/conversations/${id}/export?format=json`)).text) as ConversationRecord;
    expect(json.segments[0]).toMatchObject({ text: 'Hello Hanna,', corrected: true, original: { text: 'Hello Anna, how are you?' } });
    expect(json.removed_segments!.map((s) => [s.segment_id, s.original?.text])).toEqual([
      [2, 'Okay, I will.'],
      [3, 'Thank you.'],
    ]);
    const original = (await call('GET', `/api/conversations/${id}?original=true`)).json<ConversationRecord>();
    expect(original.segments.map((s) => [s.speaker_id, s.text])).toEqual([
      [0, 'Hello Anna, how are you?'],
      [0, 'Take the medicine twice.'],
      [1, 'Okay, I will.'],
      [1, 'Thank you.'],
    ]);

    // Undo, newest first: the delete, the merge, the split.
    for (let i = 0; i < 3; i++) expect((await call('POST', `/api/conversations/${id}/undo`)).status).toBe(200);
    rec = (await call('GET', `/api/conversations/${id}`)).json<ConversationRecord>();
    expect(rec.segments.map((s) => [s.speaker_id, s.text])).toEqual([
      [0, 'Hello Hanna, how are you?'],
      [0, 'Take the medicine twice.'],
      [0, 'Okay, I will.'],
      [1, 'Thank you.'],
    ]);
  });

  it('two clients editing the same segment: one wins, the other gets 409 revision_conflict', async () => {
    const id = await conversation();
    const seg = (await call('GET', `/api/conversations/${id}`)).json<ConversationRecord>().segments[1]!;
    const answers = await Promise.all(['first', 'second'].map((text) => call('PATCH', `/api/conversations/${id}/segments/1`, { text, revision: seg.revision })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)!.json()).toMatchObject({ error: { code: 'revision_conflict' } });
  });

  it('a late transcription on an open conversation never overrides the edit and becomes the original', async () => {
    const meta = await server.store.create({ language: 'en', models: { asr: 'fake', speaker: 'e', vad: 'v' }, speakers: [{ id: 0, name: null }, { id: 1, name: null }] });
    await server.store.append(meta.id, { k: 'segment', segment_id: 0, speaker_id: 0, start: 0, end: 1, similarity: [0.9, 0.1] });
    expect((await call('PATCH', `/api/conversations/${meta.id}/segments/0`, { text: 'what the user heard' })).status).toBe(200);
    await server.store.append(meta.id, { k: 'transcription', segment_id: 0, speaker_id: 0, text: 'what the engine heard', timestamp: new Date().toISOString(), start: 0, end: 1 });
    const rec = (await call('GET', `/api/conversations/${meta.id}`)).json<ConversationRecord>();
    expect(rec.segments[0]).toMatchObject({ text: 'what the user heard', original: { text: 'what the engine heard' } });
  });

  it('answers bad input with coded errors and changes nothing', async () => {
    const id = await conversation();
    const base = `/api/conversations/${id}/segments`;
    const cases: Array<[string, string, unknown, number, string]> = [
      ['PATCH', `${base}/0`, { text: 'x', extra: 1 }, 400, 'invalid_body'],
      ['PATCH', `${base}/0`, {}, 400, 'invalid_body'],
      ['PATCH', `${base}/0`, { speaker_id: 2 }, 400, 'invalid_body'],
      ['PATCH', `${base}/0`, '{not json', 400, 'bad_json'],
      ['PATCH', `${base}/0`, { text: '   ' }, 400, 'empty_text'],
      ['PATCH', `${base}/99`, { text: 'x' }, 404, 'no_such_segment'],
      ['PATCH', `${base}/-1`, { text: 'x' }, 400, 'malformed_segment_id'],
      ['PATCH', `${base}/1e3`, { text: 'x' }, 400, 'malformed_segment_id'],
      ['POST', `${base}/0/split`, { at: 999 }, 400, 'bad_offset'],
      ['POST', `${base}/0/split`, { at: 1.5 }, 400, 'invalid_body'],
      ['POST', `${base}/1/merge`, {}, 400, 'speakers_differ'],
      ['POST', `${base}/3/merge`, {}, 400, 'no_next_segment'],
      ['POST', `${base}/0/explode`, {}, 404, 'not_found'],
      ['GET', `${base}/0`, undefined, 405, 'method_not_allowed'],
      ['PATCH', `${base}/0`, { text: 'x'.repeat(30_000) }, 413, 'body_too_large'],
      ['PATCH', `${base}/0`, { text: 'é'.repeat(5_001) }, 400, 'text_too_long'],
      ['POST', `/api/conversations/${id}/undo`, {}, 409, 'nothing_to_undo'],
      ['PATCH', `/api/conversations/AAAAAAAAAAAAAAAAAAAAAA/segments/0`, { text: 'x' }, 404, 'no_such_conversation'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(method, path, body);
      expect([path, r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([path, status, code]);
    }
    expect((await call('PATCH', `/api/conversations/nope/segments/0`, { text: 'x' })).status).toBe(400);
    const rec = (await call('GET', `/api/conversations/${id}`)).json<ConversationRecord>();
    expect(rec.segments.some((s) => s.corrected)).toBe(false);
    // An edit to a deleted conversation.
    expect((await call('DELETE', `/api/conversations/${id}`)).status).toBe(200);
    const gone = await call('PATCH', `${base}/0`, { text: 'x' });
    expect([gone.status, gone.json<{ error: { code: string } }>().error.code]).toEqual([404, 'no_such_conversation']);
    // Without the token: refused before anything is read.
    expect((await api(server.url, server.token, 'PATCH', `${base}/0`, { text: 'x' }, { auth: false })).status).toBe(401);
  });
});
