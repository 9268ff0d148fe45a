/**
 * Oracle labels for analysis — pure. What would the DER be if the speaker of every part were
 * known? Each hypothesis part gets the reference speaker it overlaps most (ties: the lower id),
 * so what is left of the DER is the speech front's doing: missed speech, false alarm, and the
 * confusion of parts that hold two speakers. Analysis only (scripts/research/analyse-delay.ts `--oracle`);
 * nothing in the server uses it.
 */
import type { LabelledTurn } from './der.js';

export type OracleMode = 'speakers' | 'parts';

/**
 * `speakers`: every part takes its majority reference speaker, or `null` when it overlaps no
 * reference speech at all. `parts`: the same, and the parts with no reference speech are left
 * out (as if every babble-only part were rejected too).
 */
export function oracleLabels(hyp: readonly LabelledTurn[], ref: readonly LabelledTurn[], mode: OracleMode): LabelledTurn[] {
  const out: LabelledTurn[] = [];
  for (const h of hyp) {
    const overlap = new Map<number, number>();
    for (const r of ref) {
      const o = Math.min(h.endS, r.endS) - Math.max(h.startS, r.startS);
      if (o > 0 && r.speaker !== null) overlap.set(r.speaker, (overlap.get(r.speaker) ?? 0) + o);
    }
    let best: number | null = null;
    for (const [speaker, seconds] of overlap) {
      if (best === null || seconds > overlap.get(best)! || (seconds === overlap.get(best)! && speaker < best)) best = speaker;
    }
    if (best === null && mode === 'parts') continue;
    out.push({ ...h, speaker: best });
  }
  return out;
}
