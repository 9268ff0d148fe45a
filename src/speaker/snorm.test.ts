import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/signals.js';
import { gaussian } from './augment.js';
import { profileSimilarity } from './matcher.js';
import { ScoreNormalizer, calibratedFromHalves, scaleFor, topKStats } from './snorm.js';

function unitRandom(dim: number, rand: () => number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => gaussian(rand));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function mixUnit(a: Float32Array, b: Float32Array, w: number): Float32Array {
  const v = a.map((x, i) => (1 - w) * x + w * b[i]!);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('AS-norm', () => {
  it('topKStats takes the mean and deviation of the largest values', () => {
    expect(topKStats([1, 5, 3, 9], 2)).toEqual({ mean: 7, std: 2 });
    expect(topKStats([1, 3], 0).mean).toBe(2);
  });

  it('follows the formula on both sides', () => {
    const rand = seededRandom(1);
    const cohort = Array.from({ length: 20 }, () => unitRandom(8, rand));
    const norm = new ScoreNormalizer(cohort, { topK: 5, scale: 1 });
    const a = unitRandom(8, rand);
    const b = unitRandom(8, rand);
    const cos = a.reduce((s, x, i) => s + x * b[i]!, 0);
    const side = (e: Float32Array) => topKStats(cohort.map((c) => c.reduce((s, x, i) => s + x * e[i]!, 0)), 5);
    const expected = 0.5 * ((cos - side(a).mean) / side(a).std + (cos - side(b).mean) / side(b).std);
    expect(norm.normalize(cos, a, b)).toBeCloseTo(expected, 5);
    expect(norm.similarity(a, b)).toBeCloseTo(Math.tanh(expected), 5);
    expect(norm.similarity(a, b)).toBeCloseTo(norm.similarity(b, a), 6);
  });

  it('removes a condition that raises every score of one side', () => {
    // A "hub" embedding near the cohort's centre has high raw cosines to everyone, enrolled
    // speaker included; a true-speaker segment in a poor condition has low raw cosines to
    // everyone. Raw cosine prefers the hub; AS-norm prefers the true speaker.
    const rand = seededRandom(2);
    const dim = 64;
    const hub = unitRandom(dim, rand);
    const cohort = Array.from({ length: 60 }, () => mixUnit(hub, unitRandom(dim, rand), 0.5));
    const speaker = unitRandom(dim, rand);
    const enrolled = mixUnit(hub, speaker, 0.5);
    const sameInPoorCondition = mixUnit(speaker, unitRandom(dim, rand), 1 / 3);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(cos(hub, enrolled)).toBeGreaterThan(cos(sameInPoorCondition, enrolled));
    const norm = new ScoreNormalizer(cohort, { topK: 20, scale: 5 });
    expect(norm.similarity(sameInPoorCondition, enrolled)).toBeGreaterThan(norm.similarity(hub, enrolled) + 0.3);
  });

  it('scaleFor maps the decision point onto the threshold', () => {
    expect(Math.tanh(2.5 / scaleFor(2.5, 0.6))).toBeCloseTo(0.6, 9);
  });

  it('the offset shifts scores before the tanh', () => {
    const rand = seededRandom(4);
    const cohort = Array.from({ length: 10 }, () => unitRandom(6, rand));
    const a = unitRandom(6, rand);
    const b = unitRandom(6, rand);
    const plain = new ScoreNormalizer(cohort, { topK: 0, scale: 2 });
    const shifted = new ScoreNormalizer(cohort, { topK: 0, scale: 2, offset: -1 });
    const cos = a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(shifted.similarity(a, b)).toBeCloseTo(Math.tanh((plain.normalize(cos, a, b) + 1) / 2), 6);
  });

  it('calibrates itself on cohort halves: same-speaker pairs above the threshold, others below', () => {
    // Synthetic speakers, two noisy takes each: twelve in the cohort, six new ones to test.
    const rand = seededRandom(5);
    const takes = () => {
      const v = unitRandom(16, rand);
      return [mixUnit(v, unitRandom(16, rand), 0.3), mixUnit(v, unitRandom(16, rand), 0.3)] as const;
    };
    const norm = calibratedFromHalves(Array.from({ length: 12 }, takes), 6, 0.6);
    const fresh = Array.from({ length: 6 }, takes);
    const same = fresh.map(([x, y]) => norm.similarity(x, y));
    const diff = fresh.slice(1).map(([x], i) => norm.similarity(x, fresh[i]![1]));
    const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
    expect(median(same)).toBeGreaterThan(0.6);
    expect(median(diff)).toBeLessThan(0.6);
    expect(Math.min(...same)).toBeGreaterThan(Math.max(...diff));
  });

  it('the matcher uses it for every profile term', () => {
    const rand = seededRandom(3);
    const cohort = Array.from({ length: 10 }, () => unitRandom(4, rand));
    const norm = new ScoreNormalizer(cohort, { topK: 0, scale: 2 });
    const e = unitRandom(4, rand);
    const p = { encoder: 't', mean: unitRandom(4, rand), embeddings: [unitRandom(4, rand), unitRandom(4, rand)], speechSeconds: 5, adaptedSegments: 0 };
    const best = Math.max(norm.similarity(e, p.embeddings[0]!), norm.similarity(e, p.embeddings[1]!));
    expect(profileSimilarity(e, p, norm)).toBeCloseTo(0.5 * (norm.similarity(e, p.mean) + best), 6);
  });
});
