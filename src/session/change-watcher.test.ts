import { describe, expect, it } from 'vitest';
import { SpeakerChangeWatcher, type WatchedFront } from './change-watcher.js';

const RATE = 16_000;

/** A front with one open segment from `startS`, whose voice is A until `changeS`, then B. */
function fakeFront(startS: number, changeS: number) {
  const state = { received: 0, start: Math.round(startS * RATE) as number | null, cuts: [] as number[] };
  const front: WatchedFront & { state: typeof state } = {
    state,
    get openStartSample() {
      return state.start;
    },
    get receivedSamples() {
      return state.received;
    },
    // The "audio" of a window is its [from, to) range; the scorer reads it back.
    openAudio: (from: number) => Float32Array.of(Math.max(from, state.start ?? 0), state.received),
    cutNear: (centre: number) => {
      state.cuts.push(centre);
      state.start = centre;
      return [{ kind: 'segment' }];
    },
  };
  // Similarity pair: the share of the window spoken by A vs by B.
  const score = async (w: Float32Array) => {
    const [from, to] = [w[0]!, w[1]!];
    const change = changeS * RATE;
    const a = Math.max(0, Math.min(to, change) - from);
    const b = Math.max(0, to - Math.max(from, change));
    return [a / (to - from), b / (to - from)] as const;
  };
  return { front, score };
}

describe('SpeakerChangeWatcher', () => {
  it.each([
    [1, 0.8],
    [2, 1.05],
  ])('with %i confirming window(s), cuts near the change point within %f s of it', async (confirmWindows, maxDelayS) => {
    const { front, score } = fakeFront(1, 4);
    const w = new SpeakerChangeWatcher(score, { confirmWindows });
    let cutAtReceived = -1;
    for (let t = 1; t <= 8; t += 0.1) {
      front.state.received = Math.round(t * RATE);
      const out = await w.check(front);
      if (out.length && cutAtReceived < 0) cutAtReceived = front.state.received;
    }
    expect(front.state.cuts).toHaveLength(1);
    expect(Math.abs(front.state.cuts[0]! / RATE - 4)).toBeLessThan(0.2);
    // Window 1 s: the new voice fills most of it ~0.5 s after the change, plus a hop per confirmation.
    expect(cutAtReceived / RATE - 4).toBeLessThanOrEqual(maxDelayS);
    expect(w.cuts).toBe(1);
  });

  it('does not cut one voice, an unsure window, or a part shorter than minPartMs', async () => {
    for (const [changeS, scoreOf] of [
      [100, null],
      [4, async () => [0.5, 0.52] as const],
      [1.3, null],
    ] as const) {
      const { front, score } = fakeFront(1, changeS);
      const w = new SpeakerChangeWatcher(scoreOf ?? score);
      for (let t = 1; t <= 8; t += 0.1) {
        front.state.received = Math.round(t * RATE);
        await w.check(front);
      }
      expect(front.state.cuts).toHaveLength(0);
    }
  });

  it('does nothing without an open segment or a score, and rejects nonsense settings', async () => {
    const { front, score } = fakeFront(1, 4);
    front.state.start = null;
    const w = new SpeakerChangeWatcher(score);
    front.state.received = 10 * RATE;
    expect(await w.check(front)).toEqual([]);
    expect(() => new SpeakerChangeWatcher(score, { windowMs: 0 })).toThrow();
    expect(() => new SpeakerChangeWatcher(score, { marginMin: -1 })).toThrow();
  });
});
