import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ASSIGNER, SpeakerAssigner, decideByMargin, decideShortTurn, enforceMinLength, viterbi2 } from './assigner.js';
import { BuiltinSpeakerEncoder } from './builtin.js';
import { concat } from '../testing/signals.js';
import { trimSilence, utterance } from '../testing/dev-utterances.js';
import { enrollSpeaker, type SpeakerProfile } from './profile.js';

describe('viterbi2', () => {
  it('follows clear evidence and ignores one-window blips', () => {
    const s = (a: number, b: number) => [a, b] as const;
    expect(viterbi2([s(0.8, 0.2), s(0.8, 0.2), s(0.8, 0.2), s(0.2, 0.8), s(0.2, 0.8), s(0.2, 0.8)], 0.5)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(viterbi2([s(0.8, 0.2), s(0.8, 0.2), s(0.3, 0.6), s(0.8, 0.2), s(0.8, 0.2)], 0.5)).toEqual([0, 0, 0, 0, 0]);
    expect(viterbi2([], 1)).toEqual([]);
  });
});

describe('enforceMinLength', () => {
  it('merges short runs into the longer neighbour and joins equal labels', () => {
    expect(enforceMinLength([{ start: 0, label: 0 }, { start: 50, label: 1 }, { start: 55, label: 0 }], 100, 10)).toEqual([{ start: 0, label: 0 }]);
    expect(enforceMinLength([{ start: 0, label: 1 }, { start: 5, label: 0 }, { start: 60, label: 1 }], 100, 10)).toEqual([{ start: 0, label: 0 }, { start: 60, label: 1 }]);
    expect(enforceMinLength([{ start: 0, label: 0 }, { start: 95, label: 1 }], 100, 10)).toEqual([{ start: 0, label: 0 }]);
  });
});

describe('decideByMargin', () => {
  const o = DEFAULT_ASSIGNER;
  it('takes the best at the threshold, and under it only with a clear lead over the other', () => {
    expect(decideByMargin([0.7, 0.65], o)).toBe(0);
    expect(decideByMargin([0.1, 0.45], o)).toBe(1);
    expect(decideByMargin([0.3, 0.45], o)).toBeNull();
    expect(decideByMargin([-0.1, -0.5], o)).toBeNull();
  });
});

describe('decideShortTurn', () => {
  const o = DEFAULT_ASSIGNER;
  it('keeps a clear short turn as scored', () => {
    expect(decideShortTurn({ similarity: [0.8, 0.1], previous: null }, o)).toBe(0);
    expect(decideShortTurn({ similarity: [0.8, 0.1], previous: { speakerId: 0, similarity: 0.7 } }, o)).toBe(0);
  });

  it('gives a weak, unlike short turn to the other speaker than the neighbour', () => {
    // Scores alone: below the threshold, barely apart. After speaker 0, and unlike that part.
    expect(decideShortTurn({ similarity: [0.35, 0.4], previous: null }, o)).toBeNull();
    expect(decideShortTurn({ similarity: [0.35, 0.4], previous: { speakerId: 0, similarity: 0.1 } }, o)).toBe(1);
    expect(decideShortTurn({ similarity: [0.4, 0.35], previous: { speakerId: 1, similarity: 0.1 } }, o)).toBe(0);
  });

  it('keeps the neighbour’s speaker when the short turn sounds like that part', () => {
    expect(decideShortTurn({ similarity: [0.4, 0.35], previous: { speakerId: 0, similarity: 0.95 } }, o)).toBe(0);
  });

  it('stays null when nothing decides, or when the voice is like neither', () => {
    expect(decideShortTurn({ similarity: [0.3, 0.3], previous: { speakerId: 0, similarity: 0.6 } }, { ...o, alternationBonus: 0 })).toBeNull();
    expect(decideShortTurn({ similarity: [0.02, -0.1], previous: { speakerId: 1, similarity: 0 } }, o)).toBeNull();
  });
});


describe('SpeakerAssigner on real speech', () => {
  const enc = new BuiltinSpeakerEncoder();
  const profiles: SpeakerProfile[] = [];
  beforeAll(async () => {
    await enc.load();
    for (const spk of ['1688', '2033']) {
      const r = await enrollSpeaker(enc, concat(utterance(spk, 0), utterance(spk, 1)));
      if (!r.ok) throw new Error(r.reason);
      profiles.push(r.profile);
    }
  });

  const assigner = () => {
    const a = new SpeakerAssigner(enc, { threshold: 0.6 });
    a.setProfile(0, profiles[0]!);
    a.setProfile(1, profiles[1]!);
    return a;
  };

  it('keeps a one-speaker segment whole', async () => {
    const x = trimSilence(utterance('2033', 4));
    const parts = await assigner().assign({ startSample: 1000, endSample: 1000 + x.length, audio: x, audioStartSample: 1000 });
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ startSample: 1000, endSample: 1000 + x.length, speakerId: 1 });
    expect(parts[0]!.similarity[1]).toBeGreaterThan(parts[0]!.similarity[0]);
  });

  it('splits two male speakers talking without a pause within ±0.5 s of the change', async () => {
    const a = trimSilence(utterance('1688', 3)).subarray(0, 4 * 16_000);
    const b = trimSilence(utterance('2033', 3)).subarray(0, 3.5 * 16_000);
    const pad = 3_200;
    const audio = concat(new Float32Array(pad), a, b);
    const start = 50_000;
    const seg = { startSample: start + pad, endSample: start + audio.length, audio, audioStartSample: start };
    const t0 = performance.now();
    const parts = await assigner().assign(seg);
    const ms = performance.now() - t0;
    expect(parts.map((p) => p.speakerId)).toEqual([0, 1]);
    expect(parts[0]!.startSample).toBe(seg.startSample);
    expect(parts[1]!.endSample).toBe(seg.endSample);
    expect(parts[1]!.startSample).toBe(parts[0]!.endSample);
    const change = seg.startSample + a.length;
    expect(Math.abs(parts[0]!.endSample - change)).toBeLessThanOrEqual(8_000);
    for (const p of parts) expect(p.similarity[p.speakerId!]).toBeGreaterThanOrEqual(0.6);
    expect(ms).toBeLessThan(500);
  });

  it('leans each part by the frame evidence, clipped, and only when it is on and both voices are registered', async () => {
    const x = trimSilence(utterance('2033', 4));
    const seg = { startSample: 0, endSample: x.length, audio: x, audioStartSample: 0 };
    const [plain] = await assigner().assign(seg);
    const withEvidence = (opts: Partial<typeof DEFAULT_ASSIGNER>, llr: number | null) => {
      const heard: number[] = [];
      const a = new SpeakerAssigner(enc, { threshold: 0.6, ...opts }, (samples) => (heard.push(samples.length), llr));
      a.setProfile(0, profiles[0]!);
      a.setProfile(1, profiles[1]!);
      return { a, heard };
    };
    // +1 nat toward speaker 1 at weight 0.1: ±0.05 on the pair, for the part's whole audio.
    const one = withEvidence({ frameWeight: 0.1 }, 1);
    const [leaned] = await one.a.assign(seg);
    expect(one.heard).toContain(x.length);
    expect(leaned!.similarity[0]).toBeCloseTo(plain!.similarity[0] - 0.05, 6);
    expect(leaned!.similarity[1]).toBeCloseTo(Math.min(1, plain!.similarity[1] + 0.05), 6);
    // Clipped to ±frameClip (1.5 nats) however sure the frames are.
    const [clipped] = await withEvidence({ frameWeight: 0.1 }, 100).a.assign(seg);
    expect(clipped!.similarity[0]).toBeCloseTo(plain!.similarity[0] - 0.075, 6);
    // Heavy enough, it overturns the embedding (this is speaker 1 speaking).
    const [overturned] = await withEvidence({ frameWeight: 2 }, -100).a.assign(seg);
    expect(overturned!.speakerId).toBe(0);
    // …and stays on the −1…1 scale of protocol.md.
    for (const x of overturned!.similarity) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    expect(overturned!.similarity[0]).toBe(1);
    // Off, or nothing to say: the embedding alone.
    const off = withEvidence({ frameWeight: 0 }, 1);
    expect((await off.a.assign(seg))[0]!.similarity).toEqual(plain!.similarity);
    expect(off.heard).toEqual([]);
    expect((await withEvidence({ frameWeight: 0.1 }, null).a.assign(seg))[0]!.similarity).toEqual(plain!.similarity);
    // One voice registered: no ratio of two voices to lean by.
    const single = new SpeakerAssigner(enc, { threshold: 0.6, frameWeight: 0.1 }, () => 1);
    single.setProfile(1, profiles[1]!);
    expect((await single.assign(seg))[0]!.similarity[0]).toBe(0);
  });

  it('gives null below the threshold and a single part when a profile is missing', async () => {
    const x = trimSilence(utterance('1998', 2));
    const a = new SpeakerAssigner(enc, { threshold: 0.99 });
    a.setProfile(0, profiles[0]!);
    const parts = await a.assign({ startSample: 0, endSample: x.length, audio: x, audioStartSample: 0 });
    expect(parts).toHaveLength(1);
    expect(parts[0]!.speakerId).toBeNull();
    expect(parts[0]!.similarity[1]).toBe(0);
  });
});

