import { describe, expect, it } from 'vitest';
import { loadConversation } from '../testing/corpus.js';
import { concat, mix, placeAt, scaleRange, silence, tone, whiteNoise } from '../testing/signals.js';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/constants.js';
import { SILENCE_DBFS, rmsDbfs, spectralVarianceDb2 } from './gates.js';
import { RoomLevels } from './room-levels.js';

function frames(x: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let at = 0; at + FRAME_SAMPLES <= x.length; at += FRAME_SAMPLES) out.push(x.subarray(at, at + FRAME_SAMPLES));
  return out;
}


describe('rmsDbfs', () => {
  it('measures RMS level in dBFS', () => {
    expect(rmsDbfs(new Float32Array(512).fill(1))).toBeCloseTo(0, 9);
    expect(rmsDbfs(tone({ durationS: 0.032, dbfs: -20, frequencyHz: 500 }))).toBeCloseTo(-20, 1);
    expect(rmsDbfs(new Float32Array(512))).toBe(SILENCE_DBFS);
    expect(rmsDbfs(new Float32Array(0))).toBe(SILENCE_DBFS);
  });
});

describe('spectral variance gate', () => {
  it('does not depend on the level (above the floor), only on the spectral shape', () => {
    const f = whiteNoise({ durationS: 0.032, dbfs: -20, seed: 3 });
    const quieter = f.map((x) => x * 0.1);
    expect(spectralVarianceDb2(quieter)).toBeCloseTo(spectralVarianceDb2(f), 2);
  });

  it('rejects white noise at any level (flat spectrum)', () => {
    for (const dbfs of [-40, -20, -6]) {
      const fs = frames(whiteNoise({ durationS: 10, dbfs, seed: 11 }));
      const v = fs.map((f) => spectralVarianceDb2(f)).sort((a, b) => a - b);
      expect(v[Math.floor(v.length / 2)]!).toBeLessThan(6);
      // Even when the model says "speech": flat is a reason the gate can name.
      const g = new RoomLevels();
      const vetoed = fs.filter((f) => g.gate(f, 1).reason !== null).length;
      expect(vetoed / fs.length).toBeGreaterThan(0.95);
    }
  });

  it('gives pure tones a high variance (peaked spectrum)', () => {
    for (const frequencyHz of [200, 440, 1000, 3000]) {
      expect(spectralVarianceDb2(tone({ durationS: 0.032, frequencyHz, dbfs: -30 }))).toBeGreaterThan(100);
    }
  });
});

/** Share of frames of `x` that `gate` vetoes, each judged with probability `prob`; also the reasons. */
function vetoes(x: Float32Array, prob = 1, gate = new RoomLevels()) {
  const reasons: Record<string, number> = {};
  const fs = frames(x);
  for (const f of fs) {
    const r = gate.gate(f, prob).reason;
    if (r) reasons[r] = (reasons[r] ?? 0) + 1;
  }
  return { share: Object.values(reasons).reduce((a, b) => a + b, 0) / fs.length, reasons };
}

/** 50 Hz mains hum with harmonics to 650 Hz, −30 dBFS overall. */
function hum(durationS: number): Float32Array {
  const parts = [50, 150, 250, 350, 450, 550, 650].map((f, k) => tone({ durationS, frequencyHz: f, dbfs: -33 - 2 * k }));
  return mix(...parts);
}

