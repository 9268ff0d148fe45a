/** Text table of per-conversation DER results with easy/hard means — pure, reusable by benchmarks. */
import type { DerResult } from './der.js';

export interface ConversationScore {
  name: string;
  hard: boolean;
  result: DerResult;
  /** Hypothesis segments (parts) produced. */
  segments: number;
}

const pc = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);

function row(name: string, der: number, missed: number, fa: number, conf: number, acc: number, segs: string): string {
  return `${name.padEnd(18)} ${pc(der)} ${pc(missed)} ${pc(fa)} ${pc(conf)} ${pc(acc)} ${segs.padStart(6)}`;
}

/** Mean over conversations of each rate (DER components as shares of each one's scored time). */
export function meanScores(scores: readonly ConversationScore[]) {
  const n = Math.max(1, scores.length);
  const sum = (f: (r: DerResult) => number) => scores.reduce((a, s) => a + f(s.result), 0) / n;
  const rate = (x: number, r: DerResult) => (r.scoredS ? x / r.scoredS : 0);
  return {
    der: sum((r) => r.der),
    missed: sum((r) => rate(r.missedS, r)),
    falseAlarm: sum((r) => rate(r.falseAlarmS, r)),
    confusion: sum((r) => rate(r.confusionS, r)),
    accuracy: sum((r) => r.accuracy),
    segments: scores.reduce((a, s) => a + s.segments, 0) / n,
  };
}

/**
 * Table with one row per conversation and a mean row for the easy and the hard ones:
 * DER, missed, false alarm, confusion (shares of scored speech), attribution accuracy, segments.
 */
export function formatDerTable(scores: readonly ConversationScore[], title = 'DER (collar 0.25 s)'): string {
  const lines = [title, `${'conversation'.padEnd(18)} ${'DER'.padStart(7)} ${'missed'.padStart(7)} ${'FA'.padStart(7)} ${'conf'.padStart(7)} ${'acc'.padStart(7)} ${'segs'.padStart(6)}`];
  for (const s of scores) {
    const r = s.result;
    const rate = (x: number) => (r.scoredS ? x / r.scoredS : 0);
    lines.push(row(s.name, r.der, rate(r.missedS), rate(r.falseAlarmS), rate(r.confusionS), r.accuracy, String(s.segments)));
  }
  for (const [label, group] of [['mean easy', scores.filter((s) => !s.hard)], ['mean hard', scores.filter((s) => s.hard)]] as const) {
    if (!group.length) continue;
    const m = meanScores(group);
    lines.push(row(label, m.der, m.missed, m.falseAlarm, m.confusion, m.accuracy, m.segments.toFixed(1)));
  }
  return lines.join('\n');
}
