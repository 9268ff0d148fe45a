/**
 * The live pipeline with the real models (Silero, built-in encoder) on a vendored dev
 * conversation: the frame watch confirms speaker changes sooner than the embedding watch,
 * without losing attribution; a saved voice keeps its frame model, and a voice without one
 * gets the embedding watch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToPcm16 } from '../audio/wav.js';
import { loadConfig } from '../config.js';
import { computeDer } from '../eval/der.js';
import { createLogger } from '../log.js';
import { loadConversation, referenceTurns, type Conversation } from '../testing/corpus.js';
import { buildPipeline, type Pipeline } from './pipeline.js';

const RATE = 16_000;

/** Streams `conv` in the page's 100 ms chunks; each part with the audio received when it came out. */
async function live(pipeline: Pipeline, conv: Conversation) {
  const room = pipeline.createRoom();
  for (const [id, audio] of [[conv.speakerId.A!, conv.enrollA], [conv.speakerId.B!, conv.enrollB]] as const) {
    expect((await room.enroll(id, audio)).ok).toBe(true);
  }
  const front = pipeline.createFront(room);
  const parts: Array<{ speaker: 0 | 1 | null; startS: number; endS: number; delayS: number | null }> = [];
  const take = async (segments: Awaited<ReturnType<typeof front.push>>, received: number | null) => {
    for (const seg of segments) {
      for (const p of await room.assign(seg)) parts.push({ speaker: p.speakerId, startS: p.startSample / RATE, endS: p.endSample / RATE, delayS: received === null ? null : (received - p.endSample) / RATE });
    }
  };
  for (let at = 0; at < conv.audio.length; at += 1600) {
    const end = Math.min(conv.audio.length, at + 1600);
    await take(await front.push(floatToPcm16(conv.audio.subarray(at, end))), end);
  }
  await take(await front.flush(), null);
  const der = computeDer(
    referenceTurns(conv),
    parts,
    { durationS: conv.audio.length / RATE },
  ).der;
  const delays = parts.flatMap((p) => (p.delayS === null ? [] : [p.delayS]));
  return { room, der, maxDelayS: Math.max(...delays) };
}

describe('live pipeline change watch (real models)', () => {
  const conv = loadConversation('1688-1998-easy');
  let frames: Pipeline;
  let embedding: Pipeline;

  beforeAll(async () => {
    // In-process: these tests look inside the room (frameScorer), which a worker's proxy does not
    // offer; src/front-pool/pool.test.ts checks that the pool decides the same.
    const base = { ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', LOG_LEVEL: 'silent', FRONT_THREADS: 0 } as const;
    frames = await buildPipeline(loadConfig({}, [], base), {}, createLogger('silent'));
    embedding = await buildPipeline(loadConfig({}, [], { ...base, CHANGE_WATCH_FRAMES: false }), {}, createLogger('silent'));
  });
  afterAll(async () => {
    await frames?.close();
    await embedding?.close();
  });

  it('confirms changes sooner with the frame models, attribution within a point', async () => {
    const f = await live(frames, conv);
    const e = await live(embedding, conv);
    expect(f.room.hasFrameVoices?.()).toBe(true);
    expect(e.room.hasFrameVoices?.()).toBe(false);
    // The slowest part: a turn that runs into the next voice after a 0.4 s pause waits for the
    // embedding watch's three 1 s windows (1.6 s); the frame watch cuts it in under 1 s.
    expect(f.maxDelayS).toBeLessThan(1);
    expect(e.maxDelayS).toBeGreaterThan(f.maxDelayS + 0.3);
    // A few more cuts near the ends of turns leave short pieces unassigned (missed speech):
    // on this conversation 3.0 % against 2.4 %.
    expect(f.der).toBeLessThan(0.04);
    expect(f.der).toBeLessThan(e.der + 0.01);
  }, 120_000);

  it('keeps the frame model with a saved voice, and falls back to the embedding watch without one', async () => {
    const room = frames.createRoom();
    await room.enroll(0, conv.enrollA);
    await room.enroll(1, conv.enrollB);
    expect(room.hasFrameVoices?.()).toBe(true);
    // What storage keeps: plain JSON.
    const saved = JSON.parse(JSON.stringify(room.exportVoice!(1)!));
    const adopt = (profile: unknown) => {
      const other = frames.createRoom();
      return other.enroll(0, conv.enrollA).then(() => ({ other, r: other.adoptVoice!(1, { encoder: saved.encoder, profile }) }));
    };
    const same = await adopt(saved.profile);
    expect(same.r.ok).toBe(true);
    expect(same.other.hasFrameVoices?.()).toBe(true);
    const window = conv.audio.subarray(6 * RATE, 7 * RATE);
    const [x, y] = [(await same.other.frameScorer!()(window, 6 * RATE))!, (await room.frameScorer!()(window, 6 * RATE))!];
    expect(x[1]).toBeCloseTo(y[1], 9);
    // A voice saved before frame models, or with a damaged one: adopted, without a frame model.
    const { frames: model, ...older } = saved.profile;
    for (const profile of [older, { ...saved.profile, frames: { ...model, precision: model.precision.map(() => -1) } }, { ...saved.profile, frames: 'x' }]) {
      const { other, r } = await adopt(profile);
      expect(r.ok).toBe(true);
      expect(other.hasFrameVoices?.()).toBe(false);
      expect(await other.frameScorer!()(window, 6 * RATE)).toBeNull();
      expect(await other.scoreWindow!(conv.audio.subarray(5 * RATE, 7 * RATE))).not.toBeNull();
    }
  }, 60_000);
});
