/**
 * The conversation store: plain append-only files under DATA_DIR, no database.
 *
 *   conversations/<id>/meta.json      title, times, speakers' names, models (atomic replace)
 *   conversations/<id>/events.jsonl   one record per line, appended + fdatasync'ed
 *   conversations/<id>/speakers.json  the conversation's voice embeddings (never raw audio)
 *   conversations/<id>/search.json    the search index's part for it: derived, rebuilt when stale
 *   voices/<id>.json                  saved voices (name + embeddings)
 *
 * A crash can only tear the last line of `events.jsonl`: readers ignore a last line without
 * its newline (or that does not parse), and {@link ConversationStore.init} truncates it away.
 */
import { join } from 'node:path';
import { isId, newId } from './ids.js';
import { compact, COMPACT_AFTER, originalsOf, planCorrection, touchedBy, viewOf, type CorrectionError, type CorrectionRequest } from './corrections.js';
import { nodeFs, REMOVING, type StorageFs } from './fs.js';
import type {
  ConversationMeta,
  ConversationRecord,
  ConversationSummary,
  EventRecord,
  StoredSegment,
  StoredSpeaker,
  StoredVoice,
  VoiceSummary,
} from './types.js';

const META = 'meta.json';
const EVENTS = 'events.jsonl';
const SPEAKERS = 'speakers.json';
const PREVIEW_CHARS = 80;
/** Names a derived file (see {@link ConversationStore.writeDerived}) may have: .json, so that rekey re-seals it. */
const DERIVED_FILE = /^[a-z][a-z0-9-]{0,40}\.json$/;
const RESERVED = new Set([META, SPEAKERS]);
/** Bytes read from the end of an events file to check its last record at startup (records are far shorter). */
const TAIL_BYTES = 64 * 1024;
/** The shorter tail tried first (a start reads one per stored conversation). */
const SHORT_TAIL_BYTES = 4 * 1024;

/**
 * The good records of an events file, and the byte length of the prefix to keep: everything up
 * to the last line that parses. A tail without its newline, or a last line that does not parse,
 * is a record torn by a crash (`torn`).
 */
export function parseEvents(text: string): { records: EventRecord[]; goodBytes: number; torn: boolean } {
  const records: EventRecord[] = [];
  // Walks the string (no copy to bytes per line); byte counts are taken only at the end.
  let good = 0;
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) break;
    const line = text.slice(at, nl);
    at = nl + 1;
    if (line.trim() === '') {
      good = at;
      continue;
    }
    try {
      records.push(JSON.parse(line) as EventRecord);
      good = at;
    } catch {
      // Only a crash mid-write leaves such a line; it is dropped, not fatal.
    }
  }
  const torn = good < text.length;
  return { records, goodBytes: torn ? Buffer.byteLength(text.slice(0, good), 'utf8') : Buffer.byteLength(text, 'utf8'), torn };
}

/** Segments (with their latest text, corrections applied) from the records, in time order. */
export function segmentsOf(records: readonly EventRecord[]): StoredSegment[] {
  return viewOf(records).segments;
}

/**
 * Whether the events file needs no repair: empty, or ending with a newline after a last line that
 * parses. Lets startup skip parsing every line of every ended conversation.
 */
function tailIsSound(text: string): boolean {
  if (text === '') return true;
  if (!text.endsWith('\n')) return false;
  const from = text.lastIndexOf('\n', text.length - 2) + 1;
  const last = text.slice(from, -1);
  if (last.trim() === '') return true;
  try {
    JSON.parse(last);
    return true;
  } catch {
    return false;
  }
}

/** What changed in the store, for a listener such as the search index. */
export type StoreChange = { kind: 'changed' | 'deleted'; id: string };

/** A correction's outcome: the segments it changed (as they are now) and those it removed. */
export type CorrectionResult = { ok: true; segments: StoredSegment[]; removed: number[] } | { ok: false; error: CorrectionError };

export interface NewConversation {
  language: string;
  models: ConversationMeta['models'];
  speakers: StoredSpeaker[];
  startedAt?: Date;
}

export interface MetaPatch {
  title?: string | null;
  speakers?: Array<{ id: 0 | 1; name: string | null }>;
}

