/**
 * Corrections of a stored transcript — pure: records in, view out; no I/O.
 *
 * A correction is one more record appended to the conversation's `events.jsonl` (the store stays
 * append-only, so a crash mid-edit can only tear the new line, never what was there). The current
 * view is the engine's records with the corrections applied in order:
 *
 * - a correction overrides fields (text, speaker, times) of a segment; an engine record for the
 *   same segment that arrives later (a late `transcription` on an open conversation) changes the
 *   original only — the user's edit wins, the engine's text stays retrievable as the original;
 * - `undo` cancels the latest correction not yet undone (a stack);
 * - `set` is what compaction writes: a segment's whole correction state in one record, so that a
 *   conversation with 10,000 edits loads as fast as one with a few, with no edit lost.
 *
 * Every segment carries a `revision`: how many records (engine or correction, undo included)
 * have changed it. An edit may name the revision it read; a different one is a conflict (409).
 */
import type { SpeakerId } from '../protocol/messages.js';
import type { EventRecord, StoredSegment } from './types.js';

/** Segments made by a split take ids from here up, far above any engine's segment ids. */
export const SPLIT_ID_BASE = 1_000_000_000;
/** Longest corrected text of one segment, in UTF-16 code units. */
export const MAX_SEGMENT_TEXT = 5000;
/** Compaction pays off above this many correction records in one conversation. */
export const COMPACT_AFTER = 1000;

/** The fields a correction can override. */
interface Fields {
  speaker_id: SpeakerId | null;
  start: number;
  end: number;
  text: string | null;
}

export type CorrectionRecord =
  | { k: 'correction'; op: 'edit'; segment_id: number; text?: string; speaker_id?: SpeakerId | null; at: string }
  | { k: 'correction'; op: 'delete'; segment_id: number; at: string }
  /** `cut`: seconds where the second part starts; `left`/`right`: the two texts. */
  | { k: 'correction'; op: 'split'; segment_id: number; new_id: number; cut: number; left: string; right: string; at: string }
  /** `text`: the merged text (null when neither part had text: diarization-only). */
  | { k: 'correction'; op: 'merge'; segment_id: number; next_id: number; text: string | null; at: string }
  | { k: 'correction'; op: 'undo'; at: string }
  /** Compaction: the segment's overrides and revision, absolute. `born`: made by a split. */
  | { k: 'correction'; op: 'set'; segment_id: number; revision: number; over: Partial<Fields>; removed: boolean; born: boolean; at: string };

/** The original (engine) form of a segment, as `?original=true` and the JSON export show it. */
export type OriginalSegment = Fields;

interface SegState {
  segment_id: number;
  /** null for a segment made by a split (it has no engine original). */
  orig: Fields | null;
  over: Partial<Fields>;
  removed: boolean;
  revision: number;
}

export interface ConversationView {
  /** The current segments (not deleted), in time order, with `revision` and the corrected mark. */
  segments: StoredSegment[];
  /** Every segment's state by id, deleted ones included. */
  states: ReadonlyMap<number, Readonly<SegState>>;
  /** Correction records in the file, compaction's own excepted (it is due above {@link COMPACT_AFTER}). */
  corrections: number;
  /** Index in the records of the correction `undo` would cancel, or -1. */
  undoable: number;
}

function isCorrection(r: EventRecord): r is CorrectionRecord {
  return (r as { k?: unknown }).k === 'correction';
}

