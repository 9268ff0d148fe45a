import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/signals.js';
import { fftInPlace, hannWindow, realPowerSpectrum, realPowerSpectrumInto } from './fft.js';

describe('fft', () => {
  it('matches a direct DFT', () => {
    for (const n of [1, 2, 8, 64, 512]) {
      const random = seededRandom(n);
      const x = Array.from({ length: n }, () => random() * 2 - 1);
      const re = Float64Array.from(x);
      const im = new Float64Array(n);
      fftInPlace(re, im);
      for (let k = 0; k < n; k++) {
        let r = 0;
        let i = 0;
        for (let j = 0; j < n; j++) {
          r += x[j]! * Math.cos((2 * Math.PI * j * k) / n);
          i -= x[j]! * Math.sin((2 * Math.PI * j * k) / n);
        }
        expect(re[k]).toBeCloseTo(r, 9);
        expect(im[k]).toBeCloseTo(i, 9);
      }
    }
  });

  it('puts a bin-centred sine in its bin', () => {
    const n = 512;
    const x = Array.from({ length: n }, (_, j) => Math.sin((2 * Math.PI * 10 * j) / n));
    const p = realPowerSpectrum(x);
    expect(p).toHaveLength(257);
    expect(p[10]).toBeCloseTo((n / 2) ** 2, 6);
    expect(p[11]! + p[9]!).toBeLessThan(1e-12);
    const w = hannWindow(n);
    expect(w[0]).toBe(0);
    expect(w[n / 2]).toBeCloseTo(1, 12);
  });

  it('rejects lengths that are not powers of two', () => {
    expect(() => fftInPlace(new Float64Array(6), new Float64Array(6))).toThrow(/power of two/);
  });
});

describe('realPowerSpectrumInto (a real frame as a half-length complex transform)', () => {
  it('equals |X[k]|² of the full-length transform, for every power-of-two size', () => {
    let seed = 3;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    for (const n of [2, 4, 8, 16, 64, 512, 1024]) {
      for (let trial = 0; trial < 5; trial++) {
        const x = Float64Array.from({ length: n }, random);
        const out = new Float64Array(n / 2 + 1);
        realPowerSpectrumInto(x, out);
        const re = Float64Array.from(x);
        const im = new Float64Array(n);
        fftInPlace(re, im);
        const scale = x.reduce((s, v) => s + v * v, 0) * n;
        for (let k = 0; k <= n / 2; k++) expect(Math.abs(out[k]! - (re[k]! ** 2 + im[k]! ** 2))).toBeLessThan(1e-12 * scale);
      }
    }
  });

  it('puts a cosine on its bin, and refuses a length that is not a power of two', () => {
    const n = 512;
    const x = Float64Array.from({ length: n }, (_, j) => Math.cos((2 * Math.PI * 37 * j) / n));
    const out = new Float64Array(n / 2 + 1);
    realPowerSpectrumInto(x, out);
    expect(out[37]).toBeCloseTo((n / 2) ** 2, 6);
    expect(Math.max(...out.filter((_, k) => k !== 37))).toBeLessThan(1e-12 * n * n);
    expect(() => realPowerSpectrumInto(new Float64Array(400), new Float64Array(201))).toThrow(/power of two/);
  });
});
