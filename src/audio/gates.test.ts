import { describe, expect, it } from 'vitest';
import { loadConversation } from '../testing/corpus.js';
import { concat, tone, whiteNoise } from '../testing/signals.js';
import { FRAME_SAMPLES, SAMPLE_RATE } from './constants.js';
import { SILENCE_DBFS, gateFrame, rmsDbfs, spectralVarianceDb2 } from './gates.js';

function frames(x: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let at = 0; at + FRAME_SAMPLES <= x.length; at += FRAME_SAMPLES) out.push(x.subarray(at, at + FRAME_SAMPLES));
  return out;
}

const passRate = (fs: Float32Array[]) => fs.filter((f) => gateFrame(f).pass).length / fs.length;

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
      expect(passRate(fs)).toBe(0);
      const v = fs.map((f) => spectralVarianceDb2(f)).sort((a, b) => a - b);
      expect(v[Math.floor(v.length / 2)]!).toBeLessThan(6);
    }
  });

  it('rejects the −62 dBFS noise floor and digital silence by RMS', () => {
    const floor = gateFrame(whiteNoise({ durationS: 0.032, dbfs: -62 }));
    expect(floor.pass).toBe(false);
    expect(floor.rmsDbfs).toBeCloseTo(-62, 0);
    expect(gateFrame(new Float32Array(FRAME_SAMPLES)).pass).toBe(false);
  });

  it('passes pure tones (peaked spectrum): rejecting them is the VAD model’s job', () => {
    for (const frequencyHz of [200, 440, 1000, 3000]) {
      const g = gateFrame(tone({ durationS: 0.032, frequencyHz, dbfs: -30 }));
      expect(g.pass).toBe(true);
      expect(g.variance).toBeGreaterThan(100);
    }
  });

  it('applies its thresholds', () => {
    const t = tone({ durationS: 0.032, dbfs: -55 });
    expect(gateFrame(t).pass).toBe(false);
    expect(gateFrame(t, { rmsGateDbfs: -60 }).pass).toBe(true);
    expect(gateFrame(t, { rmsGateDbfs: -60, varianceGate: 1e6 }).pass).toBe(false);
    const mixed = concat(tone({ durationS: 0.016, dbfs: -20 }), whiteNoise({ durationS: 0.016, dbfs: -20 }));
    expect(Number.isFinite(gateFrame(mixed).variance)).toBe(true);
  });

  it('passes most real speech frames and no noise-floor frames', () => {
    const conv = loadConversation('1688-1998-easy');
    const inside: Float32Array[] = [];
    const outside: Float32Array[] = [];
    const marginS = 0.1;
    for (let at = 0; at + FRAME_SAMPLES <= conv.audio.length; at += FRAME_SAMPLES) {
      const fromS = at / SAMPLE_RATE;
      const toS = (at + FRAME_SAMPLES) / SAMPLE_RATE;
      const f = conv.audio.subarray(at, at + FRAME_SAMPLES);
      if (conv.reference.some((t) => fromS >= t.startS && toS <= t.endS)) inside.push(f);
      else if (!conv.reference.some((t) => toS > t.startS - marginS && fromS < t.endS + marginS)) outside.push(f);
    }
    expect(inside.length).toBeGreaterThan(1000);
    expect(outside.length).toBeGreaterThan(100);
    // Measured: 93.6 % of reference speech frames pass; the rest are mostly pauses and
    // fricatives inside turns, which the segmenter's 500 ms hangover bridges.
    expect(passRate(inside)).toBeGreaterThan(0.85);
    expect(passRate(outside)).toBeLessThan(0.01);
  });
});
