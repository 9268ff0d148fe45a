import { describe, expect, it } from 'vitest';
import { DEFAULT_ASSIGNER } from './assigner.js';
import { blend, type BlendInput } from './blend.js';

const o = DEFAULT_ASSIGNER;

/** Both voices registered, profiles only: the part's evidence with nothing else said. */
const input = (similarity: [number, number], more: Partial<BlendInput> = {}): BlendInput => ({
  profile: { speakerId: null, similarity },
  bothRegistered: true,
  clusters: null,
  sessionParts: null,
  frameLlr: null,
  ...more,
});

describe('blend precedence', () => {
  it('1. with fewer than two voices the profiles alone decide, whatever else is said', () => {
    const single: BlendInput = {
      profile: { speakerId: null, similarity: [0.5, 0] },
      bothRegistered: false,
      clusters: [0.9, -0.9],
      sessionParts: [0.9, -0.9],
      frameLlr: -10,
      shortTurn: { previous: { speakerId: 1, similarity: 0 } },
    };
    // Under the threshold and no margin rule: null, as matchSpeaker said; 0.5 for the one voice.
    expect(blend(single, { ...o, frameWeight: 1 })).toEqual({ speakerId: null, similarity: [0.5, 0] });
    expect(blend({ ...single, profile: { speakerId: 0, similarity: [0.7, 0] } }, { ...o, frameWeight: 1 })).toEqual({ speakerId: 0, similarity: [0.7, 0] });
  });

  it('2. the conversation weighs in by sessionWeight, the clusters before the kept parts, and never both', () => {
    const w = o.sessionWeight;
    // Kept parts alone.
    const parts = blend(input([0.5, 0.4], { sessionParts: [0.2, 0.9] }), o);
    expect(parts.similarity[0]).toBeCloseTo((1 - w) * 0.5 + w * 0.2, 12);
    expect(parts.similarity[1]).toBeCloseTo((1 - w) * 0.4 + w * 0.9, 12);
    expect(parts.speakerId).toBe(1);
    // Clusters present: they replace the kept parts (the result does not depend on the parts).
    const clusters = blend(input([0.5, 0.4], { clusters: [0.9, 0.1], sessionParts: [0.2, 0.9] }), o);
    expect(clusters.similarity[0]).toBeCloseTo((1 - w) * 0.5 + w * 0.9, 12);
    expect(clusters.similarity[1]).toBeCloseTo((1 - w) * 0.4 + w * 0.1, 12);
    expect(clusters.speakerId).toBe(0);
    expect(blend(input([0.5, 0.4], { clusters: [0.9, 0.1], sessionParts: [-1, -1] }), o)).toEqual(clusters);
    // sessionWeight 0: neither, the profile scores decide by margin.
    expect(blend(input([0.5, 0.4], { clusters: [0.9, 0.1], sessionParts: [0.2, 0.9] }), { ...o, sessionWeight: 0 })).toEqual({ speakerId: null, similarity: [0.5, 0.4] });
    expect(blend(input([0.1, 0.45]), o)).toEqual({ speakerId: 1, similarity: [0.1, 0.45] });
  });

  it('3. the frame evidence leans the blended pair, clipped to ±frameClip nats and kept within −1…1', () => {
    const w = o.sessionWeight;
    const fo = { ...o, frameWeight: 0.2 };
    // +1 nat toward speaker 1 at weight 0.2: ±0.1, after the conversation's blend.
    const leaned = blend(input([0.5, 0.4], { sessionParts: [0.5, 0.4], frameLlr: 1 }), fo);
    expect(leaned.similarity[0]).toBeCloseTo((1 - w) * 0.5 + w * 0.5 - 0.1, 12);
    expect(leaned.similarity[1]).toBeCloseTo((1 - w) * 0.4 + w * 0.4 + 0.1, 12);
    // Clipped: 100 nats count as frameClip (1.5): ±0.15.
    const clipped = blend(input([0.5, 0.4], { frameLlr: 100 }), fo);
    expect(clipped.similarity[0]).toBeCloseTo(0.35, 12);
    expect(clipped.similarity[1]).toBeCloseTo(0.55, 12);
    // Heavy: it overturns the embedding, and stays on the protocol's scale.
    expect(blend(input([0.95, 0.2], { frameLlr: 100 }), { ...o, frameWeight: 2 })).toEqual({ speakerId: 1, similarity: [-0.55, 1] });
    // Off, silent, or not a number: no lean.
    for (const [weight, llr] of [[0, 1], [0.2, null], [0.2, Number.NaN], [0.2, Infinity]] as const) {
      expect(blend(input([0.5, 0.4], { frameLlr: llr }), { ...o, frameWeight: weight }).similarity).toEqual([0.5, 0.4]);
    }
  });

  it('4. a short turn is decided with its neighbour on the leaned pair, any other part by margin', () => {
    const fo = { ...o, frameWeight: 0.2 };
    // Leaned to [0.35, 0.45] (+0.5 nat): by margin nothing (0.45 < threshold, lead 0.1 < 0.3) …
    const scored = input([0.4, 0.4], { frameLlr: 0.5 });
    const byMargin = blend(scored, fo);
    expect(byMargin.speakerId).toBeNull();
    expect(byMargin.similarity[1] - byMargin.similarity[0]).toBeCloseTo(0.1, 12);
    // … as a short turn after speaker 0 and unlike that part: speaker 1, with the same pair.
    const short = blend({ ...scored, shortTurn: { previous: { speakerId: 0, similarity: 0.1 } } }, fo);
    expect(short).toEqual({ speakerId: 1, similarity: byMargin.similarity });
    // A short turn just like its neighbour's part stays with the neighbour, against the lean.
    expect(blend({ ...scored, shortTurn: { previous: { speakerId: 0, similarity: 1 } } }, fo).speakerId).toBe(0);
    // With no neighbour near enough: the short-turn floor and margin on the leaned pair
    // ([0.28, 0.52] at +1.2 nats), where by margin it stays null.
    const leanedMore = input([0.4, 0.4], { frameLlr: 1.2 });
    expect(blend(leanedMore, fo).speakerId).toBeNull();
    expect(blend({ ...leanedMore, shortTurn: { previous: null } }, fo).speakerId).toBe(1);
    // Not a short turn and clear: by margin.
    expect(blend(input([0.7, 0.65]), o).speakerId).toBe(0);
  });
});
