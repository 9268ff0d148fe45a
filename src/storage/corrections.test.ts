import { describe, expect, it } from 'vitest';
import { compact, originalsOf, planCorrection, SPLIT_ID_BASE, viewOf, type CorrectionRecord, type CorrectionRequest } from './corrections.js';
import type { EventRecord } from './types.js';

const now = new Date('2026-03-01T10:00:00Z');
const seg = (id: number, speaker: 0 | 1 | null, start: number, end: number): EventRecord => ({ k: 'segment', segment_id: id, speaker_id: speaker, start, end, similarity: [0.5, 0.5] });
const tx = (id: number, speaker: 0 | 1 | null, text: string | null, start: number, end: number): EventRecord => ({ k: 'transcription', segment_id: id, speaker_id: speaker, text, timestamp: now.toISOString(), start, end });

function base(): EventRecord[] {
  return [seg(0, 0, 0, 2), tx(0, 0, 'Hello Anna, how are you?', 0, 2), seg(1, 0, 2.5, 4), tx(1, 0, 'Fine thanks.', 2.5, 4), seg(2, 1, 5, 6), tx(2, 1, 'Thank you.', 5, 6)];
}

/** Plans and appends, as the store does; throws on a refusal. */
function apply(records: EventRecord[], req: CorrectionRequest): EventRecord[] {
  const plan = planCorrection(records, req, now);
  if (!plan.ok) throw new Error(plan.error.code);
  return [...records, plan.record];
}

function refusal(records: EventRecord[], req: CorrectionRequest): string {
  const plan = planCorrection(records, req, now);
  return plan.ok ? 'accepted' : `${plan.error.status} ${plan.error.code}`;
}

