import { describe, expect, it } from 'vitest';
import { computeDer } from './der.js';
import { oracleLabels } from './oracle.js';

const ref = [
  { speaker: 0, startS: 0, endS: 4 },
  { speaker: 1, startS: 4, endS: 8 },
];

describe('oracleLabels', () => {
  it('gives each part the reference speaker it overlaps most', () => {
    const hyp = [
      { speaker: 1, startS: 0, endS: 3 },
      { speaker: null, startS: 3, endS: 6.5 },
      { speaker: 0, startS: 6.5, endS: 8 },
    ];
    expect(oracleLabels(hyp, ref, 'speakers').map((h) => h.speaker)).toEqual([0, 1, 1]);
  });

  it('leaves a part with no reference speech null, or out in parts mode', () => {
    const hyp = [
      { speaker: 0, startS: 0, endS: 4 },
      { speaker: 1, startS: 9, endS: 10 },
    ];
    expect(oracleLabels(hyp, ref, 'speakers').map((h) => h.speaker)).toEqual([0, null]);
    expect(oracleLabels(hyp, ref, 'parts')).toEqual([{ speaker: 0, startS: 0, endS: 4 }]);
  });

  it("leaves only the front's errors in the DER", () => {
    // Right bounds, wrong speakers: all confusion, and none with the oracle.
    const hyp = [
      { speaker: 1, startS: 0, endS: 4 },
      { speaker: 0, startS: 4, endS: 8 },
    ];
    expect(computeDer(ref, hyp).der).toBeGreaterThan(0.9);
    expect(computeDer(ref, oracleLabels(hyp, ref, 'speakers')).der).toBe(0);
    // A part over a change keeps one speaker: the other's share stays confusion.
    const merged = oracleLabels([{ speaker: null, startS: 0, endS: 8 }], ref, 'speakers');
    expect(merged[0]!.speaker).toBe(0);
    expect(computeDer(ref, merged).confusionS).toBeGreaterThan(3);
  });
});
