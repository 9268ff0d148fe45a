/**
 * The in-process full-text index over every stored conversation — pure: conversations in,
 * ranked results out; no I/O (search/service.ts keeps it in step with the store).
 *
 * Two levels, so that 2,000 conversations × 600 segments fit in a few hundred MB and a query
 * costs milliseconds:
 * - an inverted index from key (word, or Hangul character / character pair) to the
 *   conversations holding it, with counts — it picks and ranks the candidates;
 * - each conversation's current text, one string with segment offsets — the exact match
 *   (phrases, word boundaries, particles), the segments hit and the snippets are taken from it.
 *
 * Removing a conversation removes its postings and every key no other conversation has: nothing
 * of a deleted conversation stays.
 */
import type { SpeakerId } from '../protocol/messages.js';
import { findTerm, type Term } from './query.js';
import type { PersistedDoc } from './persisted.js';
import { countKeys, normalize, requiredKeys } from './text.js';

/** A conversation as the index takes it. */
export interface IndexedConversation {
  id: string;
  title: string | null;
  started_at: string;
  speakers: Array<{ id: SpeakerId; name: string | null }>;
  segments: Array<{ segment_id: number; speaker_id: SpeakerId | null; start: number; text: string | null }>;
}

/** Weight of a key found in the title or a speaker's name, against 1 in the text. */
const FIELD_WEIGHT = 5;
/** Keys a prefix may stand for; the most frequent are kept. */
const MAX_EXPANSIONS = 64;
/** Segments shown per conversation in a result. */
export const MAX_HITS = 5;
/** Characters of context around a match in a snippet. */
const SNIPPET_BEFORE = 40;
const SNIPPET_CHARS = 160;

interface Doc {
  id: string;
  title: string | null;
  started_at: string;
  speakers: Array<{ id: SpeakerId; name: string | null }>;
  /** Segment texts joined by '\n' (no text: ''), and where each starts. */
  text: string;
  /** `text` normalized (search/text.ts), and where each unit came from (null: one for one). */
  norm: string;
  map: Int32Array | null;
  offsets: Uint32Array;
  segIds: Float64Array;
  starts: Float64Array;
  /** Speaker per segment: 0, 1, or -1 for unknown. */
  speakerIds: Int8Array;
  /** The store's fingerprint of the records this was read from; null: not to be persisted. */
  stamp: string | null;
}

function makeDoc(
  id: string,
  title: string | null,
  started_at: string,
  speakers: ReadonlyArray<{ id: SpeakerId; name: string | null }>,
  text: string,
  offsets: Uint32Array,
  stamp: string | null,
  segs: { segIds: Float64Array; starts: Float64Array; speakerIds: Int8Array },
): Doc {
  const { norm, map } = normalize(text);
  return {
    id,
    title,
    started_at,
    speakers: speakers.map((s) => ({ id: s.id, name: s.name })),
    text,
    // Kept beside the text (twice the memory for it) so that a query never re-normalizes.
    norm: map === null && norm === text ? text : norm,
    map,
    offsets,
    ...segs,
    stamp,
  };
}

interface Posting {
  /** Conversation slots, ascending; counts beside them. */
  slots: number[];
  counts: number[];
}

export interface SearchHit {
  segment_id: number;
  start: number;
  speaker_id: SpeakerId | null;
  speaker_name: string | null;
  /** Up to ~160 characters of the segment around the first match. */
  snippet: string;
  /** [from, to) UTF-16 offsets in `snippet` of each match. */
  marks: Array<[number, number]>;
}

export interface SearchResult {
  conversation_id: string;
  title: string | null;
  started_at: string;
  speakers: Array<{ id: SpeakerId; name: string | null }>;
  score: number;
  /** Matches in the title, [from, to) in `title`. */
  title_marks: Array<[number, number]>;
  /** Segments that matched, best first (most terms, then time), at most {@link MAX_HITS}. */
  hits: SearchHit[];
  /** How many segments matched in all. */
  hit_count: number;
}

export interface SearchPage {
  results: SearchResult[];
  /** Where the next page starts (pass back as `cursor`), or null at the end. */
  next: number | null;
  /** Conversations that contain every term's keys (before exact matching). */
  candidates: number;
}

