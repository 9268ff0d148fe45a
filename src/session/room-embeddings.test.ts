/**
 * The room embeds no stretch of a segment twice while it assigns it, auto-enrollment included
 * (a voice taken from a segment, then that segment assigned: once with one voice, once with
 * two). Real models (Silero, built-in encoder) on a vendored dev conversation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToPcm16 } from '../audio/wav.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { BuiltinSpeakerEncoder } from '../speaker/builtin.js';
import { countingEncoder, repeatedCalls, type CountingEncoder } from '../testing/counting-encoder.js';
import { loadConversation } from '../testing/corpus.js';
import { buildPipeline, type Pipeline } from './pipeline.js';

describe('room: each stretch of a segment embedded once', () => {
  const conv = loadConversation('1688-1998-easy');
  let pipeline: Pipeline;
  let encoder: CountingEncoder;

  beforeAll(async () => {
    encoder = countingEncoder(new BuiltinSpeakerEncoder());
    const config = loadConfig({}, [], { ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', LOG_LEVEL: 'silent', AUTO_ENROLL: true });
    pipeline = await buildPipeline(config, { encoder }, createLogger('silent'));
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  it('with auto-enrollment, over a whole conversation', async () => {
    const room = pipeline.createRoom();
    const front = pipeline.createFront(room);
    let segments = 0;
    let embedded = 0;
    const take = async (segs: Awaited<ReturnType<typeof front.push>>) => {
      for (const seg of segs) {
        const from = encoder.calls.length;
        await room.assign(seg);
        const calls = encoder.calls.slice(from);
        expect(repeatedCalls(calls)).toEqual([]);
        segments++;
        embedded += calls.length;
      }
    };
    for (let at = 0; at < conv.audio.length; at += 1600) await take(await front.push(floatToPcm16(conv.audio.subarray(at, Math.min(conv.audio.length, at + 1600)))));
    await take(await front.flush());
    expect(room.has(0) && room.has(1)).toBe(true);
    expect(segments).toBeGreaterThan(10);
    expect(embedded).toBeGreaterThan(segments);
  }, 120_000);
});
