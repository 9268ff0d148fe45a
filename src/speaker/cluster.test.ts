import { describe, expect, it } from 'vitest';
import { agglomerate2, clusterOptionsFor, clusterSpeakers, type ClusterItem } from './cluster.js';

/** Deterministic pseudo-random numbers in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** Noisy copies of a base direction. */
function voice(base: number[], n: number, noise: number, rand: () => number, startAt: number): ClusterItem[] {
  return Array.from({ length: n }, (_, k) => ({
    embedding: Float32Array.from(base, (v) => v + noise * rand()),
    start: startAt + k * 10,
    weightS: 2,
  }));
}

describe('clusterSpeakers', () => {
  const rand = rng(3);
  const a = Array.from({ length: 16 }, () => rand());
  const b = Array.from({ length: 16 }, () => rand());

  it('separates two voices and calls the first to speak speaker 0', () => {
    const itemsB = voice(b, 20, 0.3, rand, 0);
    const itemsA = voice(a, 25, 0.3, rand, 5);
    const items = [...itemsA, ...itemsB];
    const r = clusterSpeakers(items);
    expect(r.speakers).toBe(2);
    // B's first item (start 0) is the earliest: B is speaker 0.
    expect(r.labels.slice(25).every((l) => l === 0)).toBe(true);
    expect(r.labels.slice(0, 25).every((l) => l === 1)).toBe(true);
  });

  it('gives one speaker when there is one voice', () => {
    const r = clusterSpeakers(voice(a, 40, 0.3, rand, 0));
    expect(r.speakers).toBe(1);
    expect(new Set(r.labels)).toEqual(new Set([0]));
  });

  it('gives one speaker when asked for one, and none without items', () => {
    expect(clusterSpeakers([...voice(a, 10, 0.2, rand, 0), ...voice(b, 10, 0.2, rand, 1)], { maxSpeakers: 1 }).speakers).toBe(1);
    expect(clusterSpeakers([]).speakers).toBe(0);
  });

  it('treats a tiny second cluster as noise, not a second person', () => {
    const items = [...voice(a, 60, 0.2, rand, 0), ...voice(b, 1, 0.2, rand, 1000)];
    expect(clusterSpeakers(items).speakers).toBe(1);
  });

  it('sets a few odd items aside and still finds two similar voices behind them', () => {
    // Two voices that are more alike than either is to a handful of odd items (babble, a
    // cough): average linkage splits the odd items off first, a 3 % cluster.
    const unit = (k: number) => Array.from({ length: 16 }, (_, i) => (i === k ? 1 : 0));
    const near = unit(0);
    const other = unit(0).map((v, i) => (i === 1 ? 0.75 : v));
    const odd = unit(2);
    const items = [...voice(near, 30, 0.12, rand, 0), ...voice(other, 30, 0.12, rand, 5), ...voice(odd, 2, 0.05, rand, 2000)];
    expect(clusterSpeakers(items, { outlierRounds: 0 }).speakers).toBe(1);
    const r = clusterSpeakers(items);
    expect(r.speakers).toBe(2);
    expect(r.labels.slice(0, 30).every((l) => l === 0)).toBe(true);
    expect(r.labels.slice(30, 60).every((l) => l === 1)).toBe(true);
    expect(r.labels).toHaveLength(62);
  });

  it('decides on the given similarity scale (the encoder normalised scores when it has them)', () => {
    const items = [...voice(a, 20, 0.3, rand, 0), ...voice(b, 20, 0.3, rand, 1)];
    const raw = clusterSpeakers(items, clusterOptionsFor(null));
    expect(raw.speakers).toBe(2);
    expect(raw.splitGain).toBeGreaterThan(0.02);
    // A scale on which every pair is alike: the split explains nothing, so one speaker.
    const flat = clusterSpeakers(items, clusterOptionsFor({ similarity: () => 0.5 }));
    expect(flat.speakers).toBe(1);
    expect(flat.splitGain).toBe(0);
    expect(clusterOptionsFor({ similarity: () => 0 })).toMatchObject({ minSplitGain: 0.02, decisionScale: 'normalised' });
  });

  it('agglomerate2 splits two well separated groups exactly', () => {
    const vecs = [...voice(a, 8, 0.1, rand, 0), ...voice(b, 8, 0.1, rand, 0)].map((x) => x.embedding);
    const labels = agglomerate2(vecs, vecs.map(() => 1));
    expect(new Set(labels.slice(0, 8)).size).toBe(1);
    expect(new Set(labels.slice(8)).size).toBe(1);
    expect(labels[0]).not.toBe(labels[8]);
  });
});
