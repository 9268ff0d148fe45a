import { describe, expect, it } from 'vitest';
import { adaptProfile, matchSpeaker, profileSimilarity } from './matcher.js';
import type { SpeakerProfile } from './profile.js';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};
const profile = (mean: Float32Array, subs: Float32Array[] = [mean]): SpeakerProfile => ({ encoder: 'test', mean, embeddings: subs, speechSeconds: 5, adaptedSegments: 0 });

describe('matchSpeaker', () => {
  const p0 = profile(unit(1, 0, 0));
  const p1 = profile(unit(0, 1, 0));

  it('picks the best profile above the threshold and reports both similarities', () => {
    const r = matchSpeaker(unit(1, 0.2, 0), [p0, p1], 0.6);
    expect(r.speakerId).toBe(0);
    expect(r.similarity[0]).toBeCloseTo(1 / Math.hypot(1, 0.2), 6);
    expect(r.similarity[1]).toBeCloseTo(0.2 / Math.hypot(1, 0.2), 6);
    expect(matchSpeaker(unit(0.1, 1, 0), [p0, p1], 0.6).speakerId).toBe(1);
  });

  it('returns null below the threshold, keeping the real scores', () => {
    const r = matchSpeaker(unit(1, 1, 1.5), [p0, p1], 0.6);
    expect(r.speakerId).toBeNull();
    expect(r.similarity[0]).toBeGreaterThan(0.4);
    expect(r.similarity[0]).toBeLessThan(0.6);
  });

  it('handles missing profiles', () => {
    expect(matchSpeaker(unit(1, 0, 0), [null, null], 0.6)).toEqual({ speakerId: null, similarity: [0, 0] });
    expect(matchSpeaker(unit(0, 1, 0), [p0, null], 0.6).speakerId).toBeNull();
    expect(matchSpeaker(unit(0, 1, 0), [null, p1], 0.6).speakerId).toBe(1);
  });

  it('blends the whole-enrollment embedding with the best sub-window', () => {
    const p = profile(unit(1, 0, 0), [unit(1, 0, 0), unit(0, 0, 1)]);
    expect(profileSimilarity(unit(0, 0, 1), p)).toBeCloseTo(0.5, 6);
  });
});

describe('adaptProfile', () => {
  const p0 = profile(unit(1, 0, 0));
  const p1 = profile(unit(0, 1, 0));

  it('moves a profile slowly toward a confident segment only', () => {
    const e = unit(1, 0.1, 0.3);
    const r = matchSpeaker(e, [p0, p1], 0.6);
    const a = adaptProfile(p0, e, r, 0, 0.6);
    expect(a).not.toBe(p0);
    expect(a.adaptedSegments).toBe(1);
    expect(a.mean[2]).toBeGreaterThan(0);
    expect(a.mean[2]).toBeLessThan(0.05);
  });

  it('ignores ambiguous or null segments', () => {
    const ambiguous = unit(1, 0.8, 0);
    const r = matchSpeaker(ambiguous, [p0, p1], 0.6);
    expect(adaptProfile(p0, ambiguous, r, 0, 0.6)).toBe(p0);
    const weak = unit(1, 0, 1.2);
    expect(adaptProfile(p0, weak, matchSpeaker(weak, [p0, p1], 0.6), 0, 0.6)).toBe(p0);
  });
});