describe('RoomLevels: the gates', () => {
  it('vetoes digital silence by the absolute floor, whatever the model says', () => {
    const g = new RoomLevels();
    expect(g.gate(new Float32Array(FRAME_SAMPLES), 1)).toMatchObject({ pass: false, reason: 'silence' });
    expect(g.gate(whiteNoise({ durationS: 0.032, dbfs: -90 }), 1).reason).toBe('silence');
  });

  it('rejects steady noise, hum and a steady tone once they are the noise floor, even at probability 1', () => {
    // The first 3 s window establishes the floor; after it nothing steady passes.
    for (const x of [whiteNoise({ durationS: 10, dbfs: -45, seed: 2 }), hum(10), tone({ durationS: 10, frequencyHz: 440, dbfs: -25 })]) {
      const g = new RoomLevels();
      vetoes(x.subarray(0, 3 * SAMPLE_RATE), 1, g);
      const after = vetoes(x.subarray(3 * SAMPLE_RATE), 1, g);
      expect(after.share).toBeGreaterThan(0.97);
    }
  });

  it('passes a voice above the room noise and vetoes the noise between its words', () => {
    const room = whiteNoise({ durationS: 6, dbfs: -55, seed: 4 });
    // Syllables: a 200 Hz buzz with harmonics at −30 dBFS, 0.3 s on, 0.2 s off.
    const syllable = mix(...[200, 400, 600, 800, 1200].map((f, k) => tone({ durationS: 0.3, frequencyHz: f, dbfs: -32 - 3 * k })));
    let x = room;
    for (let t = 2; t < 5.5; t += 0.5) x = placeAt(x, syllable, t);
    const g = new RoomLevels();
    const verdicts = frames(x).map((f) => g.gate(f, 0.9));
    const at = (s: number) => verdicts[Math.floor((s * SAMPLE_RATE) / FRAME_SAMPLES)]!;
    for (let t = 2.1; t < 5.5; t += 0.5) expect(at(t).pass).toBe(true);
    for (let t = 2.4; t < 5.5; t += 0.5) expect(at(t).reason).toMatch(/noise_floor|flat/);
  });

  it('vetoes far voices only when asked, relative to the tracked speech level', () => {
    const near = tone({ durationS: 2, frequencyHz: 300, dbfs: -20 });
    const far = tone({ durationS: 0.2, frequencyHz: 300, dbfs: -45 });
    const x = concat(silence(0.5), scaleRange(near, 0.5, 0.6, -10), far);
    const judgeAll = (farBelowSpeechDb: number) => {
      const g = new RoomLevels({ farBelowSpeechDb });
      const out = frames(x).map((f) => g.gate(f, 0.95));
      return { last: out[out.length - 2]!, level: g.speechLevel };
    };
    expect(judgeAll(0).last.pass).toBe(true);
    const on = judgeAll(20);
    expect(on.last.reason).toBe('far');
    expect(on.level!).toBeGreaterThan(-25);
  });

  it('rejects nonsense settings', () => {
    expect(() => new RoomLevels({ silenceFloorDbfs: 3 })).toThrow();
    expect(() => new RoomLevels({ noiseMarginDb: -1 })).toThrow();
    expect(() => new RoomLevels({ confidentProbability: 0 })).toThrow();
    expect(() => new RoomLevels({ varianceGateDb2: Number.NaN })).toThrow();
  });

  it('reset forgets the tracked levels', () => {
    const g = new RoomLevels();
    vetoes(concat(silence(0.5), tone({ durationS: 1, dbfs: -20 })), 1, g);
    expect(g.noiseFloor).not.toBeNull();
    expect(g.speechLevel).not.toBeNull();
    g.reset();
    expect(g.noiseFloor).toBeNull();
    expect(g.speechLevel).toBeNull();
  });

  it('passes most real speech frames and no noise-floor frames', () => {
    const conv = loadConversation('1688-1998-easy');
    const gate = new RoomLevels();
    const inside: boolean[] = [];
    const outside: boolean[] = [];
    const marginS = 0.1;
    for (let at = 0; at + FRAME_SAMPLES <= conv.audio.length; at += FRAME_SAMPLES) {
      const fromS = at / SAMPLE_RATE;
      const toS = (at + FRAME_SAMPLES) / SAMPLE_RATE;
      // Probability 1: only the gates' own verdict is measured.
      const pass = gate.gate(conv.audio.subarray(at, at + FRAME_SAMPLES), 1).pass;
      if (conv.reference.some((t) => fromS >= t.startS && toS <= t.endS)) inside.push(pass);
      else if (!conv.reference.some((t) => toS > t.startS - marginS && fromS < t.endS + marginS)) outside.push(pass);
    }
    const rate = (xs: boolean[]) => xs.filter(Boolean).length / xs.length;
    expect(inside.length).toBeGreaterThan(1000);
    expect(outside.length).toBeGreaterThan(100);
    // Measured: 91.2 % of reference speech frames pass (the rest: pauses and quiet ends inside
    // turns, at the noise floor, which the segmenter bridges), none of the −62 dBFS noise floor
    // between turns.
    expect(rate(inside)).toBeGreaterThan(0.88);
    expect(rate(outside)).toBeLessThan(0.01);
  });
});