export class ConversationStore {
  /** Per-id chains: writes to one conversation never interleave. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly deleted = new Set<string>();
  private readonly watchers = new Set<(change: StoreChange) => void>();
  readonly conversationsDir: string;
  readonly voicesDir: string;

  constructor(
    readonly dataDir: string,
    private readonly fs: StorageFs = nodeFs,
  ) {
    this.conversationsDir = join(dataDir, 'conversations');
    this.voicesDir = join(dataDir, 'voices');
  }

  /**
   * The store's file layer (owner-only files; sealed when encryption at rest is on): records
   * kept beside a conversation, such as its notes, go through it so they get the same treatment.
   */
  get files(): StorageFs {
    return this.fs;
  }

  /** Folder of one conversation (for files kept beside the record, e.g. audio). */
  dirOf(id: string): string {
    return join(this.conversationsDir, id);
  }

  /**
   * Startup repair: truncates torn last records, and ends conversations a previous process left
   * open (they cannot be resumed: their audio pipeline is gone). Returns what it did.
   */
  async init(): Promise<{ repaired: number; ended: number }> {
    await this.fs.mkdir(this.conversationsDir);
    await this.fs.mkdir(this.voicesDir);
    // A deletion that a crash interrupted finishes now: deleted means deleted.
    for (const dir of [this.conversationsDir, this.voicesDir]) {
      for (const name of await this.fs.list(dir)) if (name.includes(REMOVING)) await this.fs.remove(join(dir, name));
    }
    let repaired = 0;
    let ended = 0;
    for (const id of await this.ids()) {
      const path = join(this.dirOf(id), EVENTS);
      const meta = await this.readMeta(id);
      // An ended conversation with a sound last line needs nothing: skip reading all of it.
      if (meta && meta.ended_at !== null && this.fs.tail) {
        // Most last records are far shorter than 4 KB: try that first, then the longer tail.
        const short = await this.fs.tail(path, SHORT_TAIL_BYTES);
        if (short !== null && tailIsSound(short)) continue;
        const tail = short === null ? null : await this.fs.tail(path, TAIL_BYTES);
        if (tail !== null && tailIsSound(tail)) continue;
      }
      const text = (await this.fs.read(path)) ?? '';
      if (meta && meta.ended_at !== null && tailIsSound(text)) continue;
      const parsed = parseEvents(text);
      if (parsed.torn) {
        await this.fs.truncate(path, parsed.goodBytes);
        repaired++;
      }
      if (meta && meta.ended_at === null) {
        const segs = segmentsOf(parsed.records);
        const lastEnd = segs.reduce((m, s) => Math.max(m, s.end), 0);
        const stamps = parsed.records.flatMap((r) => ('timestamp' in r ? [r.timestamp] : 'at' in r ? [r.at] : []));
        const endedAt = stamps.length > 0 ? stamps.reduce((a, b) => (a > b ? a : b)) : meta.started_at;
        await this.fs.writeAtomic(join(this.dirOf(id), META), JSON.stringify({ ...meta, ended_at: endedAt, audio_s: Math.max(meta.audio_s, lastEnd) }));
        ended++;
      }
    }
    return { repaired, ended };
  }

  /** Creates a conversation on disk; rejects when the disk refuses. */
  async create(c: NewConversation): Promise<ConversationMeta> {
    const id = newId();
    const meta: ConversationMeta = {
      version: 1,
      id,
      title: null,
      started_at: (c.startedAt ?? new Date()).toISOString(),
      ended_at: null,
      language: c.language,
      models: c.models,
      speakers: c.speakers,
      audio_s: 0,
      audio_file: null,
    };
    await this.fs.mkdir(this.dirOf(id));
    await this.fs.append(join(this.dirOf(id), EVENTS), '');
    await this.fs.writeAtomic(join(this.dirOf(id), META), JSON.stringify(meta));
    return meta;
  }