function bisect(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SearchIndex {
  private readonly postings = new Map<string, Posting>();
  private readonly docs: Array<Doc | null> = [];
  private readonly slotOf = new Map<string, number>();
  private readonly free: number[] = [];

  /** Conversations indexed. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Distinct keys held. */
  get keys(): number {
    return this.postings.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /**
   * Adds or replaces a conversation. `stamp`: the store's fingerprint of the records it was read
   * from (kept so that {@link persisted} can hand it on; null: not to be persisted).
   */
  set(c: IndexedConversation, stamp: string | null = null): void {
    this.remove(c.id);
    const n = c.segments.length;
    const offsets = new Uint32Array(n + 1);
    const parts: string[] = [];
    let at = 0;
    c.segments.forEach((s, i) => {
      offsets[i] = at;
      // A newline cannot be part of a match: segments never run into each other.
      const t = (s.text ?? '').replace(/\n/g, ' ');
      parts.push(t);
      at += t.length + 1;
    });
    offsets[n] = at;
    const doc = makeDoc(c.id, c.title, c.started_at, c.speakers, parts.join('\n'), offsets, stamp, {
      segIds: Float64Array.from(c.segments, (s) => s.segment_id),
      starts: Float64Array.from(c.segments, (s) => s.start),
      speakerIds: Int8Array.from(c.segments, (s) => (s.speaker_id === null ? -1 : s.speaker_id)),
    });
    const counts = this.keyCounts(doc);
    this.insert(doc, [...counts.keys()], [...counts.values()]);
  }

  /**
   * Adds or replaces a conversation from its kept form (search/persisted.ts, already validated):
   * its keys are taken as they are, not re-analysed — the cheap path of a start.
   */
  load(p: PersistedDoc): void {
    this.remove(p.id);
    const n = p.segIds.length;
    const offsets = new Uint32Array(n + 1);
    let seg = 1;
    for (let at = p.text.indexOf('\n'); at >= 0 && seg < n; at = p.text.indexOf('\n', at + 1)) offsets[seg++] = at + 1;
    offsets[n] = n === 0 ? 0 : p.text.length + 1;
    const doc = makeDoc(p.id, p.title, p.started_at, p.speakers, p.text, offsets, p.stamp, {
      segIds: Float64Array.from(p.segIds),
      starts: Float64Array.from(p.starts),
      speakerIds: Int8Array.from(p.speakerIds),
    });
    this.insert(doc, p.keys, p.counts);
  }

  /** A conversation's kept form (search/persisted.ts), or null when it is not indexed or has no stamp. */
  persisted(id: string): PersistedDoc | null {
    const slot = this.slotOf.get(id);
    const doc = slot === undefined ? null : this.docs[slot]!;
    if (!doc || doc.stamp === null) return null;
    const counts = this.keyCounts(doc);
    return {
      id: doc.id,
      stamp: doc.stamp,
      title: doc.title,
      started_at: doc.started_at,
      speakers: doc.speakers.map((s) => ({ ...s })),
      text: doc.text,
      segIds: Array.from(doc.segIds),
      starts: Array.from(doc.starts),
      speakerIds: Array.from(doc.speakerIds),
      keys: [...counts.keys()],
      counts: [...counts.values()],
    };
  }

  /** Adds `doc` and its keys (`counts[i]` occurrences of `keys[i]`; a key given twice adds up). */
  private insert(doc: Doc, keys: readonly string[], counts: readonly number[]): void {
    const slot = this.free.length > 0 ? this.free.pop()! : this.docs.length;
    this.docs[slot] = doc;
    this.slotOf.set(doc.id, slot);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const count = counts[k]!;
      let p = this.postings.get(key);
      if (!p) {
        p = { slots: [], counts: [] };
        this.postings.set(key, p);
      }
      const last = p.slots.length - 1;
      if (last < 0 || p.slots[last]! < slot) {
        p.slots.push(slot);
        p.counts.push(count);
        continue;
      }
      const i = bisect(p.slots, slot);
      if (p.slots[i] === slot) p.counts[i] = p.counts[i]! + count;
      else {
        p.slots.splice(i, 0, slot);
        p.counts.splice(i, 0, count);
      }
    }
  }

  /** Removes a conversation and every key only it had; false when it was not indexed. */
  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    const doc = this.docs[slot]!;
    for (const key of this.keyCounts(doc).keys()) {
      const p = this.postings.get(key);
      if (!p) continue;
      const i = bisect(p.slots, slot);
      if (p.slots[i] === slot) {
        p.slots.splice(i, 1);
        p.counts.splice(i, 1);
      }
      if (p.slots.length === 0) this.postings.delete(key);
    }
    this.docs[slot] = null;
    this.slotOf.delete(id);
    this.free.push(slot);
    return true;
  }

  private keyCounts(doc: Doc): Map<string, number> {
    const counts = new Map<string, number>();
    countKeys(doc.norm, counts);
    if (doc.title) countKeys(normalize(doc.title).norm, counts, FIELD_WEIGHT);
    for (const s of doc.speakers) if (s.name) countKeys(normalize(s.name).norm, counts, FIELD_WEIGHT);
    return counts;
  }

  /** Candidates of one term: slot → weighted count. */
  private candidatesOf(term: Term): Map<number, number> {
    const out = new Map<number, number>();
    const addAll = (p: Posting) => p.slots.forEach((s, i) => out.set(s, (out.get(s) ?? 0) + p.counts[i]!));
    if (term.prefix) {
      const expansions: Posting[] = [];
      for (const [key, p] of this.postings) if (key.startsWith(term.text)) expansions.push(p);
      expansions.sort((a, b) => b.slots.length - a.slots.length);
      for (const p of expansions.slice(0, MAX_EXPANSIONS)) addAll(p);
      return out;
    }
    // Every word of the term (all of a phrase's) must be there; n-gram words by all their pairs.
    let first = true;
    for (const word of term.words) {
      for (const key of requiredKeys(word)) {
        const p = this.postings.get(key);
        if (!p) return new Map();
        if (first) {
          addAll(p);
          first = false;
          continue;
        }
        const here = new Map<number, number>();
        p.slots.forEach((s, i) => {
          const prev = out.get(s);
          if (prev !== undefined) here.set(s, Math.min(prev, p.counts[i]!));
        });
        out.clear();
        for (const [s, c] of here) out.set(s, c);
        if (out.size === 0) return out;
      }
    }
    return out;
  }

  /**
   * Conversations matching every term, best first: ranked by tf-idf over the keys, then newest.
   * `offset`/`limit` page through the ranked candidates (a candidate whose exact text does not
   * match is skipped).
   */
  search(terms: readonly Term[], offset: number, limit: number): SearchPage {
    if (terms.length === 0 || this.size === 0) return { results: [], next: null, candidates: 0 };
    const perTerm = terms.map((t) => this.candidatesOf(t)).sort((a, b) => a.size - b.size);
    const n = this.size;
    const scores = new Map<number, number>();
    for (const [slot] of perTerm[0]!) scores.set(slot, 0);
    for (const cands of perTerm) {
      const idf = Math.log(1 + n / Math.max(1, cands.size));
      for (const [slot, score] of scores) {
        const tf = cands.get(slot);
        if (tf === undefined) scores.delete(slot);
        else scores.set(slot, score + idf * Math.log(1 + tf));
      }
    }
    const ranked = [...scores].sort((a, b) => b[1] - a[1] || (this.docs[b[0]]!.started_at > this.docs[a[0]]!.started_at ? 1 : -1));
    const results: SearchResult[] = [];
    let i = offset;
    for (; i < ranked.length && results.length < limit; i++) {
      const [slot, score] = ranked[i]!;
      const r = this.exact(this.docs[slot]!, terms, score);
      if (r) results.push(r);
    }
    return { results, next: i < ranked.length ? i : null, candidates: ranked.length };
  }

  /** The exact matches of every term in one conversation, or null when one term has none. */
  private exact(doc: Doc, terms: readonly Term[], score: number): SearchResult | null {
    const { norm, map } = doc;
    const title = doc.title ? normalize(doc.title) : null;
    const names = doc.speakers.map((s) => (s.name ? normalize(s.name).norm : ''));
    const titleMarks: Array<[number, number]> = [];
    /** Segment index → terms matched and ranges (in `doc.text`). */
    const bySeg = new Map<number, { terms: Set<number>; ranges: Array<[number, number]> }>();
    for (let t = 0; t < terms.length; t++) {
      const term = terms[t]!;
      let found = false;
      if (title) {
        for (const [a, b] of findTerm(title.norm, term)) {
          titleMarks.push(toOriginal(title.map, a, b, doc.title!.length));
          found = true;
        }
      }
      if (names.some((nm) => nm !== '' && findTerm(nm, term).length > 0)) found = true;
      for (const [na, nb] of findTerm(norm, term)) {
        found = true;
        const [a, b] = toOriginal(map, na, nb, doc.text.length);
        const seg = bisect(doc.offsets, a + 1) - 1;
        let e = bySeg.get(seg);
        if (!e) {
          e = { terms: new Set(), ranges: [] };
          bySeg.set(seg, e);
        }
        e.terms.add(t);
        e.ranges.push([a, b]);
      }
      if (!found) return null;
    }
    const order = [...bySeg.entries()].sort((a, b) => b[1].terms.size - a[1].terms.size || a[0] - b[0]);
    const hits = order.slice(0, MAX_HITS).map(([seg, e]) => this.hit(doc, seg, e.ranges));
    titleMarks.sort((a, b) => a[0] - b[0]);
    return {
      conversation_id: doc.id,
      title: doc.title,
      started_at: doc.started_at,
      speakers: doc.speakers,
      score: Math.round(score * 1000) / 1000,
      title_marks: titleMarks,
      hits,
      hit_count: bySeg.size,
    };
  }

  private hit(doc: Doc, seg: number, ranges: Array<[number, number]>): SearchHit {
    const from = doc.offsets[seg]!;
    const to = doc.offsets[seg + 1]! - 1;
    const text = doc.text.slice(from, to);
    const marks = ranges.map(([a, b]) => [a - from, Math.min(b, to) - from] as [number, number]);
    marks.sort((a, b) => a[0] - b[0]);
    let start = Math.max(0, marks[0]![0] - SNIPPET_BEFORE);
    let end = Math.min(text.length, start + SNIPPET_CHARS);
    start = Math.max(0, Math.min(start, end - SNIPPET_CHARS));
    // Never cut a surrogate pair in two.
    if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start--;
    if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end++;
    const lead = start > 0 ? '…' : '';
    const snippet = `${lead}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
    const shown = marks
      .filter(([a, b]) => a >= start && b <= end)
      .map(([a, b]) => [a - start + lead.length, b - start + lead.length] as [number, number]);
    const sid = doc.speakerIds[seg]!;
    const speaker = sid === -1 ? null : (sid as SpeakerId);
    return {
      segment_id: doc.segIds[seg]!,
      start: doc.starts[seg]!,
      speaker_id: speaker,
      speaker_name: speaker === null ? null : (doc.speakers.find((s) => s.id === speaker)?.name ?? null),
      snippet,
      marks: shown,
    };
  }

  /** A rough count of the bytes the index holds (keys, postings, texts), for the benchmark. */
  approxBytes(): number {
    let bytes = 0;
    for (const [key, p] of this.postings) bytes += 40 + key.length * 2 + p.slots.length * 16;
    for (const d of this.docs) {
      if (!d) continue;
      const wide = /[^\x00-\xff]/.test(d.text);
      bytes += (d.text.length + (d.norm === d.text ? 0 : d.norm.length)) * (wide ? 2 : 1) + (d.map?.byteLength ?? 0) + d.offsets.byteLength + d.segIds.byteLength + d.starts.byteLength + d.speakerIds.byteLength + 200;
    }
    return bytes;
  }
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** A [from, to) range of normalized text as a range of the original. */
function toOriginal(map: Int32Array | null, a: number, b: number, length: number): [number, number] {
  if (!map) return [a, b];
  const oa = map[a] ?? length;
  let ob = b < map.length ? map[b]! : length;
  if (ob <= oa) ob = oa + 1;
  return [oa, ob];
}
