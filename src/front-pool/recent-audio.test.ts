import { describe, expect, it } from 'vitest';
import { FrameAssembler } from '../audio/frames.js';
import { concat, seededRandom } from '../testing/signals.js';
import { RecentAudio } from './recent-audio.js';

/** PCM16 LE bytes of a deterministic signal covering the whole sample range. */
function pcm(n: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: 2 * n }, () => Math.floor(random() * 256));
}

/** The floats a FrameAssembler makes of the same bytes (the front's own conversion). */
function assembled(bytes: Uint8Array): Float32Array {
  const fa = new FrameAssembler(512);
  const frames = fa.push(bytes).map((f) => f.samples);
  const last = fa.flush();
  if (last) frames.push(last.samples.subarray(0, last.validSamples));
  return concat(...frames);
}

describe('RecentAudio', () => {
  it('converts bytes exactly as the front does, across odd chunk splits', () => {
    const bytes = pcm(10_000);
    const r = new RecentAudio(20_000);
    for (const [a, b] of [[0, 1], [1, 2], [2, 333], [333, 7001], [7001, 20_000]] as const) r.append(bytes.subarray(a, b));
    expect(r.receivedSamples).toBe(10_000);
    expect(r.slice(0, 10_000)).toEqual(assembled(bytes));
    expect(r.slice(1234, 5678)).toEqual(assembled(bytes).subarray(1234, 5678));
  });

  it('keeps only the newest capacity samples, wrapping, and gives zeros for what it no longer holds', () => {
    const bytes = pcm(50_000, 7);
    const want = assembled(bytes);
    const r = new RecentAudio(16_000);
    for (let at = 0; at < bytes.length; at += 3_202) r.append(bytes.subarray(at, at + 3_202));
    expect(r.slice(50_000 - 16_000, 50_000)).toEqual(want.subarray(50_000 - 16_000));
    expect(r.slice(40_000, 45_000)).toEqual(want.subarray(40_000, 45_000));
    const early = r.slice(33_000, 35_000);
    expect(early.subarray(0, 1_000).every((v) => v === 0)).toBe(true);
    expect(early.subarray(1_000)).toEqual(want.subarray(34_000, 35_000));
    // A chunk longer than the capacity keeps its newest samples.
    const big = new RecentAudio(1_000);
    big.append(bytes);
    expect(big.receivedSamples).toBe(50_000);
    expect(big.slice(49_000, 50_000)).toEqual(want.subarray(49_000));
  });
});
