/**
 * Diarization error rate on a 10 ms grid — pure.
 *
 * Definition (also in docs/benchmarks.md): time is cut into 10 ms frames, each judged at its centre.
 * Frames within ±collar (0.25 s) of any reference turn boundary are not scored. In each
 * scored frame let R be the set of reference speakers active (0, 1 or 2 with overlap) and H
 * the hypothesis labels active (a `null` speaker counts as a label that matches nobody);
 * correct = |R ∩ H|. Then
 *   scored    += |R|
 *   missed    += max(0, |R| − |H|)
 *   falseAlarm += max(0, |H| − |R|)
 *   confusion += min(|R|, |H|) − correct
 * and DER = (missed + falseAlarm + confusion) / scored. Speaker ids are fixed by enrollment
 * (reference A → 0, B → 1), so no optimal mapping is searched.
 * Attribution accuracy = (time of scored frames where the hypothesis has one or more labels
 * and each of them is an active reference speaker) / (time of scored frames where the
 * hypothesis has a label) — the share of hypothesised speech, outside collars, given to a
 * person who is really speaking then.
 */

export interface LabelledTurn {
  /** Reference: speaker id; hypothesis: speaker id or null (below threshold). */
  speaker: number | null;
  startS: number;
  endS: number;
}

export interface DerOptions {
  collarS: number;
  stepS: number;
  /** Scored span; defaults to the end of the last turn of either side. */
  durationS?: number;
}

export const DEFAULT_DER: Readonly<DerOptions> = Object.freeze({ collarS: 0.25, stepS: 0.01 });

export interface DerResult {
  /** Seconds (summed over reference speakers). */
  scoredS: number;
  missedS: number;
  falseAlarmS: number;
  confusionS: number;
  /** (missed + falseAlarm + confusion) / scored; 0 when nothing is scored. */
  der: number;
  /** Hypothesis speech outside collars, seconds, and the part attributed correctly. */
  hypSpeechS: number;
  attributedS: number;
  /** attributedS / hypSpeechS (1 when there is no hypothesis speech). */
  accuracy: number;
}

export function computeDer(reference: readonly LabelledTurn[], hypothesis: readonly LabelledTurn[], options: Partial<DerOptions> = {}): DerResult {
  const o = { ...DEFAULT_DER, ...options };
  const end = o.durationS ?? Math.max(0, ...reference.map((t) => t.endS), ...hypothesis.map((t) => t.endS));
  const n = Math.ceil(end / o.stepS - 1e-9);
  const frameOf = (s: number) => Math.round(s / o.stepS);
  // Turn [a, b) covers frames whose centre (i + 0.5)·step lies inside it.
  const cover = (t: LabelledTurn) => [Math.max(0, frameOf(t.startS)), Math.min(n, frameOf(t.endS))] as const;
  const noScore = new Uint8Array(n);
  for (const t of reference) {
    for (const b of [t.startS, t.endS]) {
      const lo = Math.max(0, Math.ceil((b - o.collarS) / o.stepS - 0.5 - 1e-9));
      const hi = Math.min(n - 1, Math.floor((b + o.collarS) / o.stepS - 0.5 + 1e-9));
      for (let i = lo; i <= hi; i++) noScore[i] = 1;
    }
  }
  const refSets: Array<Set<number>> = Array.from({ length: n }, () => new Set<number>());
  for (const t of reference) {
    const [a, b] = cover(t);
    for (let i = a; i < b; i++) refSets[i]!.add(t.speaker as number);
  }
  const hypLabels: Array<Array<number | null>> = Array.from({ length: n }, () => []);
  for (const t of hypothesis) {
    const [a, b] = cover(t);
    for (let i = a; i < b; i++) {
      const h = hypLabels[i]!;
      // The same speaker twice in one frame (overlapping hypothesis turns) counts once; nulls each count.
      if (t.speaker === null || !h.includes(t.speaker)) h.push(t.speaker);
    }
  }
  let scored = 0;
  let missed = 0;
  let fa = 0;
  let conf = 0;
  let hypSpeech = 0;
  let attributed = 0;
  for (let i = 0; i < n; i++) {
    if (noScore[i]) continue;
    const r = refSets[i]!;
    const h = hypLabels[i]!;
    let correct = 0;
    for (const x of h) if (x !== null && r.has(x)) correct++;
    scored += r.size;
    missed += Math.max(0, r.size - h.length);
    fa += Math.max(0, h.length - r.size);
    conf += Math.min(r.size, h.length) - correct;
    if (h.length) {
      hypSpeech++;
      if (correct === h.length) attributed++;
    }
  }
  const s = o.stepS;
  return {
    scoredS: scored * s,
    missedS: missed * s,
    falseAlarmS: fa * s,
    confusionS: conf * s,
    der: scored ? (missed + fa + conf) / scored : 0,
    hypSpeechS: hypSpeech * s,
    attributedS: attributed * s,
    accuracy: hypSpeech ? attributed / hypSpeech : 1,
  };
}
