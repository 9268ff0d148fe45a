/**
 * Conversations that last, over real WSS connections: a dropped connection resumed with no
 * segment lost or shown twice (against the reference speech of a dev conversation), the
 * resume window, a full disk, saved voices, and the HTTP API with its exports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { hasOpusEncoder } from '../src/storage/audio.js';
import { nodeFs, type StorageFs } from '../src/storage/fs.js';
import { ConversationStore } from '../src/storage/store.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { attributedShare, loadConversation, type Conversation } from '../src/testing/corpus.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

type Seg = Extract<Received, { type: 'segment' }>;
type Tx = Extract<Received, { type: 'transcription' }>;
type Started = Extract<Received, { type: 'transcription_started' }>;

const segsOf = (ms: Received[]) => ms.filter((m): m is Seg => m.type === 'segment');
const txsOf = (ms: Received[]) => ms.filter((m): m is Tx => m.type === 'transcription');

/** Share of the reference speech (10 ms steps) inside some segment (±50 ms). */
function coverage(conv: Conversation, segs: ReadonlyArray<{ start: number; end: number }>, from = 0, to = Infinity): number {
  let speech = 0;
  let hit = 0;
  for (const turn of conv.reference) {
    for (let t = Math.max(turn.startS, from); t < Math.min(turn.endS, to); t += 0.01) {
      speech++;
      if (segs.some((s) => t >= s.start - 0.05 && t <= s.end + 0.05)) hit++;
    }
  }
  return speech === 0 ? 1 : hit / speech;
}

/** Waits until no message has arrived for `ms`. */
async function quiet(client: ProtocolClient, ms: number): Promise<void> {
  for (;;) {
    const n = client.messages.length;
    await new Promise((r) => setTimeout(r, ms));
    if (client.messages.length === n) return;
  }
}

/** Resumes, retrying while the server is still closing the dropped connection's last segment. */
async function resume(url: string, token: string, conversationId: string, lastSegmentId: number): Promise<{ client: ProtocolClient; started: Started; from: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const client = await ProtocolClient.connect({ url, token });
    const from = client.messages.length;
    client.send({ type: 'start_transcription', conversation_id: conversationId, last_segment_id: lastSegmentId });
    const m = await client.next((x) => x.type === 'transcription_started' || x.type === 'error', 10_000, from);
    if (m.type === 'transcription_started') return { client, started: m, from };
    expect(m).toMatchObject({ type: 'error', code: 'conversation_busy' });
    await client.close();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('could not resume');
}

