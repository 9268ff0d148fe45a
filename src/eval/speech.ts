/**
 * Speech-detection scoring (missed and false-alarm speech) — pure.
 *
 * Definition: time is cut into 10 ms frames, each judged at its centre. The reference is the
 * union of every speaker's turns (overlap counts once); the hypothesis is the union of the
 * detected speech intervals. Only frames inside the UEM (scored spans; the whole reference
 * extent when none is given) and outside ±collar of any reference turn boundary are scored.
 *   missed     = scored frames in the reference and not in the hypothesis
 *   falseAlarm = scored frames in the hypothesis and not in the reference
 * Missed is reported as a share of scored reference speech; false alarm also as a share of
 * scored reference speech (the NIST convention, as in DER), so the two add up to the
 * detection error rate.
 */

/** A time interval in seconds, [startS, endS). */
export interface SpanS {
  startS: number;
  endS: number;
}

export interface SpeechScoreOptions {
  /** No-score zone on each side of every reference boundary. Default 0.25 s. */
  collarS?: number;
  /** Grid step. Default 0.01 s. */
  stepS?: number;
  /** Scored spans (e.g. a UEM's 0–30 s); default the span from 0 to the last reference or hypothesis end. */
  uem?: readonly SpanS[];
}

/** Seconds scored, missed and falsely detected. */
export interface SpeechScore {
  /** Reference speech inside the scored frames. */
  speechS: number;
  /** Non-speech inside the scored frames. */
  nonSpeechS: number;
  missedS: number;
  falseAlarmS: number;
}

/** Sums scores (for pooled rates over files). */
export function addSpeechScores(scores: readonly SpeechScore[]): SpeechScore {
  const total: SpeechScore = { speechS: 0, nonSpeechS: 0, missedS: 0, falseAlarmS: 0 };
  for (const s of scores) {
    total.speechS += s.speechS;
    total.nonSpeechS += s.nonSpeechS;
    total.missedS += s.missedS;
    total.falseAlarmS += s.falseAlarmS;
  }
  return total;
}

/** Missed speech as a share of reference speech (0 when there is none). */
export const missedRate = (s: SpeechScore) => (s.speechS > 0 ? s.missedS / s.speechS : 0);
/** False-alarm speech as a share of reference speech (0 when there is none). */
export const falseAlarmRate = (s: SpeechScore) => (s.speechS > 0 ? s.falseAlarmS / s.speechS : 0);

/** Scores detected speech against reference turns; see the module comment. */
export function scoreSpeech(reference: readonly SpanS[], hypothesis: readonly SpanS[], options: SpeechScoreOptions = {}): SpeechScore {
  const collarS = options.collarS ?? 0.25;
  const stepS = options.stepS ?? 0.01;
  const uem = options.uem ?? [{ startS: 0, endS: Math.max(0, ...reference.map((t) => t.endS), ...hypothesis.map((t) => t.endS)) }];
  const endS = Math.max(0, ...uem.map((u) => u.endS));
  const n = Math.ceil(endS / stepS - 1e-9);
  const mark = (spans: readonly SpanS[]) => {
    const on = new Uint8Array(n);
    for (const t of spans) {
      const a = Math.max(0, Math.round(t.startS / stepS));
      const b = Math.min(n, Math.round(t.endS / stepS));
      for (let i = a; i < b; i++) on[i] = 1;
    }
    return on;
  };
  const scored = mark(uem);
  for (const t of reference) {
    for (const b of [t.startS, t.endS]) {
      const lo = Math.max(0, Math.ceil((b - collarS) / stepS - 0.5 - 1e-9));
      const hi = Math.min(n - 1, Math.floor((b + collarS) / stepS - 0.5 + 1e-9));
      for (let i = lo; i <= hi; i++) scored[i] = 0;
    }
  }
  const ref = mark(reference);
  const hyp = mark(hypothesis);
  let speech = 0;
  let nonSpeech = 0;
  let missed = 0;
  let fa = 0;
  for (let i = 0; i < n; i++) {
    if (!scored[i]) continue;
    if (ref[i]) {
      speech++;
      if (!hyp[i]) missed++;
    } else {
      nonSpeech++;
      if (hyp[i]) fa++;
    }
  }
  return { speechS: speech * stepS, nonSpeechS: nonSpeech * stepS, missedS: missed * stepS, falseAlarmS: fa * stepS };
}

/** Parses UEM lines `<file> <channel> <start s> <end s>` into spans per file. */
export function parseUem(text: string): Map<string, SpanS[]> {
  const out = new Map<string, SpanS[]>();
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const startS = Number(f[2]);
    const endS = Number(f[3]);
    if (!Number.isFinite(startS) || !Number.isFinite(endS) || endS <= startS) continue;
    const spans = out.get(f[0]!) ?? [];
    spans.push({ startS, endS });
    out.set(f[0]!, spans);
  }
  return out;
}
