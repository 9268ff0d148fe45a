import { describe, expect, it } from 'vitest';
import { seededRandom, tone, whiteNoise } from '../testing/signals.js';
import { addAtSnr, applyCondition, bandLimit, convolve, drawCondition, pinkNoise, rms, speechRms, syntheticRir } from './augment.js';

const energyAbove = (x: Float32Array, from: number) => x.subarray(from).reduce((a, v) => a + v * v, 0);

describe('augmentation', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const x = whiteNoise({ durationS: 1, dbfs: -20, seed: 3 });
    const others = [whiteNoise({ durationS: 2, dbfs: -25, seed: 4 })];
    const run = (seed: number) => {
      const rand = seededRandom(seed);
      return applyCondition(x, drawCondition('far', rand), others, rand);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('a synthetic room decays by about 60 dB over its RT60', () => {
    const rt60S = 0.5;
    const h = syntheticRir({ rt60S, drrDb: 0 }, seededRandom(1));
    expect(h[0]).toBe(1);
    // Tail energy in 50 ms blocks at 0.05 s and at 0.05 + RT60/2 s: ≈ 30 dB apart.
    const block = (t: number) => h.subarray(Math.round(t * 16_000), Math.round((t + 0.05) * 16_000)).reduce((a, v) => a + v * v, 0);
    const dropDb = 10 * Math.log10(block(0.05) / block(0.05 + rt60S / 2));
    expect(dropDb).toBeGreaterThan(24);
    expect(dropDb).toBeLessThan(36);
    // Direct-to-reverberant ratio 0 dB: the tail carries as much energy as the direct path.
    expect(energyAbove(h, 1)).toBeCloseTo(1, 5);
  });

  it('convolution with a unit impulse is the identity; with a delay it shifts', () => {
    const x = whiteNoise({ durationS: 0.1, dbfs: -20, seed: 2 });
    const y = convolve(x, Float32Array.of(1));
    for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i]!, 5);
    const d = convolve(x, Float32Array.of(0, 0, 1));
    expect(d[5]).toBeCloseTo(x[3]!, 5);
  });

  it('adds noise at the requested speech-to-noise ratio', () => {
    const speech = tone({ durationS: 1, dbfs: -20 });
    const noise = pinkNoise(speech.length, seededRandom(5));
    expect(rms(noise)).toBeCloseTo(1, 5);
    const y = addAtSnr(speech, noise, 10);
    const added = Float32Array.from(y, (v, i) => v - speech[i]!);
    expect(20 * Math.log10(speechRms(speech) / rms(added))).toBeCloseTo(10, 1);
  });

  it('a band limit removes what lies outside the band', () => {
    const low = tone({ durationS: 0.5, frequencyHz: 100, dbfs: -20 });
    const mid = tone({ durationS: 0.5, frequencyHz: 1000, dbfs: -20 });
    const high = tone({ durationS: 0.5, frequencyHz: 6000, dbfs: -20 });
    expect(rms(bandLimit(low, 300, 3400)) / rms(low)).toBeLessThan(0.05);
    expect(rms(bandLimit(high, 300, 3400)) / rms(high)).toBeLessThan(0.05);
    expect(rms(bandLimit(mid, 300, 3400)) / rms(mid)).toBeGreaterThan(0.95);
  });
});