describe('corrections view', () => {
  it('edits text and speaker, keeps the original, marks the segment and counts revisions', () => {
    const r = apply(apply(base(), { op: 'edit', segment_id: 0, text: '  Hello Hanna, how are you? ' }), { op: 'edit', segment_id: 2, speaker_id: null });
    const v = viewOf(r);
    expect(v.segments[0]).toEqual({
      segment_id: 0,
      speaker_id: 0,
      start: 0,
      end: 2,
      text: 'Hello Hanna, how are you?',
      revision: 3,
      corrected: true,
      original: { speaker_id: 0, start: 0, end: 2, text: 'Hello Anna, how are you?' },
    });
    expect(v.segments[1]).toEqual({ segment_id: 1, speaker_id: 0, start: 2.5, end: 4, text: 'Fine thanks.', revision: 2 });
    expect(v.segments[2]).toMatchObject({ speaker_id: null, corrected: true, original: { speaker_id: 1 } });
    expect(originalsOf(r).map((s) => s.text)).toEqual(['Hello Anna, how are you?', 'Fine thanks.', 'Thank you.']);
  });

  it('lets the user edit win over a transcription that arrives later, which becomes the original', () => {
    let r: EventRecord[] = [seg(0, 0, 0, 2)];
    r = apply(r, { op: 'edit', segment_id: 0, speaker_id: 1 });
    r.push(tx(0, 0, 'late engine text', 0, 2));
    expect(viewOf(r).segments[0]).toMatchObject({ speaker_id: 1, text: 'late engine text' });
    r = apply(r, { op: 'edit', segment_id: 0, text: 'my text' });
    r.push(tx(0, 0, 'an even later engine text', 0, 2));
    const s = viewOf(r).segments[0]!;
    expect(s).toMatchObject({ text: 'my text', speaker_id: 1, original: { text: 'an even later engine text', speaker_id: 0 } });
  });

  it('splits by the proportion of characters into a new id that no engine segment takes', () => {
    const r = apply(base(), { op: 'split', segment_id: 0, at: 12 });
    const v = viewOf(r);
    expect(v.segments.map((s) => [s.segment_id, s.text, s.start, s.end])).toEqual([
      [0, 'Hello Anna,', 0, 1],
      [SPLIT_ID_BASE, 'how are you?', 1, 2],
      [1, 'Fine thanks.', 2.5, 4],
      [2, 'Thank you.', 5, 6],
    ]);
    expect(v.segments[1]).toMatchObject({ speaker_id: 0, corrected: true, original: null });
    const r2 = apply(r, { op: 'split', segment_id: SPLIT_ID_BASE, at: 4 });
    expect(viewOf(r2).segments[2]!.segment_id).toBe(SPLIT_ID_BASE + 1);
  });

  it('refuses split offsets at, past or before the ends, inside a surrogate pair, or leaving a blank part', () => {
    const r = base();
    expect(refusal(r, { op: 'split', segment_id: 0, at: 0 })).toBe('400 bad_offset');
    expect(refusal(r, { op: 'split', segment_id: 0, at: 24 })).toBe('400 bad_offset');
    expect(refusal(r, { op: 'split', segment_id: 0, at: 999 })).toBe('400 bad_offset');
    const emoji: EventRecord[] = [seg(0, 0, 0, 1), tx(0, 0, 'a😀b', 0, 1)];
    expect(refusal(emoji, { op: 'split', segment_id: 0, at: 2 })).toBe('400 bad_offset');
    expect(refusal([seg(0, 0, 0, 1), tx(0, 0, 'a   b', 0, 1)], { op: 'split', segment_id: 0, at: 1 })).toBe('accepted');
    expect(refusal([seg(0, 0, 0, 1)], { op: 'split', segment_id: 0, at: 1 })).toBe('409 not_transcribed');
  });

  it('merges with the next segment of the same speaker only', () => {
    const r = apply(base(), { op: 'merge', segment_id: 0 });
    const v = viewOf(r);
    expect(v.segments.map((s) => [s.segment_id, s.text, s.start, s.end])).toEqual([
      [0, 'Hello Anna, how are you? Fine thanks.', 0, 4],
      [2, 'Thank you.', 5, 6],
    ]);
    expect(refusal(r, { op: 'merge', segment_id: 0 })).toBe('400 speakers_differ');
    expect(refusal(r, { op: 'merge', segment_id: 2 })).toBe('400 no_next_segment');
    expect(refusal(r, { op: 'edit', segment_id: 1, text: 'x' })).toBe('404 no_such_segment');
  });

  it('deletes, and undo brings back each change in reverse order', () => {
    let r = apply(base(), { op: 'delete', segment_id: 2 });
    r = apply(r, { op: 'merge', segment_id: 0 });
    expect(viewOf(r).segments).toHaveLength(1);
    r = apply(r, { op: 'undo' });
    expect(viewOf(r).segments.map((s) => s.text)).toEqual(['Hello Anna, how are you?', 'Fine thanks.']);
    r = apply(r, { op: 'undo' });
    const v = viewOf(r);
    expect(v.segments.map((s) => s.text)).toEqual(['Hello Anna, how are you?', 'Fine thanks.', 'Thank you.']);
    expect(v.segments.every((s) => !s.corrected)).toBe(true);
    // Revisions only grow, so a client holding an old one still gets its conflict.
    expect(v.segments[2]!.revision).toBe(4);
    expect(refusal(r, { op: 'undo' })).toBe('409 nothing_to_undo');
  });

  it('answers 409 for a stale revision and accepts the current one', () => {
    const r = apply(base(), { op: 'edit', segment_id: 1, text: 'Fine, thanks.', revision: 2 });
    expect(refusal(r, { op: 'edit', segment_id: 1, text: 'Other', revision: 2 })).toBe('409 revision_conflict');
    expect(refusal(r, { op: 'edit', segment_id: 1, text: 'Other', revision: 3 })).toBe('accepted');
    expect(refusal(r, { op: 'edit', segment_id: 1, text: '   ' })).toBe('400 empty_text');
    expect(refusal(r, { op: 'edit', segment_id: 1, text: 'x'.repeat(5001) })).toBe('400 text_too_long');
  });

  it('skips damaged or hostile records instead of throwing', () => {
    const junk = [
      { k: 'correction', op: 'edit', segment_id: 99, text: 'x', at: '' },
      { k: 'correction', op: 'split', segment_id: 0, new_id: 1, cut: 'x', left: 1, right: null, at: '' },
      { k: 'correction', op: 'merge', segment_id: 0, next_id: 77, text: 'x', at: '' },
      { k: 'correction', op: 'set', segment_id: 'a', over: null, at: '' },
      { k: 'correction', op: 'set', segment_id: 5, revision: 1, over: { start: 'x', text: 7 }, removed: false, born: true, at: '' },
      { k: 'nonsense' },
      { k: 'segment', segment_id: 'x', start: 1, end: 2 },
    ] as unknown as EventRecord[];
    const v = viewOf([...base(), ...junk]);
    expect(v.segments.map((s) => s.segment_id)).toEqual([0, 5, 1, 2]);
  });

  it('compacts 10,000 edits into one record per corrected segment with the same view and originals', () => {
    let r = base();
    for (let i = 0; i < 10_000; i++) r.push({ k: 'correction', op: 'edit', segment_id: i % 3, text: `edit ${i}`, at: now.toISOString() } satisfies CorrectionRecord);
    r = apply(r, { op: 'split', segment_id: 0, at: 2 });
    r = apply(r, { op: 'delete', segment_id: 2 });
    const before = viewOf(r);
    const folded = compact(r, now)!;
    expect(folded.length).toBeLessThan(15);
    expect(viewOf(folded).segments).toEqual(before.segments);
    expect(originalsOf(folded)).toEqual(originalsOf(r));
    expect(compact(folded, now)).toBeNull();
    // Later edits still apply on top, and the revision keeps counting.
    const rev = before.segments.find((s) => s.segment_id === 1)!.revision!;
    const after = apply(folded, { op: 'edit', segment_id: 1, text: 'last', revision: rev });
    expect(viewOf(after).segments.find((s) => s.segment_id === 1)).toMatchObject({ text: 'last', revision: rev + 1 });
  });
});
