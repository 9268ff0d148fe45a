/**
 * Keeps the search index in step with the conversation store (the I/O edge of search/):
 * builds it in the background at start, and follows every change the store reports — a new
 * segment or transcription, a correction, a rename — by re-reading that conversation before the
 * next search; a deleted conversation is dropped from the index at once and never re-added.
 *
 * Persisted: each conversation's part of the index is kept in its folder (`search.json`, through
 * the store's file layer: owner-only, sealed when encryption is on) with the fingerprint of the
 * records it was made from. A start loads the parts whose fingerprint still matches and rebuilds
 * the others from the records (missing, stale, torn or altered ones alike). A changed part is written
 * at most once every `persistDelayMs` (10 s; the delay runs from its first unsaved change: a live
 * conversation changes every few seconds, and writing it each time would cost more than the
 * rebuild it saves), and on close; one that was
 * not written yet is rebuilt at the next start, so nothing depends on it being there.
 */
import type { Logger } from '../log.js';
import type { ConversationStore } from '../storage/store.js';
import { decodeSearchFile, encodeSearchFile, SEARCH_FILE } from './persisted.js';
import { parseQuery } from './query.js';
import { SearchIndex, type SearchPage } from './search-index.js';

/**
 * Conversations read at once while the index is first built: a start is mostly waiting on small
 * reads (a stat and a kept part per conversation), so many overlap; parsing stays on one thread.
 */
const BUILD_CONCURRENCY = 16;
/** How long after a change a conversation's part is written, in ms (changes meanwhile join it). */
export const PERSIST_DELAY_MS = 10_000;
/** At close, how long writing the parts not yet written may take, in ms; the rest are rebuilt at the next start. */
const CLOSE_FLUSH_MS = 5_000;

export interface SearchAnswer extends SearchPage {
  /** While the index is first built: how many conversations are in it so far, of how many. */
  indexing: { done: number; total: number } | null;
}

export class SearchService {
  readonly index = new SearchIndex();
  private readonly dirty = new Set<string>();
  /** Ids deleted while this process runs: never indexed again (a late read cannot revive one). */
  private readonly gone = new Set<string>();
  private refreshing: Promise<void> = Promise.resolve();
  private building: { done: number; total: number } | null = null;
  private stopWatching: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Conversations whose part on disk is older than the index's. */
  private readonly unsaved = new Set<string>();
  private persistTimer: NodeJS.Timeout | null = null;
  private persisting: Promise<void> = Promise.resolve();
  private built: Promise<void> = Promise.resolve();
  /** Set by close: when every write of parts stops, those already under way included (performance.now() ms). */
  private stopWritingAt = Infinity;
  /** Of the first build: parts loaded as they were kept, and conversations rebuilt from records. */
  readonly startup = { loaded: 0, rebuilt: 0 };

  constructor(
    private readonly store: ConversationStore,
    private readonly log?: Logger,
    private readonly persistDelayMs = PERSIST_DELAY_MS,
    private readonly closeFlushMs = CLOSE_FLUSH_MS,
  ) {}

  /** Starts following the store and building the index; resolves when the build is done. */
  start(): Promise<void> {
    this.stopWatching = this.store.watch((c) => {
      if (c.kind === 'deleted') {
        this.gone.add(c.id);
        this.dirty.delete(c.id);
        this.unsaved.delete(c.id);
        this.index.remove(c.id);
      } else if (!this.gone.has(c.id)) {
        this.dirty.add(c.id);
        this.schedule();
      }
    });
    this.built = this.build();
    return this.built;
  }

  private async build(): Promise<void> {
    const started = performance.now();
    const ids = await this.store.listIds();
    const building = { done: 0, total: ids.length };
    this.building = building;
    // A few reads in flight at once, so that one file's I/O overlaps another's parsing.
    let next = 0;
    const worker = async () => {
      while (next < ids.length && !this.closed) {
        const id = ids[next++]!;
        if (!this.index.has(id)) {
          const kept = await this.loadKept(id).catch(() => false);
          if (kept) this.startup.loaded++;
          else {
            this.startup.rebuilt++;
            await this.load(id).catch((err: Error) => this.log?.warn(`search: a conversation could not be indexed: ${err.message}`));
          }
        }
        building.done++;
      }
    };
    await Promise.all(Array.from({ length: BUILD_CONCURRENCY }, worker));
    if (this.closed) return;
    this.building = null;
    this.log?.info(`search: indexed ${this.index.size} conversation(s) in ${((performance.now() - started) / 1000).toFixed(1)} s (${this.startup.loaded} from their kept index, ${this.startup.rebuilt} rebuilt from the records)`);
  }