/** Segment ids a correction changes. */
function touched(c: CorrectionRecord): number[] {
  switch (c.op) {
    case 'edit':
    case 'delete':
    case 'set':
      return [c.segment_id];
    case 'split':
      return [c.segment_id, c.new_id];
    case 'merge':
      return [c.segment_id, c.next_id];
    case 'undo':
      return [];
  }
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const speakerOk = (x: unknown): x is SpeakerId | null => x === 0 || x === 1 || x === null;

/**
 * Which corrections are in effect: `undo` records cancel the latest one still in effect; a `set`
 * (compaction) cannot be undone and empties the stack. Returns the cancelled indices and the
 * index `undo` would cancel next.
 */
function undoStack(records: readonly EventRecord[]): { cancelled: Set<number>; cancelledBy: Map<number, number>; top: number } {
  const stack: number[] = [];
  const cancelled = new Set<number>();
  const cancelledBy = new Map<number, number>();
  records.forEach((r, i) => {
    if (!isCorrection(r)) return;
    if (r.op === 'undo') {
      const j = stack.pop();
      if (j !== undefined) {
        cancelled.add(j);
        cancelledBy.set(i, j);
      }
    } else if (r.op === 'set') stack.length = 0;
    else stack.push(i);
  });
  return { cancelled, cancelledBy, top: stack.length > 0 ? stack[stack.length - 1]! : -1 };
}

function current(s: SegState): Fields {
  const o = s.orig ?? { speaker_id: null, start: 0, end: 0, text: null };
  return {
    speaker_id: 'speaker_id' in s.over ? s.over.speaker_id! : o.speaker_id,
    start: 'start' in s.over ? s.over.start! : o.start,
    end: 'end' in s.over ? s.over.end! : o.end,
    text: 'text' in s.over ? s.over.text! : o.text,
  };
}

/** True when the segment's current form differs from (or has no) engine original. */
function isCorrected(s: SegState): boolean {
  return s.orig === null || Object.keys(s.over).length > 0;
}

/**
 * The current view of a conversation's records. Total: a record that names an unknown segment
 * or carries wrong fields (a hostile or damaged file) is skipped, never thrown on.
 */
export function viewOf(records: readonly EventRecord[]): ConversationView {
  const states = new Map<number, SegState>();
  const { cancelled, cancelledBy, top } = undoStack(records);
  let corrections = 0;
  const bump = (id: number) => {
    const s = states.get(id);
    if (s) s.revision++;
  };
  records.forEach((r, i) => {
    if (r.k === 'segment' || r.k === 'transcription') {
      if (!Number.isInteger(r.segment_id) || !finite(r.start) || !finite(r.end)) return;
      let s = states.get(r.segment_id);
      if (!s) {
        s = { segment_id: r.segment_id, orig: null, over: {}, removed: false, revision: 0 };
        states.set(r.segment_id, s);
      }
      const prevText = s.orig?.text ?? null;
      s.orig = { speaker_id: speakerOk(r.speaker_id) ? r.speaker_id : null, start: r.start, end: r.end, text: r.k === 'transcription' ? (typeof r.text === 'string' ? r.text : null) : prevText };
      s.revision++;
      return;
    }
    if (!isCorrection(r)) return;
    if (r.op !== 'set') corrections++;
    if (r.op === 'undo') {
      const j = cancelledBy.get(i);
      if (j !== undefined) for (const id of touched(records[j] as CorrectionRecord)) bump(id);
      return;
    }
    for (const id of touched(r)) bump(id);
    if (cancelled.has(i)) return;
    apply(states, r);
  });
  const segments: StoredSegment[] = [];
  for (const s of states.values()) {
    if (s.removed) continue;
    segments.push(publicOf(s));
  }
  segments.sort((a, b) => a.start - b.start || a.segment_id - b.segment_id);
  return { segments, states, corrections, undoable: top };
}

/** A segment as the API shows it: current fields, revision, and the original when corrected. */
export function publicOf(s: Readonly<SegState>): StoredSegment {
  const c = current(s);
  const out: StoredSegment = { segment_id: s.segment_id, speaker_id: c.speaker_id, start: c.start, end: c.end, text: c.text, revision: s.revision };
  if (isCorrected(s)) {
    out.corrected = true;
    out.original = s.orig ? { ...s.orig } : null;
  }
  return out;
}

function apply(states: Map<number, SegState>, c: CorrectionRecord): void {
  const s = 'segment_id' in c ? states.get(c.segment_id) : undefined;
  switch (c.op) {
    case 'edit':
      if (!s) return;
      if (typeof c.text === 'string') s.over.text = c.text;
      if (c.speaker_id !== undefined && speakerOk(c.speaker_id)) s.over.speaker_id = c.speaker_id;
      return;
    case 'delete':
      if (s) s.removed = true;
      return;
    case 'split': {
      if (!s || !finite(c.cut) || typeof c.left !== 'string' || typeof c.right !== 'string' || states.has(c.new_id)) return;
      const cur = current(s);
      s.over.end = c.cut;
      s.over.text = c.left;
      states.set(c.new_id, { segment_id: c.new_id, orig: null, over: { speaker_id: cur.speaker_id, start: c.cut, end: cur.end, text: c.right }, removed: false, revision: 1 });
      return;
    }
    case 'merge': {
      const next = states.get(c.next_id);
      if (!s || !next) return;
      s.over.end = current(next).end;
      if (typeof c.text === 'string') s.over.text = c.text;
      next.removed = true;
      return;
    }
    case 'set': {
      if (!Number.isInteger(c.segment_id) || typeof c.over !== 'object' || c.over === null) return;
      let t = states.get(c.segment_id);
      if (!t) {
        t = { segment_id: c.segment_id, orig: null, over: {}, removed: false, revision: 0 };
        states.set(c.segment_id, t);
      }
      const over: Partial<Fields> = {};
      if ('speaker_id' in c.over && speakerOk(c.over.speaker_id)) over.speaker_id = c.over.speaker_id;
      if (finite(c.over.start)) over.start = c.over.start;
      if (finite(c.over.end)) over.end = c.over.end;
      if ('text' in c.over && (typeof c.over.text === 'string' || c.over.text === null)) over.text = c.over.text;
      t.over = over;
      t.removed = c.removed === true;
      if (Number.isInteger(c.revision)) t.revision = c.revision;
      return;
    }
    case 'undo':
      return;
  }
}

/** The engine's segments, uncorrected (deleted ones included), in time order. */
export function originalsOf(records: readonly EventRecord[]): StoredSegment[] {
  const out: StoredSegment[] = [];
  for (const s of viewOf(records).states.values()) if (s.orig) out.push({ segment_id: s.segment_id, ...s.orig });
  return out.sort((a, b) => a.start - b.start || a.segment_id - b.segment_id);
}

/** What a client asks for. `revision`: the one it read (omitted: no check). */
export type CorrectionRequest =
  | { op: 'edit'; segment_id: number; text?: string; speaker_id?: SpeakerId | null; revision?: number }
  | { op: 'delete'; segment_id: number; revision?: number }
  | { op: 'split'; segment_id: number; at: number; revision?: number }
  | { op: 'merge'; segment_id: number; revision?: number }
  | { op: 'undo' };

/** Coded refusals; `status` is the HTTP status the API answers with. */
export interface CorrectionError {
  status: 400 | 404 | 409;
  code: 'no_such_segment' | 'revision_conflict' | 'empty_text' | 'text_too_long' | 'bad_offset' | 'not_transcribed' | 'no_next_segment' | 'speakers_differ' | 'nothing_to_undo';
  message: string;
}

export type Plan = { ok: true; record: CorrectionRecord } | { ok: false; error: CorrectionError };

const fail = (status: CorrectionError['status'], code: CorrectionError['code'], message: string): Plan => ({ ok: false, error: { status, code, message } });
const ms = (s: number) => Math.round(s * 1000) / 1000;

/**
 * Checks a request against the current view and returns the record to append, or a coded
 * refusal. `now` stamps the record.
 */
export function planCorrection(records: readonly EventRecord[], req: CorrectionRequest, now: Date): Plan {
  const view = viewOf(records);
  const at = now.toISOString();
  if (req.op === 'undo') {
    if (view.undoable < 0) return fail(409, 'nothing_to_undo', 'there is no correction left to undo');
    return { ok: true, record: { k: 'correction', op: 'undo', at } };
  }
  const s = view.states.get(req.segment_id);
  if (!s || s.removed) return fail(404, 'no_such_segment', `no segment ${req.segment_id} in this conversation`);
  if (req.revision !== undefined && req.revision !== s.revision) {
    return fail(409, 'revision_conflict', `segment ${req.segment_id} changed since it was read (revision ${s.revision}, not ${req.revision}); reload it`);
  }
  const cur = current(s);
  switch (req.op) {
    case 'edit': {
      const record: CorrectionRecord = { k: 'correction', op: 'edit', segment_id: req.segment_id, at };
      if (req.text !== undefined) {
        const text = req.text.trim();
        if (text === '') return fail(400, 'empty_text', 'a segment cannot be left empty; delete it instead');
        if (text.length > MAX_SEGMENT_TEXT) return fail(400, 'text_too_long', `a segment's text is limited to ${MAX_SEGMENT_TEXT} characters`);
        record.text = text;
      }
      if (req.speaker_id !== undefined) record.speaker_id = req.speaker_id;
      return { ok: true, record };
    }
    case 'delete':
      return { ok: true, record: { k: 'correction', op: 'delete', segment_id: req.segment_id, at } };
    case 'split': {
      const text = cur.text;
      if (text === null) return fail(409, 'not_transcribed', 'this segment has no text (yet) to split');
      const cut = req.at;
      if (!Number.isInteger(cut) || cut <= 0 || cut >= text.length) return fail(400, 'bad_offset', `the split offset must lie inside the text (1 to ${text.length - 1})`);
      const code = text.charCodeAt(cut);
      if (code >= 0xdc00 && code <= 0xdfff) return fail(400, 'bad_offset', 'the split offset falls inside a character');
      const left = text.slice(0, cut).trim();
      const right = text.slice(cut).trim();
      if (left === '' || right === '') return fail(400, 'bad_offset', 'both parts of a split need some text');
      // No word times are stored: the cut is placed by the proportion of characters before it.
      const cutS = ms(cur.start + ((cur.end - cur.start) * cut) / text.length);
      let maxId = SPLIT_ID_BASE - 1;
      for (const id of view.states.keys()) maxId = Math.max(maxId, id);
      return { ok: true, record: { k: 'correction', op: 'split', segment_id: req.segment_id, new_id: maxId + 1, cut: cutS, left, right, at } };
    }
    case 'merge': {
      const i = view.segments.findIndex((x) => x.segment_id === req.segment_id);
      const next = view.segments[i + 1];
      if (!next) return fail(400, 'no_next_segment', 'this is the last segment: there is nothing to merge it with');
      if (next.speaker_id !== cur.speaker_id) return fail(400, 'speakers_differ', 'only segments of the same speaker can be merged; reassign one first');
      if ((cur.text === null) !== (next.text === null)) return fail(409, 'not_transcribed', 'one of the two segments has no text yet');
      const text = cur.text === null || next.text === null ? null : `${cur.text.trimEnd()} ${next.text.trimStart()}`.trim();
      if (text !== null && text.length > MAX_SEGMENT_TEXT) return fail(400, 'text_too_long', `a segment's text is limited to ${MAX_SEGMENT_TEXT} characters`);
      return { ok: true, record: { k: 'correction', op: 'merge', segment_id: req.segment_id, next_id: next.segment_id, text, at } };
    }
  }
}

/** Segment ids a planned record changes (for `undo`: those of the correction it cancels). */
export function touchedBy(records: readonly EventRecord[], record: CorrectionRecord): number[] {
  if (record.op !== 'undo') return touched(record);
  const top = viewOf(records).undoable;
  return top < 0 ? [] : touched(records[top] as CorrectionRecord);
}

/**
 * The same view in fewer records: the engine's records unchanged and in order (the originals
 * stay), then one `set` per corrected segment carrying its overrides, deletion and revision.
 * Undo history before compaction is given up; no edit is. Returns null when there is nothing to
 * gain or when the result would not give back the same view (never write a lossy file).
 */
export function compact(records: readonly EventRecord[], now: Date): EventRecord[] | null {
  const before = viewOf(records);
  if (before.corrections === 0) return null;
  const out: EventRecord[] = records.filter((r) => !isCorrection(r));
  const at = now.toISOString();
  const enginesOnly = viewOf(out);
  for (const s of before.states.values()) {
    const plain = enginesOnly.states.get(s.segment_id);
    if (plain && Object.keys(s.over).length === 0 && !s.removed && plain.revision === s.revision) continue;
    out.push({ k: 'correction', op: 'set', segment_id: s.segment_id, revision: s.revision, over: { ...s.over }, removed: s.removed, born: s.orig === null, at });
  }
  const after = viewOf(out);
  if (JSON.stringify(after.segments) !== JSON.stringify(before.segments)) return null;
  return out;
}