async function startConversation(client: ProtocolClient, conv: Conversation): Promise<Started> {
  expect((await client.enroll(0, conv.enrollA, 'Alice')).type).toBe('speaker_registration_completed');
  expect((await client.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
  const from = client.messages.length;
  client.send({ type: 'start_transcription', language: 'en' });
  return (await client.next((m) => m.type === 'transcription_started', 10_000, from)) as Started;
}

describe('a dropped connection resumed mid-speech (1688-1998-easy)', () => {
  let server: RunningServer;
  let conv: Conversation;
  const asr = new FakeAsrEngine({ text: (samples) => `${(samples.length / 16_000).toFixed(2)} s`, delayMs: 5 });
  let baseline: Seg[] = [];

  beforeAll(async () => {
    conv = loadConversation('1688-1998-easy');
    server = await startTestServer({}, { asr });
  });
  afterAll(() => server?.close());

  it('records an uninterrupted run as the baseline, every message tagged with its conversation', async () => {
    const client = await ProtocolClient.connect({ url: server.url, token: server.token });
    const started = await startConversation(client, conv);
    expect(started).toMatchObject({ resumed: false, next_segment_id: 0, resume_from: 0, conversation_id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    const from = client.messages.length;
    await client.streamAudio(conv.audio);
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 120_000, from);
    baseline = segsOf(client.messages.slice(from));
    expect(baseline.length).toBeGreaterThan(10);
    for (const m of [...baseline, ...txsOf(client.messages)]) expect(m.conversation_id).toBe(started.conversation_id);
    await client.close();
  });

  it('loses and repeats nothing, numbers on, and keeps the audio clock', async () => {
    const durationS = conv.audio.length / 16_000;
    // Drop in the middle of a long reference turn near the middle of the conversation.
    const turn = conv.reference
      .filter((t) => t.endS - t.startS >= 2)
      .sort((a, b) => Math.abs((a.startS + a.endS) / 2 - durationS / 2) - Math.abs((b.startS + b.endS) / 2 - durationS / 2))[0]!;
    const dropS = (turn.startS + turn.endS) / 2;

    const a = await ProtocolClient.connect({ url: server.url, token: server.token });
    const started = await startConversation(a, conv);
    const id = started.conversation_id!;
    const fromA = a.messages.length;
    await a.streamAudio(conv.audio.subarray(0, Math.round(dropS * 16_000)));
    await a.drain(0);
    await quiet(a, 2000); // the server has caught up with what it was sent (mid-turn: no new segment)
    a.ws.terminate(); // the network goes away: no close handshake
    const seenA = a.messages.slice(fromA);
    const segA = segsOf(seenA);
    const txA = txsOf(seenA);
    expect(segA.length).toBeGreaterThan(2);
    // The page shows a segment with its text; the highest id shown complete is what it resumes from.
    let last = -1;
    while (txA.some((t) => t.segment_id === last + 1) && segA.some((s) => s.segment_id === last + 1)) last++;

    const { client: b, started: resumed, from: fromB } = await resume(server.url, server.token, id, last);
    expect(resumed).toMatchObject({ type: 'transcription_started', conversation_id: id, resumed: true, language: 'en' });
    const resumeFrom = resumed.resume_from!;
    const resumeSample = Math.round(resumeFrom * 16_000);
    expect(Math.abs(resumeSample - resumeFrom * 16_000)).toBeLessThan(1e-6);
    expect(resumeFrom).toBeGreaterThan(0);
    expect(resumeFrom).toBeLessThanOrEqual(dropS + 1e-9);
    await b.streamAudio(conv.audio.subarray(resumeSample));
    b.send({ type: 'stop_transcription' });
    const stopped = await b.next((m) => m.type === 'transcription_stopped', 120_000, fromB);
    const seenB = b.messages.slice(fromB);
    expect(seenB.filter((m) => m.type === 'error')).toEqual([]);

    // Nothing shown twice: after the resume only ids above last_segment_id arrive.
    const segB = segsOf(seenB);
    const txB = txsOf(seenB);
    for (const m of [...segB, ...txB]) {
      expect(m.segment_id).toBeGreaterThan(last);
      expect(m.conversation_id).toBe(id);
    }
    // What the page ends up showing: A's messages up to `last`, then B's.
    const shownSegs = [...segA.filter((s) => s.segment_id <= last), ...segB];
    const shownTxs = [...txA.filter((t) => t.segment_id <= last), ...txB];
    const ids = shownSegs.map((s) => s.segment_id);
    expect(ids).toEqual(ids.map((_, i) => i)); // 0, 1, 2, … once each, in order
    expect(shownTxs.map((t) => t.segment_id).sort((x, y) => x - y)).toEqual(ids);
    expect(stopped).toMatchObject({ segments: ids.length });
    // Numbering continued from the dropped connection's next id.
    const fresh = segB.filter((s) => s.segment_id >= resumed.next_segment_id!);
    expect(fresh.length).toBeGreaterThan(3);
    expect(fresh[0]!.segment_id).toBe(resumed.next_segment_id);
    expect(segB.filter((s) => s.segment_id < resumed.next_segment_id!).every((s) => s.end <= resumeFrom + 1e-3)).toBe(true);
    // The audio clock continued: new segments lie after resume_from, in order, within the audio.
    for (const [i, s] of fresh.entries()) {
      expect(s.start).toBeGreaterThanOrEqual(resumeFrom - 1e-3);
      expect(s.end).toBeLessThanOrEqual(durationS + 1e-3);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(fresh[i - 1]!.end);
    }
    // No speech lost: reference coverage as good as the uninterrupted run, around the drop too.
    const base = coverage(conv, baseline);
    expect(coverage(conv, shownSegs)).toBeGreaterThanOrEqual(base - 0.02);
    expect(coverage(conv, shownSegs, dropS - 2, dropS + 2)).toBeGreaterThanOrEqual(coverage(conv, baseline, dropS - 2, dropS + 2) - 0.1);
    // The restored voices still attribute the speech after the resume.
    expect(attributedShare(conv, fresh)).toBeGreaterThan(0.8);

    // The stored record holds exactly what was shown, with its text, and the conversation ended.
    const rec = (await api(server.url, server.token, 'GET', `/api/conversations/${id}`)).json<{ ended_at: string | null; segments: Array<{ segment_id: number; start: number; end: number; text: string | null }>; speakers: Array<{ id: number; name: string | null }> }>();
    expect(rec.ended_at).not.toBeNull();
    expect(rec.segments.map((s) => [s.segment_id, s.start, s.end])).toEqual(shownSegs.map((s) => [s.segment_id, s.start, s.end]));
    expect(rec.segments.every((s) => typeof s.text === 'string' && s.text.endsWith(' s'))).toBe(true);
    expect(rec.speakers).toEqual([{ id: 0, name: 'Alice' }, { id: 1, name: null }]);
    await b.close();
  });
});

describe('resume window, full disk, saved voices and the API', () => {
  let server: RunningServer;
  let conv: Conversation;
  let full = false;
  const enospc = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
  const storageFs: StorageFs = {
    ...nodeFs,
    append: (p, d) => (full ? enospc() : nodeFs.append(p, d)),
    writeAtomic: (p, d) => (full ? enospc() : nodeFs.writeAtomic(p, d)),
  };
  const asr = new FakeAsrEngine({ text: () => 'Hello <there> & you', delayMs: 2 });
  const get = (path: string) => api(server.url, server.token, 'GET', path);

  beforeAll(async () => {
    conv = loadConversation('1688-1998-easy');
    server = await startTestServer({ RESUME_WINDOW_S: 1 }, { asr, storageFs });
  });
  afterAll(() => server?.close());

  it('ends a conversation nobody resumes within RESUME_WINDOW_S', async () => {
    const a = await ProtocolClient.connect({ url: server.url, token: server.token });
    const started = await startConversation(a, conv);
    await a.streamAudio(conv.audio.subarray(0, 8 * 16_000));
    await a.drain(0);
    a.ws.terminate();
    await new Promise((r) => setTimeout(r, 2500));
    const b = await ProtocolClient.connect({ url: server.url, token: server.token });
    const from = b.messages.length;
    b.send({ type: 'start_transcription', conversation_id: started.conversation_id, last_segment_id: -1 });
    expect(await b.next((m) => m.type === 'error' || m.type === 'transcription_started', 10_000, from)).toMatchObject({ type: 'error', code: 'unknown_conversation' });
    b.send({ type: 'start_transcription', conversation_id: 'AAAAAAAAAAAAAAAAAAAAAA' });
    expect(await b.next((m) => m.type === 'error', 10_000, from + 1)).toMatchObject({ code: 'unknown_conversation' });
    const rec = (await get(`/api/conversations/${started.conversation_id}`)).json<{ ended_at: string | null; segments: unknown[] }>();
    expect(rec.ended_at).not.toBeNull();
    expect(rec.segments.length).toBeGreaterThan(0);
    await b.close();
  });

  it('a full disk: the client is told once, the conversation and the server go on', async () => {
    const client = await ProtocolClient.connect({ url: server.url, token: server.token });
    const started = await startConversation(client, conv);
    const from = client.messages.length;
    full = true;
    try {
      await client.streamAudio(conv.audio.subarray(0, 40 * 16_000));
      client.send({ type: 'stop_transcription' });
      await client.next((m) => m.type === 'transcription_stopped', 120_000, from);
    } finally {
      full = false;
    }
    const msgs = client.messages.slice(from);
    expect(msgs.filter((m) => m.type === 'error')).toEqual([expect.objectContaining({ code: 'storage_failed' })]);
    expect(segsOf(msgs).length).toBeGreaterThan(3);
    expect(txsOf(msgs)).toHaveLength(segsOf(msgs).length);
    expect(segsOf(msgs).every((s) => s.conversation_id === started.conversation_id)).toBe(true);
    // Still serving: the API answers and a new conversation is recorded again.
    expect((await get('/api/conversations')).status).toBe(200);
    const from2 = client.messages.length;
    client.send({ type: 'start_transcription', language: 'en' });
    const again = (await client.next((m) => m.type === 'transcription_started', 10_000, from2)) as Started;
    await client.streamAudio(conv.audio.subarray(0, 10 * 16_000));
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 60_000, from2);
    expect(client.messages.slice(from2).filter((m) => m.type === 'error')).toEqual([]);
    const rec = (await get(`/api/conversations/${again.conversation_id}`)).json<{ segments: unknown[] }>();
    expect(rec.segments.length).toBe(segsOf(client.messages.slice(from2)).length);
    await client.close();
  });

  it('saves a voice, lists it, uses it in a new connection, and deletes it from disk', async () => {
    const a = await ProtocolClient.connect({ url: server.url, token: server.token });
    expect((await a.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    expect((await a.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    a.send({ type: 'save_voice', speaker_id: 0, name: 'Dr. Kim' });
    const saved = await a.next((m) => m.type === 'voice_saved', 10_000);
    expect(saved).toMatchObject({ type: 'voice_saved', speaker_id: 0, name: 'Dr. Kim', voice_id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    const voiceId = (saved as Extract<Received, { type: 'voice_saved' }>).voice_id;
    const list = (await get('/api/voices')).json<Array<Record<string, unknown>>>();
    expect(list).toContainEqual({ id: voiceId, name: 'Dr. Kim', created_at: expect.any(String), encoder: expect.any(String) });
    expect(JSON.stringify(list)).not.toContain('mean'); // embeddings never leave the server
    await a.close();

    const b = await ProtocolClient.connect({ url: server.url, token: server.token });
    b.send({ type: 'use_saved_voice', speaker_id: 0, voice_id: voiceId });
    expect(await b.next((m) => m.type === 'speaker_registration_completed' || m.type === 'speaker_registration_failed', 10_000)).toMatchObject({
      type: 'speaker_registration_completed',
      speaker_id: 0,
      voice_id: voiceId,
      name: 'Dr. Kim',
    });
    // The same voice as the other speaker is refused as too similar.
    b.send({ type: 'use_saved_voice', speaker_id: 1, voice_id: voiceId });
    expect(await b.next((m) => m.type === 'speaker_registration_failed', 10_000)).toMatchObject({ speaker_id: 1, reason: 'too_similar' });
    b.send({ type: 'use_saved_voice', speaker_id: 1, voice_id: 'AAAAAAAAAAAAAAAAAAAAAA' });
    expect(await b.next((m) => m.type === 'speaker_registration_failed' && m.reason !== 'too_similar', 10_000)).toMatchObject({ reason: 'unknown_voice' });
    expect((await b.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    const from = b.messages.length;
    b.send({ type: 'start_transcription', language: 'en' });
    const started = (await b.next((m) => m.type === 'transcription_started', 10_000, from)) as Started;
    await b.streamAudio(conv.audio.subarray(0, 20 * 16_000));
    b.send({ type: 'stop_transcription' });
    await b.next((m) => m.type === 'transcription_stopped', 60_000, from);
    const segs = segsOf(b.messages.slice(from));
    expect(segs.some((s) => s.speaker_id === 0)).toBe(true);
    const rec = (await get(`/api/conversations/${started.conversation_id}`)).json<{ speakers: unknown[] }>();
    expect(rec.speakers).toEqual([{ id: 0, name: 'Dr. Kim', voice_id: voiceId }, { id: 1, name: null }]);

    const file = join(server.store.voicesDir, `${voiceId}.json`);
    expect(existsSync(file)).toBe(true);
    expect((await api(server.url, server.token, 'DELETE', `/api/voices/${voiceId}`)).status).toBe(200);
    expect(existsSync(file)).toBe(false);
    expect((await get(`/api/voices/${voiceId}`)).status).toBe(404);
    expect((await api(server.url, server.token, 'DELETE', `/api/voices/${voiceId}`)).status).toBe(404);
    // The access log (issue #21) names the voice's use and deletion, never its content.
    const audit = (await get('/api/audit?limit=1000')).json<{ entries: Array<{ action: string; voice_id: string | null; ip: string | null }> }>();
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'voice_use', voice_id: voiceId, ip: '127.0.0.1' }));
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'voice_delete', voice_id: voiceId }));
    expect(JSON.stringify(audit)).not.toContain('Dr. Kim');
    await b.close();
  });

  it('API: newest first, 400/404 ids, PATCH renames used by the exports, DELETE, token and headers', async () => {
    const list = (await get('/api/conversations')).json<Array<{ id: string; started_at: string; duration_s: number; segments: number; speakers: unknown[]; title: string | null; ended_at: string | null }>>();
    expect(list.length).toBeGreaterThanOrEqual(3);
    const starts = list.map((c) => c.started_at);
    expect(starts).toEqual([...starts].sort().reverse());
    const newest = list[0]!;
    expect(newest).toMatchObject({ title: null, ended_at: expect.any(String), speakers: [{ id: 0, name: 'Dr. Kim' }, { id: 1, name: null }] });
    expect(newest.duration_s).toBeGreaterThan(15);
    expect(newest.segments).toBeGreaterThan(0);

    expect((await get('/api/conversations/not-an-id')).status).toBe(400);
    expect((await get('/api/conversations/..%2F..%2Fetc')).status).toBe(400);
    expect((await get('/api/conversations/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await get('/api/conversations/AAAAAAAAAAAAAAAAAAAAAA/export?format=srt')).status).toBe(404);
    expect((await get(`/api/conversations/${newest.id}/export?format=doc`)).status).toBe(400);
    expect((await api(server.url, '', 'GET', '/api/conversations', undefined, { auth: false })).status).toBe(401);
    expect((await api(server.url, server.token, 'POST', '/api/conversations')).status).toBe(405);

    const bad = await api(server.url, server.token, 'PATCH', `/api/conversations/${newest.id}`, { speakers: [{ id: 2, name: 'x' }] });
    expect(bad.status).toBe(400);
    expect((await api(server.url, server.token, 'PATCH', `/api/conversations/${newest.id}`, '{oops')).status).toBe(400);
    const patched = await api(server.url, server.token, 'PATCH', `/api/conversations/${newest.id}`, { title: 'Intake', speakers: [{ id: 1, name: 'Lee <Pt>' }] });
    expect(patched.status).toBe(200);
    expect(patched.headers['x-content-type-options']).toBe('nosniff');
    expect(patched.headers['content-security-policy']).toBeDefined();
    expect(patched.json()).toMatchObject({ title: 'Intake', speakers: [{ id: 0, name: 'Dr. Kim' }, { id: 1, name: 'Lee <Pt>' }] });

    const vtt = await get(`/api/conversations/${newest.id}/export?format=vtt`);
    expect(vtt.status).toBe(200);
    expect(vtt.headers['content-type']).toBe('text/vtt; charset=utf-8');
    expect(vtt.headers['content-disposition']).toMatch(/^attachment; filename="conversation-[0-9-]+\.vtt"$/);
    expect(vtt.text.startsWith('WEBVTT\n\n')).toBe(true);
    expect(vtt.text).toContain('<v Dr. Kim>Hello &lt;there&gt; &amp; you');
    const srt = (await get(`/api/conversations/${newest.id}/export?format=srt`)).text;
    expect(srt).toMatch(/^1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n(Dr\. Kim|Lee <Pt>): Hello <there> & you\n/);
    if (srt.includes('Lee')) expect(srt).toContain('Lee <Pt>: ');
    const txt = (await get(`/api/conversations/${newest.id}/export?format=txt`)).text;
    expect(txt.startsWith('Intake\n')).toBe(true);
    const json = (await get(`/api/conversations/${newest.id}/export?format=json`)).json<{ id: string; title: string }>();
    expect(json).toMatchObject({ id: newest.id, title: 'Intake' });

    expect((await api(server.url, server.token, 'DELETE', `/api/conversations/${newest.id}`)).status).toBe(200);
    expect(existsSync(server.store.dirOf(newest.id))).toBe(false);
    expect((await get(`/api/conversations/${newest.id}`)).status).toBe(404);
    expect((await api(server.url, server.token, 'DELETE', `/api/conversations/${newest.id}`)).status).toBe(404);
    expect((await get('/api/conversations')).json<Array<{ id: string }>>().map((c) => c.id)).not.toContain(newest.id);
  });
});

describe('KEEP_AUDIO across a resume', () => {
  let server: RunningServer;
  afterAll(() => server?.close());

  it('keeps one continuous compressed file of the whole conversation beside its record', async () => {
    const conv = loadConversation('1688-1998-easy');
    server = await startTestServer({ KEEP_AUDIO: true }, { asr: new FakeAsrEngine({ delayMs: 1 }) });
    const audio = conv.audio.subarray(0, 20 * 16_000);
    const a = await ProtocolClient.connect({ url: server.url, token: server.token });
    const started = await startConversation(a, conv);
    await a.streamAudio(audio.subarray(0, 10 * 16_000));
    await a.drain(0);
    await quiet(a, 1500);
    a.ws.terminate();
    const { client: b, started: resumed, from } = await resume(server.url, server.token, started.conversation_id!, -1);
    await b.streamAudio(audio.subarray(Math.round(resumed.resume_from! * 16_000)));
    b.send({ type: 'stop_transcription' });
    await b.next((m) => m.type === 'transcription_stopped', 60_000, from);
    await b.close();
    const rec = (await api(server.url, server.token, 'GET', `/api/conversations/${started.conversation_id}`)).json<{ audio_file: string; duration_s: number }>();
    const opus = hasOpusEncoder();
    expect(rec.audio_file).toBe(opus ? 'audio.ogg' : 'audio.wav');
    expect(rec.duration_s).toBeCloseTo(20, 2);
    const file = join(server.store.dirOf(started.conversation_id!), rec.audio_file);
    expect(existsSync(file)).toBe(true);
    if (opus) {
      const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '16000', 'pipe:1'], { maxBuffer: 1 << 30 });
      expect(r.status).toBe(0);
      expect(Math.abs(r.stdout.length / 2 / 16_000 - 20)).toBeLessThan(0.05);
    }
  });
});

describe('RETENTION_DAYS at startup', () => {
  it('deletes conversations that ended longer ago, keeps the others and the saved voices', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'duet-retention-'));
    const seed = new ConversationStore(dataDir);
    await seed.init();
    const models = { asr: null, speaker: 'enc', vad: 'silero-v4' };
    const ended = async (daysAgo: number) => {
      const at = new Date(Date.now() - daysAgo * 86_400_000);
      const m = await seed.create({ language: 'en', models, speakers: [], startedAt: at });
      await seed.updateMeta(m.id, (x) => ({ ...x, ended_at: at.toISOString() }));
      return m.id;
    };
    const old = await ended(40);
    const recent = await ended(2);
    const voice = await seed.saveVoice({ name: 'Kim', encoder: 'enc', profile: {} });
    const server = await startTestServer({ DATA_DIR: dataDir, RETENTION_DAYS: 30 }, { asr: null });
    try {
      const ids = (await api(server.url, server.token, 'GET', '/api/conversations')).json<Array<{ id: string }>>().map((c) => c.id);
      expect(ids).toEqual([recent]);
      expect(existsSync(seed.dirOf(old))).toBe(false);
      expect((await api(server.url, server.token, 'GET', `/api/voices/${voice.id}`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