describe('SpeakerAssigner conversation evidence', () => {
  it('scoreWindow is null until both voices are registered, then scores like assign', async () => {
    const enc = new BuiltinSpeakerEncoder();
    await enc.load();
    const a = new SpeakerAssigner(enc);
    const x = trimSilence(utterance('2033', 4));
    expect(await a.scoreWindow(x)).toBeNull();
    for (const [id, spk] of [[0, '1688'], [1, '2033']] as const) {
      const r = await enrollSpeaker(enc, concat(utterance(spk, 0), utterance(spk, 1)));
      if (!r.ok) throw new Error(r.reason);
      a.setProfile(id, r.profile);
    }
    const s = await a.scoreWindow(x);
    const parts = await a.assign({ startSample: 0, endSample: x.length, audio: x, audioStartSample: 0 });
    expect(s![1]).toBeGreaterThan(s![0]);
    expect(parts[0]!.similarity[1]).toBeCloseTo(s![1], 6);
  });
});

/** A code encoder: a part's embedding is its first three samples, so a test sets it exactly. */
const codeEncoder = { name: 'code', dim: 3, load: async () => {}, close: async () => {}, embed: async (x: Float32Array) => Float32Array.from(x.subarray(0, 3)) };
const profile = (mean: number[]): SpeakerProfile => ({ encoder: 'code', mean: Float32Array.from(mean), embeddings: [Float32Array.from(mean)], speechSeconds: 10, adaptedSegments: 0 });

