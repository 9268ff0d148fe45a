/**
 * End to end over a real WSS connection: enroll both voices of a vendored test conversation, stream
 * it faster than real time, stop, and check the message sequence against protocol.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { attributedShare, loadConversation, type Conversation } from '../src/testing/corpus.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { concat, silence, tone, whiteNoise } from '../src/testing/signals.js';
import { startTestServer } from './helpers/server.js';

type Seg = Extract<Received, { type: 'segment' }>;
type Tx = Extract<Received, { type: 'transcription' }>;

describe('a two-speaker conversation over WSS', () => {
  let server: RunningServer;
  let conv: Conversation;
  // Answers with the duration it was given, so the test can check which audio each job received.
  const asr = new FakeAsrEngine({ text: (samples) => `${(samples.length / 16_000).toFixed(2)} s`, delayMs: 5 });
  let client: ProtocolClient;

  beforeAll(async () => {
    conv = loadConversation('1688-1998-easy');
    server = await startTestServer({}, { asr });
    client = await ProtocolClient.connect({ url: server.url, token: server.token });
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('reports the loaded models once', () => {
    const loaded = client.messages.filter((m) => m.type === 'model_loaded');
    expect(loaded).toHaveLength(1);
    const m = loaded[0] as Extract<Received, { type: 'model_loaded' }>;
    expect(m.models.asr).toBe('fake asr');
    expect(m.models.vad).toMatch(/silero/);
    expect(typeof m.models.speaker).toBe('string');
  });

  it('registers both voices from their enrollment clips', async () => {
    const a = await client.enroll(0, conv.enrollA, 'A');
    const b = await client.enroll(1, conv.enrollB, 'B');
    for (const [m, id] of [[a, 0], [b, 1]] as const) {
      expect(m.type).toBe('speaker_registration_completed');
      if (m.type !== 'speaker_registration_completed') continue;
      expect(m.speaker_id).toBe(id);
      expect(m.speech_seconds).toBeGreaterThan(2);
      expect(typeof m.message).toBe('string');
    }
  });

  it('streams the conversation and keeps every guarantee of protocol.md', async () => {
    const from = client.messages.length;
    client.send({ type: 'start_transcription', language: 'en' });
    const started = await client.next((m) => m.type === 'transcription_started', 10_000, from);
    expect(started).toMatchObject({ type: 'transcription_started', language: 'en' });
    // Odd chunk sizes: the server must reassemble frames without losing a sample.
    await client.streamAudio(conv.audio, { frameSamples: 1337 });
    client.send({ type: 'stop_transcription' });
    const stopped = await client.next((m) => m.type === 'transcription_stopped', 120_000, from);

    const msgs = client.messages.slice(from);
    const segs = msgs.filter((m): m is Seg => m.type === 'segment');
    const txs = msgs.filter((m): m is Tx => m.type === 'transcription');
    expect(msgs.filter((m) => m.type === 'error')).toEqual([]);
    expect(segs.length).toBeGreaterThanOrEqual(10);
    expect(stopped).toMatchObject({ segments: segs.length });
    expect(msgs.indexOf(stopped)).toBe(msgs.length - 1);

    const durationS = conv.audio.length / 16_000;
    segs.forEach((s, i) => {
      expect(s.segment_id).toBe(segs[0]!.segment_id + i);
      expect(s.start).toBeGreaterThanOrEqual(0);
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.end).toBeLessThanOrEqual(durationS + 1e-3);
      expect(s.end - s.start).toBeLessThanOrEqual(7.05);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(segs[i - 1]!.end);
      expect(s.similarity).toHaveLength(2);
      for (const x of s.similarity) expect(Math.abs(x)).toBeLessThanOrEqual(1);
      expect([0, 1, null]).toContain(s.speaker_id);
    });

    // One transcription per segment, after it, same id/speaker/bounds.
    expect(txs).toHaveLength(segs.length);
    for (const t of txs) {
      const s = segs.find((x) => x.segment_id === t.segment_id)!;
      expect(s).toBeDefined();
      expect(msgs.indexOf(t)).toBeGreaterThan(msgs.indexOf(s));
      expect(t.speaker_id).toBe(s.speaker_id);
      expect([t.start, t.end]).toEqual([s.start, s.end]);
      expect(Number.isNaN(Date.parse(t.timestamp))).toBe(false);
      // The recogniser got the part's audio plus a little context, never another part's.
      const gotS = Number.parseFloat(t.text ?? '');
      expect(gotS).toBeGreaterThanOrEqual(s.end - s.start - 0.01);
      expect(gotS).toBeLessThanOrEqual(s.end - s.start + 0.6);
    }

    // Nothing lost: the reference speech is covered by segments.
    const covered = (t: number) => segs.some((s) => t >= s.start - 0.05 && t <= s.end + 0.05);
    let speech = 0;
    let hit = 0;
    for (const turn of conv.reference) {
      for (let t = turn.startS; t < turn.endS; t += 0.01) {
        speech++;
        if (covered(t)) hit++;
      }
    }
    expect(hit / speech).toBeGreaterThan(0.9);

    // Attribution is mostly right even in this plain end-to-end check (DER is benchmarked).
    expect(attributedShare(conv, segs)).toBeGreaterThan(0.8);
  });
});

describe('non-speech and hallucinations', () => {
  let server: RunningServer;
  // A recogniser that "hears" what Whisper invents on silence, whatever it is given.
  const asr = new FakeAsrEngine({ text: ' Thank you.', delayMs: 5 });
  afterAll(() => server?.close());

  it('produces no segment and no text for silence and noise, and drops invented phrases', async () => {
    server = await startTestServer({}, { asr });
    const conv = loadConversation('1688-1998-easy');
    const client = await ProtocolClient.connect({ url: server.url, token: server.token });
    expect((await client.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    expect((await client.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    const from = client.messages.length;
    client.send({ type: 'start_transcription', language: 'ko' });
    await client.streamAudio(
      concat(
        silence(3),
        whiteNoise({ durationS: 4, dbfs: -62, seed: 3 }),
        whiteNoise({ durationS: 4, dbfs: -30, seed: 4 }),
        tone({ durationS: 2, frequencyHz: 1000, dbfs: -20 }),
        silence(2),
      ),
    );
    client.send({ type: 'stop_transcription' });
    const stopped = await client.next((m) => m.type === 'transcription_stopped', 30_000, from);
    expect(stopped).toMatchObject({ segments: 0 });
    expect(client.messages.slice(from).filter((m) => m.type === 'segment' || m.type === 'transcription')).toEqual([]);
    expect(asr.calls).toHaveLength(0);

    // Real speech reaches the recogniser; its invented "Thank you." is filtered to "".
    const from2 = client.messages.length;
    client.send({ type: 'start_transcription' });
    await client.streamAudio(conv.audio.subarray(0, 12 * 16_000));
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 30_000, from2);
    const texts = client.messages.slice(from2).filter((m): m is Tx => m.type === 'transcription');
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) expect(t.text).toBe('');
    await client.close();
  });
});

describe('enrollment failures over WSS', () => {
  let server: RunningServer;
  afterAll(() => server?.close());

  it('answers too_quiet, too_short and too_similar with a reason, and re-registration replaces', async () => {
    server = await startTestServer();
    const conv = loadConversation('1688-1998-easy');
    const c = await ProtocolClient.connect({ url: server.url, token: server.token });
    const quiet = await c.enroll(0, concat(silence(2), whiteNoise({ durationS: 3, dbfs: -62 })));
    expect(quiet).toMatchObject({ type: 'speaker_registration_failed', speaker_id: 0, reason: 'too_quiet' });
    const short = await c.enroll(0, concat(silence(0.5), conv.enrollA.subarray(0, 16_000 * 1.2), silence(1)));
    expect(short).toMatchObject({ type: 'speaker_registration_failed', speaker_id: 0, reason: 'too_short' });
    expect((await c.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    // The same voice again for the other speaker.
    const same = await c.enroll(1, conv.enrollA);
    expect(same).toMatchObject({ type: 'speaker_registration_failed', speaker_id: 1, reason: 'too_similar' });
    expect((same as { message: string }).message.length).toBeGreaterThan(10);
    expect((await c.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    // Re-registering speaker 0 with B's voice is now too similar to speaker 1; with A it replaces.
    expect(await c.enroll(0, conv.enrollB)).toMatchObject({ reason: 'too_similar' });
    expect((await c.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    await c.close();
  });
});

describe('auto-enrollment mode', () => {
  let server: RunningServer;
  afterAll(() => server?.close());

  it('starts without registration and learns both voices from the conversation', async () => {
    server = await startTestServer({ AUTO_ENROLL: true });
    const conv = loadConversation('1688-1998-easy');
    const c = await ProtocolClient.connect({ url: server.url, token: server.token });
    const from = c.messages.length;
    c.send({ type: 'start_transcription' });
    await c.next((m) => m.type === 'transcription_started', 10_000, from);
    // A second start while one runs is refused; the running conversation is unaffected.
    c.send({ type: 'start_transcription' });
    expect(await c.next((m) => m.type === 'error', 10_000, from)).toMatchObject({ code: 'wrong_state' });
    await c.streamAudio(conv.audio);
    c.send({ type: 'stop_transcription' });
    await c.next((m) => m.type === 'transcription_stopped', 60_000, from);
    const segs = c.messages.slice(from).filter((m): m is Seg => m.type === 'segment');
    // The first voice heard (A) becomes speaker 0, the next different one (B) speaker 1.
    let agree = 0;
    let total = 0;
    for (const s of segs) {
      const ref = conv.reference.find((r) => s.start < r.endS && s.end > r.startS);
      if (!ref) continue;
      total++;
      if (s.speaker_id === conv.speakerId[ref.speaker]) agree++;
    }
    // Segments heard before a voice is learnt (or too short to learn from) may stay null.
    const ids = segs.map((s) => s.speaker_id);
    expect(ids).toContain(0);
    expect(ids).toContain(1);
    expect(ids.filter((id) => id === null).length).toBeLessThanOrEqual(3);
    expect(agree / total).toBeGreaterThan(0.8);
    await c.close();
  });
});
