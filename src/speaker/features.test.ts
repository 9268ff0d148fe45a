import { describe, expect, it } from 'vitest';
import { FrontEnd, StatsPool, addDeltas, energeticFrames, melFilterbank, DEFAULT_FRONT_END } from './features.js';
import { symmetricEigen } from './linalg.js';
import { realPowerSpectrumInto } from '../audio/fft.js';

const SR = 16_000;
const tone = (hz: number, seconds: number, amp = 0.5) => Float32Array.from({ length: Math.round(seconds * SR) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / SR));

describe('realPowerSpectrumInto (speaker front end frames)', () => {
  it('matches a direct DFT', () => {
    const n = 64;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.9) + (i % 5) * 0.01);
    const out = new Float64Array(n / 2 + 1);
    realPowerSpectrumInto(x, out);
    for (let k = 0; k <= n / 2; k++) {
      let re = 0;
      let im = 0;
      for (let t = 0; t < n; t++) {
        re += x[t]! * Math.cos((2 * Math.PI * k * t) / n);
        im -= x[t]! * Math.sin((2 * Math.PI * k * t) / n);
      }
      expect(out[k]).toBeCloseTo(re * re + im * im, 6);
    }
  });
});

describe('FrontEnd', () => {
  const fe = new FrontEnd();

  it('frames 25 ms every 10 ms', () => {
    expect(fe.frameCount(399)).toBe(0);
    expect(fe.frameCount(400)).toBe(1);
    expect(fe.frameCount(SR)).toBe(98);
    const f = fe.compute(tone(440, 1));
    expect(f.numFrames).toBe(98);
    expect(f.dim).toBe(2 * DEFAULT_FRONT_END.numCeps);
    expect(f.data.every(Number.isFinite)).toBe(true);
  });

  it('puts a tone in the mel filter around its frequency', () => {
    const bank = melFilterbank();
    const bins = DEFAULT_FRONT_END.fftSize / 2 + 1;
    const k = Math.round((1000 * DEFAULT_FRONT_END.fftSize) / SR);
    let best = 0;
    for (let m = 1; m < DEFAULT_FRONT_END.numMel; m++) if (bank[m * bins + k]! > bank[best * bins + k]!) best = m;
    const x = new Float64Array(DEFAULT_FRONT_END.fftSize);
    const t = tone(1000, 0.032);
    for (let i = 0; i < x.length; i++) x[i] = t[i]!;
    const p = new Float64Array(bins);
    realPowerSpectrumInto(x, p);
    let peak = 0;
    for (let i = 1; i < bins; i++) if (p[i]! > p[peak]!) peak = i;
    expect(peak).toBe(k);
    expect(bank[best * bins + k]).toBeGreaterThan(0.5);
  });

  it('ignores the level: cepstra of a tone at −6 dB and −26 dB are equal', () => {
    const a = fe.compute(tone(700, 0.5, 0.5));
    const b = fe.compute(tone(700, 0.5, 0.05));
    for (let i = 0; i < a.data.length; i++) expect(b.data[i]).toBeCloseTo(a.data[i]!, 3);
    expect(a.energyDb[10]! - b.energyDb[10]!).toBeCloseTo(20, 1);
  });

  it('tells two tones apart', () => {
    const a = fe.compute(tone(300, 0.5));
    const b = fe.compute(tone(2500, 0.5));
    let diff = 0;
    for (let i = 0; i < DEFAULT_FRONT_END.numCeps; i++) diff += Math.abs(a.data[20 * a.dim + i]! - b.data[20 * b.dim + i]!);
    expect(diff).toBeGreaterThan(5);
  });
});

describe('deltas and pooling', () => {
  it('delta of a linear ramp is its slope, of a constant zero', () => {
    const n = 10;
    const dim = 4;
    const data = new Float32Array(n * dim);
    for (let t = 0; t < n; t++) ((data[t * dim] = 3 * t), (data[t * dim + 1] = 7));
    addDeltas(data, n, dim, 2, 2);
    expect(data[5 * dim + 2]).toBeCloseTo(3, 6);
    expect(data[5 * dim + 3]).toBeCloseTo(0, 6);
  });

  it('StatsPool ranges equal direct mean and std over selected frames', () => {
    const dim = 2;
    const data = Float32Array.from([1, 10, 2, 20, 3, 30, 100, 100, 5, 50]);
    const pool = new StatsPool({ numFrames: 5, dim, data, energyDb: new Float32Array(5) }, Uint8Array.from([1, 1, 1, 0, 1]));
    const s = pool.stats(1, 5); // frames 1,2,4 → column 0: 2,3,5
    expect(pool.selected(1, 5)).toBe(3);
    expect(s[0]).toBeCloseTo(10 / 3, 6);
    expect(s[dim]).toBeCloseTo(Math.sqrt((4 + 9 + 25) / 3 - (10 / 3) ** 2), 5);
  });

  it('energeticFrames drops frames far below the loud ones', () => {
    const e = Float32Array.from([-20, -22, -90, -25, -80, -21, -24, -23, -26, -20, -21, -22]);
    const m = energeticFrames(e, 40);
    expect(Array.from(m)).toEqual([1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1]);
  });
});

describe('symmetricEigen', () => {
  it('diagonalises a symmetric matrix', () => {
    const a = Float64Array.from([4, 1, 2, 1, 3, 0.5, 2, 0.5, 5]);
    const { values, vectors } = symmetricEigen(a, 3);
    expect(values[0]).toBeGreaterThanOrEqual(values[1]!);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 3; i++) {
        let av = 0;
        for (let j = 0; j < 3; j++) av += a[i * 3 + j]! * vectors[r * 3 + j]!;
        expect(av).toBeCloseTo(values[r]! * vectors[r * 3 + i]!, 8);
      }
    }
    expect(values.reduce((x, y) => x + y, 0)).toBeCloseTo(12, 8);
  });
});

describe('FrontEnd.compute: recent results handed out again', () => {
  it('computes a part once for every caller that asks, across front ends with equal settings', () => {
    const segment = tone(220, 2);
    const part = segment.subarray(8000, 24000);
    const a = new FrontEnd();
    const first = a.compute(part);
    // The embedding, the frame evidence and the adaptation each take their own view of the part.
    expect(a.compute(segment.subarray(8000, 24000))).toBe(first);
    expect(new FrontEnd({ ...DEFAULT_FRONT_END }).compute(segment.subarray(8000, 24000))).toBe(first);
    // Other settings, another stretch, or the same place refilled with other audio: computed anew.
    expect(new FrontEnd({ numCeps: 13 }).compute(part)).not.toBe(first);
    expect(a.compute(segment.subarray(8000, 24001))).not.toBe(first);
    part.set(tone(440, 1));
    const refilled = a.compute(segment.subarray(8000, 24000));
    expect(refilled).not.toBe(first);
    const fresh = new FrontEnd().compute(Float32Array.from(tone(440, 1)));
    expect(Array.from(refilled.data)).toEqual(Array.from(fresh.data));
  });
});

describe('FrontEnd.compute: a refilled buffer', () => {
  it('is not mistaken for its old audio when one sample changed', () => {
    const x = tone(300, 1);
    const a = new FrontEnd();
    const first = a.compute(x);
    x[12_345] = x[12_345]! + 0.25;
    const again = a.compute(x);
    expect(again).not.toBe(first);
    expect(Array.from(again.data)).toEqual(Array.from(new FrontEnd().compute(Float32Array.from(x)).data));
  });
});
