import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToPcm16 } from '../audio/wav.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { buildPipeline, type Pipeline } from '../session/pipeline.js';
import type { ClosedSegment, ConversationFront, SpeakerRoom } from '../session/ports.js';
import { join } from 'node:path';
import { conversationNames, loadConversation, loadConversationDir } from '../testing/corpus.js';
import { CONVERSATIONS_DIR } from '../testing/paths.js';
import { FrontCrashedError } from './pool.js';

/** The samples' exact bytes, as a short digest. */
const digest = (a: Float32Array) => `${a.length}:${createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex')}`;

/** Everything a session sees from one run of a conversation through a room and its front. */
async function run(p: Pipeline, conv: ReturnType<typeof loadConversation>, chunkSamples: number) {
  const room: SpeakerRoom = p.createRoom();
  const enrolled = [];
  for (const [id, audio] of [[conv.speakerId.A!, conv.enrollA], [conv.speakerId.B!, conv.enrollB]] as const) {
    const r = await room.enroll(id, audio);
    enrolled.push({ ok: r.ok, speechSeconds: r.speechSeconds, has: room.has(id) });
  }
  const saved = [room.exportVoice!(0), room.exportVoice!(1)];
  const front: ConversationFront = p.createFront(room);
  const events: unknown[] = [];
  const take = async (segs: ClosedSegment[]) => {
    for (const s of segs) {
      const parts = await room.assign(s);
      events.push({ start: s.startSample, end: s.endSample, audioStart: s.audioStartSample, reason: (s as { endReason?: string }).endReason, audio: digest(s.audio), parts });
    }
  };
  for (let at = 0; at < conv.audio.length; at += chunkSamples) {
    await take(await front.push(floatToPcm16(conv.audio.subarray(at, at + chunkSamples))));
    const open = front.open!();
    // The open segment as partials see it: its position, guess and audio (compared sample by sample).
    events.push(open ? { open: open.startSample, received: open.receivedSamples, guess: open.speakerGuess, audio: digest(open.audio()) } : null);
  }
  await take(await front.flush());
  events.push(front.open!());
  return { enrolled, saved, events, after: [room.exportVoice!(0), room.exportVoice!(1)] };
}

describe('front pool', () => {
  const log = createLogger('silent');
  let local: Pipeline;
  let pooled: Pipeline;
  beforeAll(async () => {
    const base = { ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', LOG_LEVEL: 'silent' } as const;
    local = await buildPipeline(loadConfig({}, [], { ...base, FRONT_THREADS: 0 }), {}, log);
    pooled = await buildPipeline(loadConfig({}, [], { ...base, FRONT_THREADS: 2 }), {}, log);
  }, 120_000);
  afterAll(async () => {
    await local?.close();
    await pooled?.close();
  });

  it('makes the same decisions, segments, open-segment views and voices as the in-process front', async () => {
    expect(local.frontPool).toBeNull();
    expect(pooled.frontPool).not.toBeNull();
    // A hard conversation (turns that overlap or barely pause) makes the change watch cut open segments.
    const name = '1688-2033-hard';
    const conv = loadConversationDir(join(CONVERSATIONS_DIR, name), name);
    // An odd chunk length (not a multiple of the 512-sample frame) exercises the frame carry-over.
    const [a, b] = await Promise.all([run(local, conv, 1_700), run(pooled, conv, 1_700)]);
    expect(b.enrolled).toEqual(a.enrolled);
    expect(b.saved).toEqual(a.saved);
    expect(b.events.length).toBe(a.events.length);
    expect(b.events).toEqual(a.events);
    expect(b.after).toEqual(a.after);
    expect(a.events.filter((e) => e && (e as { open?: number }).open !== undefined).length).toBeGreaterThan(10);
    expect(a.events.some((e) => (e as { reason?: string } | null)?.reason === 'speaker_change')).toBe(true);
  }, 300_000);

  it('adopts a saved voice by the same rule, and a worker that dies fails only its own sessions', async () => {
    const conv = loadConversation(conversationNames()[0]!);
    const pool = pooled.frontPool!;
    const donor = local.createRoom();
    expect((await donor.enroll(0, conv.enrollA)).ok).toBe(true);
    const voice = donor.exportVoice!(0)!;
    const rooms = [pooled.createRoom(), pooled.createRoom()];
    // Least loaded: the two sessions land on the two workers.
    expect(pool.loads.filter((n) => n > 0).length).toBe(2);
    expect(rooms[0]!.adoptVoice!(1, voice)).toEqual(local.createRoom().adoptVoice!(1, voice));
    expect(rooms[0]!.exportVoice!(1)).toEqual(voice);
    expect(rooms[0]!.adoptVoice!(0, voice)).toEqual({ ok: false, reason: 'too_similar' });
    const fronts = rooms.map((r) => pooled.createFront(r));
    const chunk = floatToPcm16(conv.audio.subarray(0, 16_000));
    await Promise.all(fronts.map((f) => f.push(chunk)));
    const busy = pool.loads.findIndex((n) => n > 0);
    pool.crashWorkerForTest(busy);
    const results = await Promise.allSettled(fronts.map((f) => f.push(chunk)));
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.length).toBe(1);
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(FrontCrashedError);
    expect(((failed[0] as PromiseRejectedResult).reason as { code: string }).code).toBe('front_crashed');
    // The survivor goes on; a new session is served (by the survivor or the replacement).
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    const fresh = pooled.createFront(pooled.createRoom());
    expect(await fresh.push(chunk)).toEqual([]);
  }, 120_000);
});
