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

/**
 * Format tag: bump {@link SEARCH_FILE_VERSION} whenever search/text.ts analyses text differently
 * (the kept keys would no longer be the ones a rebuild makes), so old parts are rebuilt.
 */
export const SEARCH_FILE_FORMAT = 'duet-search';
export const SEARCH_FILE_VERSION = 1;
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
  if (j.format !== SEARCH_FILE_FORMAT || j.v !== SEARCH_FILE_VERSION || j.id !== id) return null;
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
