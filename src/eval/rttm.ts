/** RTTM reading and writing (the `SPEAKER` lines only) — pure. */

/** One speaker turn, in seconds. */
export interface RttmTurn {
  speaker: string;
  startS: number;
  endS: number;
}

/**
 * Parses `SPEAKER <file> <chan> <start> <dur> <NA> <NA> <name> …` lines; other lines are skipped,
 * and so are lines of other files when `fileId` is given.
 */
export function parseRttm(text: string, fileId?: string): RttmTurn[] {
  const turns: RttmTurn[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'SPEAKER' || f.length < 8) continue;
    if (fileId !== undefined && f[1] !== fileId) continue;
    const startS = Number(f[3]);
    const durS = Number(f[4]);
    if (!Number.isFinite(startS) || !Number.isFinite(durS) || durS < 0) continue;
    turns.push({ speaker: f[7]!, startS, endS: startS + durS });
  }
  return turns;
}

/** Formats turns as RTTM with millisecond precision. */
export function formatRttm(turns: readonly RttmTurn[], fileId = 'conv'): string {
  return turns
    .map((t) => `SPEAKER ${fileId} 1 ${t.startS.toFixed(3)} ${(t.endS - t.startS).toFixed(3)} <NA> <NA> ${t.speaker} <NA> <NA>\n`)
    .join('');
}