  /**
   * Stores a conversation that is already finished (a transcribed file): meta, every segment
   * with its text in one synced append, then the end. On failure nothing is left behind.
   */
  async createFinished(c: NewConversation & { title: string; endedAt: Date; audioS: number; segments: readonly StoredSegment[] }): Promise<ConversationMeta> {
    const meta = await this.create(c);
    try {
      const lines = c.segments.flatMap((s) => {
        const seg: EventRecord = { k: 'segment', segment_id: s.segment_id, speaker_id: s.speaker_id, start: s.start, end: s.end, similarity: [0, 0] };
        const text: EventRecord = { k: 'transcription', segment_id: s.segment_id, speaker_id: s.speaker_id, text: s.text, timestamp: c.endedAt.toISOString(), start: s.start, end: s.end };
        return [JSON.stringify(seg), JSON.stringify(text)];
      });
      if (lines.length) await this.serial(meta.id, () => this.fs.append(join(this.dirOf(meta.id), EVENTS), lines.join('\n') + '\n'));
      const done = await this.updateMeta(meta.id, (m) => ({ ...m, title: c.title, ended_at: c.endedAt.toISOString(), audio_s: c.audioS }));
      if (!done) throw new Error('the conversation vanished while it was stored');
      return done;
    } catch (err) {
      await this.delete(meta.id).catch(() => false);
      throw err;
    }
  }

  /** Appends one record and syncs it; resolves only once it is on disk. No-op once deleted. */
  append(id: string, record: EventRecord): Promise<void> {
    return this.serial(id, async () => {
      if (this.deleted.has(id)) return;
      await this.fs.append(join(this.dirOf(id), EVENTS), JSON.stringify(record) + '\n');
      this.emit({ kind: 'changed', id });
    });
  }

  /**
   * Applies a user's correction: checks it against the current view and appends it as one
   * synced record. null when the conversation does not exist (or was deleted meanwhile).
   */
  correct(id: string, req: CorrectionRequest, now = new Date()): Promise<CorrectionResult | null> {
    return this.serial(id, async () => {
      if (!isId(id) || this.deleted.has(id) || !(await this.readMeta(id))) return null;
      const { records } = parseEvents((await this.fs.read(join(this.dirOf(id), EVENTS))) ?? '');
      const plan = planCorrection(records, req, now);
      if (!plan.ok) return plan;
      const ids = touchedBy(records, plan.record);
      await this.fs.append(join(this.dirOf(id), EVENTS), JSON.stringify(plan.record) + '\n');
      this.emit({ kind: 'changed', id });
      const view = viewOf([...records, plan.record]);
      const segments = view.segments.filter((s) => ids.includes(s.segment_id));
      const removed = ids.filter((i) => !segments.some((s) => s.segment_id === i));
      return { ok: true, segments, removed };
    });
  }

