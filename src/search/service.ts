/**
 * Keeps the search index in step with the conversation store (the I/O edge of search/):
 * builds it in the background at start, and follows every change the store reports — a new
 * segment or transcription, a correction, a rename — by re-reading that conversation before the
 * next search; a deleted conversation is dropped from the index at once and never re-added.
 */
import type { Logger } from '../log.js';
import type { ConversationStore } from '../storage/store.js';
import { parseQuery } from './query.js';
import { SearchIndex, type SearchPage } from './search-index.js';

/** Conversations read at once while the index is first built. */
const BUILD_CONCURRENCY = 4;

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

  constructor(
    private readonly store: ConversationStore,
    private readonly log?: Logger,
  ) {}

  /** Starts following the store and building the index; resolves when the build is done. */
  start(): Promise<void> {
    this.stopWatching = this.store.watch((c) => {
      if (c.kind === 'deleted') {
        this.gone.add(c.id);
        this.dirty.delete(c.id);
        this.index.remove(c.id);
      } else if (!this.gone.has(c.id)) {
        this.dirty.add(c.id);
        this.schedule();
      }
    });
    return this.build();
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
        if (!this.index.has(id)) await this.load(id).catch((err: Error) => this.log?.warn(`search: a conversation could not be indexed: ${err.message}`));
        building.done++;
      }
    };
    await Promise.all(Array.from({ length: BUILD_CONCURRENCY }, worker));
    if (this.closed) return;
    this.building = null;
    this.log?.info(`search: indexed ${this.index.size} conversation(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  /** Reads one conversation into the index (or out of it when it is gone). */
  private async load(id: string): Promise<void> {
    const rec = await this.store.get(id);
    if (this.gone.has(id) || rec === null) {
      this.index.remove(id);
      return;
    }
    this.index.set({
      id: rec.id,
      title: rec.title,
      started_at: rec.started_at,
      speakers: rec.speakers.map((s) => ({ id: s.id, name: s.name })),
      segments: rec.segments,
    });
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

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWatching?.();
  }
}