  /**
   * Loads a conversation's kept part when it is whole and as fresh as the records; false (the
   * caller rebuilds) when it is missing, stale, torn or altered.
   */
  private async loadKept(id: string): Promise<boolean> {
    const [stamp, raw] = await Promise.all([this.store.fingerprint(id), this.store.readDerived(id, SEARCH_FILE)]);
    if (stamp === null) return false;
    const kept = raw === null ? null : decodeSearchFile(raw, id);
    if (kept === null || kept.stamp !== stamp) return false;
    // Changed or deleted while the file was read: the records decide.
    if (this.gone.has(id) || this.dirty.has(id)) return false;
    this.index.load(kept);
    return true;
  }

  /** Reads one conversation into the index (or out of it when it is gone). */
  private async load(id: string): Promise<void> {
    // Taken before the read: a change between the two makes the kept part stale, never wrongly fresh.
    const stamp = await this.store.fingerprint(id);
    const rec = await this.store.get(id);
    if (this.gone.has(id) || rec === null) {
      this.index.remove(id);
      return;
    }
    this.index.set(
      {
        id: rec.id,
        title: rec.title,
        started_at: rec.started_at,
        speakers: rec.speakers.map((s) => ({ id: s.id, name: s.name })),
        segments: rec.segments,
      },
      stamp,
    );
    if (stamp !== null) {
      this.unsaved.add(id);
      this.schedulePersist();
    }
  }

  private schedulePersist(): void {
    if (this.persistTimer || this.closed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      // Not while the first build runs: it has the CPU first (searchable sooner), then the parts are written.
      void this.built.catch(() => undefined).then(() => this.persist(Infinity));
    }, this.persistDelayMs);
    this.persistTimer.unref();
  }

  /**
   * Writes the parts of every conversation changed since its part was last written, one at a
   * time (a background task: it yields to searches between files), until `deadline` (ms, as
   * performance.now()).
   */
  persist(deadline: number): Promise<void> {
    this.persisting = this.persisting.then(async () => {
      while (this.unsaved.size > 0 && performance.now() < Math.min(deadline, this.stopWritingAt)) {
        const [id] = this.unsaved;
        this.unsaved.delete(id!);
        const doc = this.gone.has(id!) ? null : this.index.persisted(id!);
        if (!doc) continue;
        await this.store.writeDerived(id!, SEARCH_FILE, encodeSearchFile(doc)).catch((err: Error) => this.log?.warn(`search: the index of a conversation could not be kept: ${err.message}`));
      }
    });
    return this.persisting;
  }

  /** Re-reads changed conversations a moment after they change, searches or not. */
  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, 250);
    this.timer.unref();
  }

  /** Brings every changed conversation up to date; resolves when the index has them. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(async () => {
      while (this.dirty.size > 0 && !this.closed) {
        const [id] = this.dirty;
        this.dirty.delete(id!);
        await this.load(id!).catch((err: Error) => this.log?.warn(`search: a conversation could not be re-indexed: ${err.message}`));
      }
    });
    return this.refreshing;
  }

  /** One page of results for query text `q` (already bounded by the caller). */
  async search(q: string, offset: number, limit: number): Promise<SearchAnswer> {
    await this.refresh();
    const page = this.index.search(parseQuery(q), offset, limit);
    return { ...page, indexing: this.building ? { ...this.building } : null };
  }

  /** Stops following the store, and writes the parts not yet written (for at most a few seconds). */
  async close(): Promise<void> {
    if (this.closed) return this.persisting;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.stopWatching?.();
    this.stopWritingAt = performance.now() + this.closeFlushMs;
    await this.persist(this.stopWritingAt);
  }
}
