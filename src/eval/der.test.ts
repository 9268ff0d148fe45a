import { describe, expect, it } from 'vitest';
import { computeDer } from './der.js';
import { formatDerTable } from './report.js';
import { formatRttm, parseRttm } from './rttm.js';

const t = (speaker: number | null, startS: number, endS: number) => ({ speaker, startS, endS });

describe('computeDer', () => {
  it('is zero for a perfect hypothesis', () => {
    const ref = [t(0, 1, 4), t(1, 5, 8)];
    const r = computeDer(ref, ref, { durationS: 10 });
    expect(r.der).toBe(0);
    expect(r.accuracy).toBe(1);
    // 3 s + 3 s minus 4 collars of 0.25 s each side within the turns (0.25 s inside each boundary).
    expect(r.scoredS).toBeCloseTo(6 - 4 * 0.25, 6);
  });

  it('counts confusion, miss and false alarm outside the collars', () => {
    const ref = [t(0, 0, 10)];
    // 0–4 s wrong speaker, 4–6 s nothing, 6–10 s right; plus 2 s of speech where nobody talks.
    const hyp = [t(1, 0, 4), t(0, 6, 10), t(0, 11, 13)];
    const r = computeDer(ref, hyp, { durationS: 14 });
    // Scored reference: 0.25–9.75 → 9.5 s. Confusion 0.25–4 = 3.75; miss 4–6 = 2.
    expect(r.scoredS).toBeCloseTo(9.5, 6);
    expect(r.confusionS).toBeCloseTo(3.75, 6);
    expect(r.missedS).toBeCloseTo(2, 6);
    expect(r.falseAlarmS).toBeCloseTo(2, 6);
    expect(r.der).toBeCloseTo((3.75 + 2 + 2) / 9.5, 6);
    // Hypothesis speech scored: 3.75 + 3.75 + 2 = 9.5 s, correct 3.75 s.
    expect(r.hypSpeechS).toBeCloseTo(9.5, 6);
    expect(r.accuracy).toBeCloseTo(3.75 / 9.5, 6);
  });

  it('handles overlapping reference speech (two speakers in a frame)', () => {
    const ref = [t(0, 0, 6), t(1, 4, 10)];
    // Overlap 4–6: the hypothesis gives it to speaker 0 only → 1 missed speaker there.
    const hyp = [t(0, 0, 6), t(1, 6, 10)];
    const r = computeDer(ref, hyp, { durationS: 10, collarS: 0 });
    expect(r.scoredS).toBeCloseTo(12, 6);
    expect(r.missedS).toBeCloseTo(2, 6);
    expect(r.confusionS).toBeCloseTo(0, 6);
    expect(r.accuracy).toBe(1);
  });

  it('counts a null speaker as confusion, and a hypothesis boundary inside a collar as free', () => {
    const ref = [t(0, 0, 4), t(1, 4, 8)];
    const hyp = [t(0, 0, 4.2), t(null, 4.2, 8)];
    const r = computeDer(ref, hyp, { durationS: 8 });
    // Speaker 1 scored 4.25–7.75 s, all of it given to nobody.
    expect(r.confusionS).toBeCloseTo(3.5, 6);
    expect(r.missedS).toBe(0);
    expect(r.falseAlarmS).toBe(0);
  });

  it('is 0 with nothing to score', () => {
    expect(computeDer([], []).der).toBe(0);
  });
});

describe('rttm', () => {
  it('round-trips SPEAKER lines and skips others', () => {
    const text = 'SPEAKER conv 1 1.000 2.830 <NA> <NA> A <NA> <NA>\n;; comment\nSPEAKER conv 1 5.427 1.100 <NA> <NA> B <NA> <NA>\n';
    const turns = parseRttm(text);
    expect(turns).toHaveLength(2);
    expect(turns[0]).toEqual({ speaker: 'A', startS: 1, endS: 3.83 });
    expect(formatRttm(turns)).toBe(text.replace(';; comment\n', ''));
  });
});

describe('formatDerTable', () => {
  it('prints rows and easy/hard means', () => {
    const r = computeDer([t(0, 0, 10)], [t(0, 0, 10)]);
    const table = formatDerTable([{ name: 'x-easy', hard: false, result: r, segments: 3 }, { name: 'x-hard', hard: true, result: r, segments: 5 }]);
    expect(table).toContain('mean easy');
    expect(table).toContain('mean hard');
    expect(table.split('\n')).toHaveLength(6);
  });
});
