/**
 * The search index's part for one conversation as it is kept on disk (`search.json` in the
 * conversation's folder) — pure: encode, and a total decoder that answers null for anything it
 * does not fully trust, never throws. Holding the analysed form (its text joined, and its index
 * keys with their counts) makes a start a load, not a re-analysis of every record.
 *
 * `stamp` is the store's fingerprint of the records the part was made from
 * (ConversationStore.fingerprint); a part whose stamp differs from the records' now is stale.
 */
import type { SpeakerId } from '../protocol/messages.js';
import { countKeys, normalize } from './text.js';

/** Format tag and version of the file's layout. */
export const SEARCH_FILE_FORMAT = 'duet-search';
export const SEARCH_FILE_VERSION = 1;

/** Text that exercises every path of the analysis: cases, widths, scripts, particles, ligatures. */
const PROBE = 'Take 2 TABLETS, 감기약을 먹었어요! ＡＢＣ ｶﾅ テスト 漢字 café ﬁne x2y 약 mri검사 Don’t\u0007end';

let analyzer: string | null = null;
/**
 * A fingerprint of search/text.ts's analysis (the keys it makes of {@link PROBE}, hashed): a
 * part whose keys were made by an analysis that has changed since is rebuilt, without anyone
 * having to remember to bump a version.
 */
export function analyzerTag(): string {
  if (analyzer === null) {
    const keys = new Map<string, number>();
    countKeys(normalize(PROBE).norm, keys);
    const text = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, c]) => `${k}=${c}`).join(' ');
    // FNV-1a, 32 bits twice (two seeds): a change detector, not a security measure.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ 0x5bd1e995;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x01000193);
    }
    analyzer = `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}`;
  }
  return analyzer;
}
/** The file's name in the conversation's folder. */
export const SEARCH_FILE = 'search.json';

/** One conversation's indexed form. */
export interface PersistedDoc {
  id: string;
  stamp: string;
  title: string | null;
  started_at: string;
  speakers: Array<{ id: SpeakerId; name: string | null }>;
  /** Segment texts joined by '\n' (no newline inside one). */
  text: string;
  segIds: number[];
  starts: number[];
  /** 0, 1, or -1 for unknown. */
  speakerIds: number[];
  /** Index keys (title and names included, weighted) and how often each occurs. */
  keys: string[];
  counts: number[];
}

/** The file's text: one line of JSON (so that, sealed, it is one record). */
export function encodeSearchFile(d: PersistedDoc): string {
  return JSON.stringify({
    format: SEARCH_FILE_FORMAT,
    v: SEARCH_FILE_VERSION,
    analyzer: analyzerTag(),
    id: d.id,
    stamp: d.stamp,
    title: d.title,
    started_at: d.started_at,
    speakers: d.speakers,
    text: d.text,
    seg: d.segIds,
    start: d.starts,
    spk: d.speakerIds,
    // Keys never hold a space (they are runs of letters and digits): one string, not 2,000.
    keys: d.keys.join(' '),
    counts: d.counts,
  });
}

const isNumArray = (x: unknown, n: number, ok: (v: number) => boolean): x is number[] =>
  Array.isArray(x) && x.length === n && x.every((v) => typeof v === 'number' && ok(v));

/**
 * The part in `text` when it is whole, of this format and version, and for conversation `id`;
 * else null (a torn, altered, foreign or older file is rebuilt from the records, never trusted).
 */
export function decodeSearchFile(text: string, id: string): PersistedDoc | null {
  let j: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    j = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  if (j.format !== SEARCH_FILE_FORMAT || j.v !== SEARCH_FILE_VERSION || j.analyzer !== analyzerTag() || j.id !== id) return null;
  if (typeof j.stamp !== 'string' || typeof j.started_at !== 'string' || typeof j.text !== 'string' || typeof j.keys !== 'string') return null;
  if (j.title !== null && typeof j.title !== 'string') return null;
  const speakers = j.speakers;
  if (!Array.isArray(speakers) || speakers.length > 2) return null;
  for (const s of speakers as unknown[]) {
    const sp = s as { id?: unknown; name?: unknown } | null;
    if (typeof sp !== 'object' || sp === null || (sp.id !== 0 && sp.id !== 1) || (sp.name !== null && typeof sp.name !== 'string')) return null;
  }
  const segs = Array.isArray(j.seg) ? j.seg.length : -1;
  if (!isNumArray(j.seg, segs, Number.isFinite) || !isNumArray(j.start, segs, Number.isFinite) || !isNumArray(j.spk, segs, (v) => v === 0 || v === 1 || v === -1)) return null;
  // The text must hold exactly one segment per line: the offsets are taken from its newlines.
  let lines = 0;
  for (let at = j.text.indexOf('\n'); at >= 0; at = j.text.indexOf('\n', at + 1)) lines++;
  if (segs === 0 ? j.text !== '' : lines !== segs - 1) return null;
  const keys = j.keys === '' ? [] : j.keys.split(' ');
  if (!isNumArray(j.counts, keys.length, (v) => Number.isInteger(v) && v > 0) || keys.some((k) => k === '')) return null;
  return {
    id,
    stamp: j.stamp,
    title: j.title as string | null,
    started_at: j.started_at,
    speakers: (speakers as Array<{ id: SpeakerId; name: string | null }>).map((s) => ({ id: s.id, name: s.name })),
    text: j.text,
    segIds: j.seg,
    starts: j.start,
    speakerIds: j.spk,
    keys,
    counts: j.counts,
  };
}