describe('SpeakerAssigner conversation evidence is chosen on the profile scores', () => {
  const part = (code: number[], seconds = 1.8) => {
    const audio = new Float32Array(Math.round(seconds * 16_000));
    audio.set(code);
    return audio;
  };

  it('does not keep a part the evidence vouched for but the enrolled voices did not', async () => {
    const a = new SpeakerAssigner(codeEncoder);
    a.setProfile(0, profile([1, 0, 0]));
    a.setProfile(1, profile([0, 1, 0]));
    let at = 0;
    const assign = async (code: number[]) => {
      const audio = part(code);
      const parts = await a.assign({ startSample: at, endSample: at + audio.length, audio, audioStartSample: at });
      at += audio.length + 16_000;
      return parts[0]!.speakerId;
    };
    expect(await assign([1, 0, 0])).toBe(0); // evidence for 0
    expect(await assign([0, 0.8, 0.6])).toBe(1); // evidence for 1, heard "in this room" (third axis)
    // Mostly room: the enrolled voice 1 scores it only 0.5 (not confident), the room-heavy
    // evidence of 1 makes the blend 0.79 — assigned 1, but it must not become evidence itself.
    expect(await assign([0, 0.5, 0.866])).toBe(1);
    // Pure room: scored only against the evidence kept. With the part above kept it would be
    // 0.7 × 0.866 = 0.61 (and the pool would keep drifting to the room); without, 0.7 × 0.6 = 0.42.
    const s = await a.scoreWindow(part([0, 0, 1]));
    expect(s![1]).toBeCloseTo(0.42, 2);
  });
});

describe('SpeakerAssigner conversation evidence by clustering', () => {
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };

  /** Assigns 1.8 s parts with the given embeddings in turn; returns the speaker of the last. */
  async function lastSpeaker(clusterMinParts: number, codes: number[][]) {
    const a = new SpeakerAssigner(codeEncoder, { clusterMinParts });
    a.setProfile(0, profile([1, 0, 0]));
    a.setProfile(1, profile([0, 1, 0]));
    let at = 0;
    let last: number | null = null;
    for (const code of codes) {
      const audio = new Float32Array(Math.round(1.8 * 16_000));
      audio.set(code);
      last = (await a.assign({ startSample: at, endSample: at + audio.length, audio, audioStartSample: at }))[0]!.speakerId;
      at += audio.length + 16_000;
    }
    return last;
  }

  it('gives a part the profiles get wrong to the voice whose other parts it sounds like', async () => {
    // In this room he (speaker 0) sounds like [0.6, 0.3, +0.74] and she like [0.3, 0.6, −0.74]:
    // the profiles favour the right voice for each, the third axis (the room, the two places)
    // tells them apart. One of his turns, [0.3, 0.45, 0.84], scores higher for her profile.
    const him = unit([0.6, 0.3, 0.74]);
    const her = unit([0.3, 0.6, -0.74]);
    const odd = unit([0.3, 0.45, 0.84]);
    const talk = [him, her, him, her, him, her, odd];
    // Off: the profiles (and evidence kept by profile score) do not give it to him …
    expect(await lastSpeaker(0, talk)).not.toBe(0);
    // … on: it clusters with his turns, and his cluster is named by all of their votes.
    expect(await lastSpeaker(6, talk)).toBe(0);
  });
});
