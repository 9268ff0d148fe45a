/**
 * The box `npm start` prints at the end of start-up: where to open the page, whether text
 * will appear (and what to run when it will not), the models and the data folder. Pure: the
 * composition root passes what it knows and writes the result to stdout.
 */
import type { AsrEngineStatus } from './asr/availability.js';

export interface StartupFacts {
  /** The page's address, with the token when access control is on. */
  link: string;
  /** Whether the link carries the token kept in DATA_DIR (not ACCESS_TOKEN): say how to print or replace it. */
  keptToken: boolean;
  engine: AsrEngineStatus;
  models: { asr: string | null; speaker: string; vad: string };
  /** Absolute path of the data folder. */
  dataDir: string;
}

/** The summary's lines (label, text), before boxing. */
export function startupLines(f: StartupFacts): Array<[string, string]> {
  const lines: Array<[string, string]> = [['Open:', f.link]];
  if (f.keptToken) lines.push(['', 'the token is kept in DATA_DIR/access-token: `npm run token` prints this link, `-- --rotate` replaces it']);
  if (f.engine.state === 'up') {
    lines.push(['Mode:', 'transcription with two speakers']);
  } else {
    lines.push(['Mode:', f.engine.state === 'down' ? 'speech recognition down: text may be missing' : 'speakers only, no text']);
    lines.push(['Why:', f.engine.message]);
    if (f.engine.hint) lines.push(['Fix:', `run \`${f.engine.hint}\`, then restart`]);
  }
  lines.push(['Models:', `speech ${f.models.asr ?? 'none'} · voices ${f.models.speaker} · VAD ${f.models.vad}`]);
  lines.push(['Data:', f.dataDir]);
  return lines;
}

/** Draws lines in a box as wide as the longest one (a link is never cut). */
export function boxed(title: string, lines: ReadonlyArray<readonly [string, string]>): string {
  const labelWidth = Math.max(0, ...lines.map(([l]) => l.length));
  const rows = [title, '', ...lines.map(([l, t]) => `${l.padEnd(labelWidth)}  ${t}`)];
  const width = Math.max(...rows.map((r) => r.length));
  const bar = '─'.repeat(width + 2);
  return [`┌${bar}┐`, ...rows.map((r) => `│ ${r.padEnd(width)} │`), `└${bar}┘`].join('\n') + '\n';
}

/** The whole start-up summary. */
export function startupSummary(f: StartupFacts): string {
  return boxed('Duet, two-speaker transcription, is running.', startupLines(f));
}