  /** Calls `listener` after every change that is on disk; returns a function that stops it. */
  watch(listener: (change: StoreChange) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private emit(change: StoreChange): void {
    for (const w of this.watchers) {
      try {
        w(change);
      } catch {
        // A listener's failure is its own; the store's write has succeeded.
      }
    }
  }

  /**
   * Rewrites a conversation's events with its corrections folded into one record per segment
   * (atomic replace: a crash leaves the old file or the new one). Skipped when the folded view
   * would differ. Returns whether it rewrote.
   */
  compactCorrections(id: string, now = new Date()): Promise<boolean> {
    return this.serial(id, async () => {
      if (!isId(id) || this.deleted.has(id)) return false;
      const path = join(this.dirOf(id), EVENTS);
      const text = await this.fs.read(path);
      if (text === null) return false;
      const folded = compact(parseEvents(text).records, now);
      if (!folded) return false;
      await this.fs.writeAtomic(path, folded.map((r) => JSON.stringify(r) + '\n').join(''));
      return true;
    });
  }

  /** Rewrites meta.json through `change` (atomic); null when the conversation does not exist. */
  updateMeta(id: string, change: (m: ConversationMeta) => ConversationMeta): Promise<ConversationMeta | null> {
    return this.serial(id, async () => {
      if (this.deleted.has(id)) return null;
      const meta = await this.readMeta(id);
      if (!meta) return null;
      const next = change(meta);
      await this.fs.writeAtomic(join(this.dirOf(id), META), JSON.stringify(next));
      this.emit({ kind: 'changed', id });
      return next;
    });
  }

  /** Stores the conversation's voice embeddings (plain JSON, one entry per speaker). */
  writeSpeakers(id: string, profiles: Array<{ id: 0 | 1; profile: unknown }>): Promise<void> {
    return this.serial(id, async () => {
      if (this.deleted.has(id)) return;
      await this.fs.writeAtomic(join(this.dirOf(id), SPEAKERS), JSON.stringify(profiles));
    });
  }

  /** Applies an API PATCH (title, speaker names). */
  patch(id: string, p: MetaPatch): Promise<ConversationMeta | null> {
    return this.updateMeta(id, (m) => ({
      ...m,
      ...(p.title !== undefined ? { title: p.title } : {}),
      speakers: mergeSpeakers(m.speakers, p.speakers ?? []),
    }));
  }

  /** The record with its current (corrected) segments; `original`: the engine's, uncorrected. */
  async get(id: string, opts: { original?: boolean } = {}): Promise<ConversationRecord | null> {
    if (!isId(id) || this.deleted.has(id)) return null;
    const meta = await this.readMeta(id);
    if (!meta) return null;
    const { records } = parseEvents((await this.fs.read(join(this.dirOf(id), EVENTS))) ?? '');
    const view = viewOf(records);
    // Many corrections: fold them, in the background, so that the next load is fast again.
    if (view.corrections > COMPACT_AFTER) void this.compactCorrections(id).catch(() => false);
    const segments = opts.original ? originalsOf(records) : view.segments;
    const { version: _v, ...rest } = meta;
    const removed = opts.original ? [] : [...view.states.values()].filter((s) => s.removed).map((s) => ({ segment_id: s.segment_id, original: s.orig ? { ...s.orig } : null }));
    return { ...rest, duration_s: durationOf(meta, segments), segments, ...(removed.length > 0 ? { removed_segments: removed } : {}) };
  }

  /** Every conversation, newest first. */
  async list(): Promise<ConversationSummary[]> {
    const out: ConversationSummary[] = [];
    for (const id of await this.ids()) {
      const r = await this.get(id).catch(() => null);
      if (!r) continue;
      const words = r.segments.map((s) => s.text ?? '').filter((t) => t.trim() !== '').join(' ');
      out.push({
        id: r.id,
        title: r.title,
        started_at: r.started_at,
        ended_at: r.ended_at,
        duration_s: r.duration_s,
        speakers: r.speakers.map((s) => ({ id: s.id, name: s.name })),
        segments: r.segments.length,
        preview: words.length > PREVIEW_CHARS ? `${words.slice(0, PREVIEW_CHARS - 1)}…` : words,
      });
    }
    return out.sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : 0));
  }

  /** Removes a conversation and everything beside it; false when there was none. */
  delete(id: string): Promise<boolean> {
    return this.serial(id, async () => {
      if (!isId(id) || this.deleted.has(id) || !(await this.readMeta(id))) return false;
      this.deleted.add(id);
      await this.fs.remove(this.dirOf(id));
      this.emit({ kind: 'deleted', id });
      return true;
    });
  }

  /** Deletes ended conversations that ended more than `days` days before `now`; returns how many. */
  async sweep(days: number, now = new Date()): Promise<number> {
    if (days <= 0) return 0;
    const cutoff = now.getTime() - days * 86_400_000;
    let removed = 0;
    for (const id of await this.ids()) {
      const meta = await this.readMeta(id).catch(() => null);
      if (meta?.ended_at && Date.parse(meta.ended_at) < cutoff && (await this.delete(id))) removed++;
    }
    return removed;
  }

  async saveVoice(v: { name: string; encoder: string; profile: unknown }): Promise<VoiceSummary> {
    const voice: StoredVoice = { id: newId(), name: v.name, created_at: new Date().toISOString(), encoder: v.encoder, profile: v.profile };
    await this.fs.mkdir(this.voicesDir);
    await this.fs.writeAtomic(join(this.voicesDir, `${voice.id}.json`), JSON.stringify(voice));
    return summaryOf(voice);
  }

  async getVoice(id: string): Promise<StoredVoice | null> {
    if (!isId(id)) return null;
    const text = await this.fs.read(join(this.voicesDir, `${id}.json`));
    if (text === null) return null;
    try {
      return JSON.parse(text) as StoredVoice;
    } catch {
      return null;
    }
  }

  /** Saved voices, newest first, without their embeddings. */
  async listVoices(): Promise<VoiceSummary[]> {
    const out: VoiceSummary[] = [];
    for (const f of await this.fs.list(this.voicesDir)) {
      const id = f.endsWith('.json') ? f.slice(0, -5) : '';
      const v = isId(id) ? await this.getVoice(id) : null;
      if (v) out.push(summaryOf(v));
    }
    return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  }

  /** Removes a saved voice's file from disk; false when there was none. */
  async deleteVoice(id: string): Promise<boolean> {
    if (!(await this.getVoice(id))) return false;
    await this.fs.remove(join(this.voicesDir, `${id}.json`));
    return true;
  }

  /**
   * A cheap fingerprint of a conversation's records as they are on disk — inode, size and mtime
   * of its meta and events files, no read — that changes with every append, correction, rename
   * or compaction. Derived files (the search index's) carry the one they were made from; null
   * when the file layer cannot tell (no `stat`) or the conversation is gone.
   */
  async fingerprint(id: string): Promise<string | null> {
    const stat = this.fs.stat?.bind(this.fs);
    if (!stat || !isId(id) || this.deleted.has(id)) return null;
    const [m, e] = await Promise.all([stat(join(this.dirOf(id), META)), stat(join(this.dirOf(id), EVENTS))]);
    if (!m || !e) return null;
    return `${m.ino}:${m.size}:${m.mtimeMs}/${e.ino}:${e.size}:${e.mtimeMs}`;
  }

  /**
   * A file derived from a conversation's records and kept in its folder (so that deleting the
   * conversation deletes it, and rekey re-seals it), read through the file layer; null when
   * there is none or the name is not a derived file's.
   */
  readDerived(id: string, name: string): Promise<string | null> {
    if (!isId(id) || this.deleted.has(id) || !DERIVED_FILE.test(name) || RESERVED.has(name)) return Promise.resolve(null);
    return this.fs.read(join(this.dirOf(id), name));
  }

  /**
   * Replaces a derived file atomically (temporary file + rename: a crash leaves the old one or
   * the new one), in turn with the conversation's other writes; skipped (false) once the
   * conversation is deleted or its folder is gone, so that nothing of it is written back.
   */
  writeDerived(id: string, name: string, data: string): Promise<boolean> {
    if (!isId(id) || !DERIVED_FILE.test(name) || RESERVED.has(name)) return Promise.resolve(false);
    return this.serial(id, async () => {
      if (this.deleted.has(id) || !(await this.readMeta(id))) return false;
      await this.fs.writeAtomic(join(this.dirOf(id), name), data);
      return true;
    });
  }

  /** Ids of every stored conversation (for an index that reads them all). */
  listIds(): Promise<string[]> {
    return this.ids();
  }

  private async ids(): Promise<string[]> {
    return (await this.fs.list(this.conversationsDir)).filter((n) => isId(n) && !this.deleted.has(n));
  }

  private async readMeta(id: string): Promise<ConversationMeta | null> {
    if (!isId(id)) return null;
    const text = await this.fs.read(join(this.dirOf(id), META));
    if (text === null) return null;
    try {
      return JSON.parse(text) as ConversationMeta;
    } catch {
      return null;
    }
  }

  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(id) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return run;
  }
}

function summaryOf(v: StoredVoice): VoiceSummary {
  return { id: v.id, name: v.name, created_at: v.created_at, encoder: v.encoder };
}

function mergeSpeakers(current: StoredSpeaker[], renames: Array<{ id: 0 | 1; name: string | null }>): StoredSpeaker[] {
  const out = current.map((s) => ({ ...s }));
  for (const r of renames) {
    const s = out.find((x) => x.id === r.id);
    if (s) s.name = r.name;
    else out.push({ id: r.id, name: r.name });
  }
  return out.sort((a, b) => a.id - b.id);
}

function durationOf(meta: ConversationMeta, segments: readonly StoredSegment[]): number {
  const lastEnd = segments.reduce((m, s) => Math.max(m, s.end), 0);
  return Math.round(Math.max(meta.audio_s, lastEnd) * 1000) / 1000;
}
