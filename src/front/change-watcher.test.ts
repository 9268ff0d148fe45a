import { describe, expect, it } from 'vitest';
import { SpeakerChangeWatcher, type WatchedFront } from './change-watcher.js';
import { ORIGINAL_WATCH } from '../testing/front-original.js';

const RATE = 16_000;

interface FrontState {
  received: number;
  start: number | null;
  cuts: number[];
}

/** A front over `state` whose open audio from a sample is what `audio` makes of it; cuts are recorded. */
function frontOver(state: FrontState, audio: (from: number) => Float32Array): WatchedFront {
  return {
    get openStartSample() {
      return state.start;
    },
    get receivedSamples() {
      return state.received;
    },
    openAudio: (from: number) => audio(Math.max(from, state.start ?? 0)),
    cutNear: (centre: number) => {
      state.cuts.push(centre);
      state.start = centre;
      return [{ kind: 'segment' }];
    },
  };
}

/** A front with one open segment from `startS`, whose voice is A until `changeS`, then B. */
function fakeFront(startS: number, changeS: number) {
  const state: FrontState = { received: 0, start: Math.round(startS * RATE), cuts: [] };
  // The "audio" of a window is its [from, to) range; the scorer reads it back.
  const front = Object.assign(frontOver(state, (from) => Float32Array.of(from, state.received)), { state });
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
    const w = new SpeakerChangeWatcher(score, { ...ORIGINAL_WATCH, confirmWindows });
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
      const w = new SpeakerChangeWatcher(scoreOf ?? score, ORIGINAL_WATCH);
      for (let t = 1; t <= 8; t += 0.1) {
        front.state.received = Math.round(t * RATE);
        await w.check(front);
      }
      expect(front.state.cuts).toHaveLength(0);
    }
  });

  it('does not take a turn whose first second sounds like the other voice for a change', async () => {
    // One voice (A) all along, but the first scored window of the segment leans to B, as the
    // first second of a real turn often does. Before the segment's speaker was established by
    // confirmWindows agreeing windows, that one window made the right ones that follow a "change".
    const { front } = fakeFront(1, 100);
    let first = true;
    const score = async () => {
      const s = first ? ([0.3, 0.8] as const) : ([0.9, 0.1] as const);
      first = false;
      return s;
    };
    const w = new SpeakerChangeWatcher(score, ORIGINAL_WATCH);
    for (let t = 1; t <= 8; t += 0.1) {
      front.state.received = Math.round(t * RATE);
      await w.check(front);
    }
    expect(front.state.cuts).toHaveLength(0);
  });

  it('scores the same windows, and cuts at the same sample, whatever the chunking', async () => {
    // Audio = its own sample indices, so the scorer sees exactly which samples a window holds.
    const indices = Float32Array.from({ length: 9 * RATE }, (_, i) => i);
    const cutsFor = async (chunkS: number) => {
      const state = { received: 0, start: RATE as number | null, cuts: [] as number[], windows: [] as string[] };
      const front = frontOver(state, (from) => indices.subarray(from, state.received));
      // A voice change at 4.03 s; a window scores by the share of each voice in it.
      const score = async (w: Float32Array) => {
        const from = w[0]!;
        const to = w[w.length - 1]! + 1;
        state.windows.push(`${from}-${to}`);
        const change = 4.03 * RATE;
        const a = Math.max(0, Math.min(to, change) - from);
        return [a / (to - from), 1 - a / (to - from)] as const;
      };
      const w = new SpeakerChangeWatcher(score, ORIGINAL_WATCH);
      for (let t = 1 + chunkS; t <= 8; t += chunkS) {
        state.received = Math.round(t * RATE);
        await w.check(front);
      }
      return state;
    };
    const a = await cutsFor(0.1);
    for (const chunkS of [0.2, 0.37, 1.3]) {
      const b = await cutsFor(chunkS);
      expect(b.cuts).toEqual(a.cuts);
      expect(b.windows.slice(0, 8)).toEqual(a.windows.slice(0, 8));
    }
    expect(a.cuts).toHaveLength(1);
  });

  it('does nothing without an open segment or a score, and rejects nonsense settings', async () => {
    const { front, score } = fakeFront(1, 4);
    front.state.start = null;
    const w = new SpeakerChangeWatcher(score, ORIGINAL_WATCH);
    front.state.received = 10 * RATE;
    expect(await w.check(front)).toEqual([]);
    expect(() => new SpeakerChangeWatcher(score, { windowMs: 0 })).toThrow();
    expect(() => new SpeakerChangeWatcher(score, { marginMin: -1 })).toThrow();
  });
});
