/**
 * Partials end to end over a real WSS connection (real VAD, segmenter and change watch; a fake
 * recognizer behind the real queue): a live-paced conversation gets interim text of each open
 * segment, numbered with the id its `segment` then carries and always before it; `segment` and
 * `transcription` follow exactly as without partials; a replayed file gets none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { loadConversation, type Conversation } from '../src/testing/corpus.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { startTestServer } from './helpers/server.js';

type Seg = Extract<Received, { type: 'segment' }>;
type Tx = Extract<Received, { type: 'transcription' }>;
type Partial = Extract<Received, { type: 'partial' }>;

/** Seconds of the conversation streamed live (the test's wall time is about this). */
const LIVE_S = 14;

/** One word per 0.4 s of audio, so a growing segment gives a growing text with a stable head. */
const words = (samples: Float32Array) =>
  Array.from({ length: Math.floor(samples.length / 6400) }, (_, i) => `w${i}`).join(' ');

async function converse(client: ProtocolClient, audio: Float32Array, realTime: boolean): Promise<Received[]> {
  const from = client.messages.length;
  client.send({ type: 'start_transcription', language: 'en' });
  await client.next((m) => m.type === 'transcription_started', 10_000, from);
  await client.streamAudio(audio, { frameSamples: 1600, realTime });
  client.send({ type: 'stop_transcription' });
  await client.next((m) => m.type === 'transcription_stopped', 60_000, from);
  return client.messages.slice(from);
}

describe('partials over WSS', () => {
  let server: RunningServer;
  let conv: Conversation;
  const asr = new FakeAsrEngine({ text: words, delayMs: 20 });
  let client: ProtocolClient;

  beforeAll(async () => {
    conv = loadConversation('1688-1998-easy');
    server = await startTestServer({ PARTIALS: 'on' }, { asr });
    client = await ProtocolClient.connect({ url: server.url, token: server.token });
    await client.enroll(0, conv.enrollA, 'A');
    await client.enroll(1, conv.enrollB, 'B');
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('sends partials of each open segment before its segment, with the id, start and a growing stable prefix', async () => {
    const msgs = await converse(client, conv.audio.subarray(0, LIVE_S * 16_000), true);
    expect(msgs.filter((m) => m.type === 'error')).toEqual([]);
    const segs = msgs.filter((m): m is Seg => m.type === 'segment');
    const txs = msgs.filter((m): m is Tx => m.type === 'transcription');
    const partials = msgs.filter((m): m is Partial => m.type === 'partial');
    expect(segs.length).toBeGreaterThanOrEqual(2);
    expect(partials.length).toBeGreaterThanOrEqual(2);

    // Today's protocol, unchanged: one transcription per segment, after it, in order.
    expect(txs.map((t) => t.segment_id)).toEqual(segs.map((s) => s.segment_id));
    for (const t of txs) expect(msgs.indexOf(t)).toBeGreaterThan(msgs.findIndex((m) => m.type === 'segment' && m.segment_id === t.segment_id));

    const bySegment = new Map<number, Partial[]>();
    for (const p of partials) bySegment.set(p.segment_id, [...(bySegment.get(p.segment_id) ?? []), p]);
    for (const [id, ps] of bySegment) {
      const seg = segs.find((s) => s.segment_id === id);
      // Every partial's segment is sent afterwards, with the same start.
      expect(seg, `segment ${id}`).toBeDefined();
      const at = msgs.indexOf(seg!);
      for (const p of ps) {
        expect(msgs.indexOf(p)).toBeLessThan(at);
        expect(p.start).toBe(seg!.start);
        expect(p.text.startsWith(p.stable)).toBe(true);
        expect(p.text.length).toBeGreaterThan(0);
        expect([0, 1, null]).toContain(p.speaker_id);
      }
      // The stable prefix only grows.
      for (let i = 1; i < ps.length; i++) expect(ps[i]!.stable.startsWith(ps[i - 1]!.stable)).toBe(true);
    }
    // At least one segment ran long enough for two hypotheses to agree.
    expect(partials.some((p) => p.stable.length > 0)).toBe(true);
    // Partials went to the engine marked as such, with their cost controls; finals without.
    const partialCalls = asr.calls.filter((c) => c.options.priority === 'partial');
    expect(partialCalls.length).toBeGreaterThanOrEqual(partials.length);
    for (const c of partialCalls) {
      expect(c.options.audioCtx).toBeGreaterThan(0);
      expect(c.options.audioCtx).toBeLessThanOrEqual(1500);
      expect(c.options.maxTokens).toBeGreaterThan(0);
    }
    expect(asr.calls.filter((c) => c.options.priority === undefined).every((c) => c.options.audioCtx === undefined)).toBe(true);
  }, 90_000);

  it('gives a replayed file (faster than real time) no partials, and every final as before', async () => {
    const msgs = await converse(client, conv.audio, false);
    expect(msgs.filter((m) => m.type === 'partial')).toEqual([]);
    const segs = msgs.filter((m) => m.type === 'segment');
    expect(segs.length).toBeGreaterThanOrEqual(10);
    expect(msgs.filter((m) => m.type === 'transcription')).toHaveLength(segs.length);
    expect(msgs.filter((m) => m.type === 'error')).toEqual([]);
  }, 90_000);
});
