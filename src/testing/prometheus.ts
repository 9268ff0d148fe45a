/** Prometheus helpers for tests: the distribution's `promtool` on an exposition text, and sample lookup. */
import { spawnSync } from 'node:child_process';

/** `promtool check metrics` (Debian's prometheus package) on an exposition text: its complaints, '' when clean. */
export function promtoolProblems(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}` || `exit ${r.status}`;
}

/** The value of one sample line (`name{labels} value`), or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
