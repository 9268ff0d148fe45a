/**
 * Deliveries that are retried with exponential backoff until they succeed, fail for good, or
 * a time budget runs out — in the background: `add()` returns at once, attempts run a few at
 * a time, and nothing here can block or fail its caller. Bounded: at most `maxPending` items
 * wait (the oldest is dropped beyond, and counted as failed), and the last `keepRecent`
 * outcomes are kept for /api/status.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';

/** What one attempt came to. `retry: false` is a permanent failure (a refusal, a redirect). */
export type AttemptResult = { ok: true; status?: number } | { ok: false; retry: boolean; status?: number; error: string };

/** One delivery as /api/status shows it (no content, no address). */
export interface DeliveryState {
  id: string;
  /** The conversation the delivery is about. */
  conversation_id: string;
  outcome: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status or SMTP reply code of the last attempt, when there was one. */
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
}

export interface ChannelStatus {
  enabled: boolean;
  /** Where deliveries go, without credentials or path (e.g. `https://hooks.example.org`). */
  target: string | null;
  pending: number;
  delivered_total: number;
  failed_total: number;
  /** The most recent deliveries, newest first. */
  recent: DeliveryState[];
}

export interface RetryingOptions<T> {
  attempt(item: T, signal: AbortSignal): Promise<AttemptResult>;
  /** Give up this long after the first attempt, ms. */
  retryForMs: number;
  /** Wait before the first retry; doubles each time (with jitter), ms. Default 2 s. */
  baseDelayMs?: number;
  /** Longest wait between two attempts, ms. Default 10 min. */
  maxDelayMs?: number;
  maxPending?: number;
  /** Attempts in flight at once. Default 4. */
  concurrency?: number;
  keepRecent?: number;
  log?: Logger;
  /** What the log calls one delivery, e.g. `webhook`. */
  what: string;
}

interface Item<T> {
  payload: T;
  state: DeliveryState;
  firstAttemptMs: number | null;
  timer: NodeJS.Timeout | null;
}

export class RetryingSender<T> {
  private readonly waiting: Array<Item<T>> = [];
  private readonly scheduled = new Set<Item<T>>();
  private readonly recent: DeliveryState[] = [];
  private inFlight = 0;
  private delivered = 0;
  private failed = 0;
  private closed = false;
  private readonly abort = new AbortController();
  private idle: Array<() => void> = [];

  constructor(private readonly opts: RetryingOptions<T>) {}

  /** Queues a delivery about `conversationId`; returns at once. */
  add(conversationId: string, payload: T): void {
    if (this.closed) return;
    const state: DeliveryState = { id: randomUUID(), conversation_id: conversationId, outcome: 'pending', attempts: 0, last_status: null, last_error: null, last_attempt_at: null, next_attempt_at: null };
    const item: Item<T> = { payload, state, firstAttemptMs: null, timer: null };
    this.remember(state);
    const max = this.opts.maxPending ?? 1000;
    if (this.pending >= max) {
      const oldest = this.waiting.shift() ?? [...this.scheduled][0];
      if (oldest) {
        this.scheduled.delete(oldest);
        if (oldest.timer) clearTimeout(oldest.timer);
        this.settle(oldest, 'failed', `dropped: more than ${max} ${this.opts.what} deliveries were waiting`);
      }
    }
    this.waiting.push(item);
    this.pump();
  }

  get pending(): number {
    return this.waiting.length + this.scheduled.size + this.inFlight;
  }

  status(enabled: boolean, target: string | null): ChannelStatus {
    return { enabled, target, pending: this.pending, delivered_total: this.delivered, failed_total: this.failed, recent: this.recent.map((s) => ({ ...s })) };
  }

  /** Resolves when nothing is in flight or waiting to run now (tests). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops retrying and aborts attempts in flight. Idempotent. */
  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const item of this.scheduled) if (item.timer) clearTimeout(item.timer);
    this.scheduled.clear();
    this.waiting.length = 0;
  }

  private remember(state: DeliveryState): void {
    this.recent.unshift(state);
    this.recent.length = Math.min(this.recent.length, this.opts.keepRecent ?? 20);
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 4;
    while (!this.closed && this.inFlight < limit && this.waiting.length > 0) {
      const item = this.waiting.shift()!;
      this.inFlight++;
      void this.run(item).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.waiting.length === 0) for (const wake of this.idle.splice(0)) wake();
      });
    }
  }

  private async run(item: Item<T>): Promise<void> {
    const now = Date.now();
    item.firstAttemptMs ??= now;
    item.state.attempts++;
    item.state.last_attempt_at = new Date(now).toISOString();
    item.state.next_attempt_at = null;
    let result: AttemptResult;
    try {
      result = await this.opts.attempt(item.payload, this.abort.signal);
    } catch (err) {
      result = { ok: false, retry: true, error: (err as Error).message };
    }
    if (this.closed) return;
    item.state.last_status = result.status ?? null;
    if (result.ok) {
      item.state.last_error = null;
      return this.settle(item, 'delivered', null);
    }
    item.state.last_error = result.error;
    if (!result.retry) return this.settle(item, 'failed', result.error);
    const base = this.opts.baseDelayMs ?? 2000;
    const delay = Math.min(this.opts.maxDelayMs ?? 600_000, base * 2 ** (item.state.attempts - 1)) * (0.75 + Math.random() * 0.25);
    const at = Date.now() + delay;
    if (at > item.firstAttemptMs + this.opts.retryForMs) {
      return this.settle(item, 'failed', `gave up after ${item.state.attempts} attempts over ${Math.round((Date.now() - item.firstAttemptMs) / 1000)} s: ${result.error}`);
    }
    item.state.next_attempt_at = new Date(at).toISOString();
    this.opts.log?.warn(`${this.opts.what} attempt ${item.state.attempts} failed (${result.error}); retrying in ${Math.round(delay / 1000)} s`);
    item.timer = setTimeout(() => {
      item.timer = null;
      this.scheduled.delete(item);
      this.waiting.push(item);
      this.pump();
    }, delay);
    item.timer.unref();
    this.scheduled.add(item);
  }

  private settle(item: Item<T>, outcome: 'delivered' | 'failed', error: string | null): void {
    item.state.outcome = outcome;
    item.state.next_attempt_at = null;
    if (outcome === 'delivered') this.delivered++;
    else {
      this.failed++;
      item.state.last_error = error;
      this.opts.log?.warn(`${this.opts.what} delivery failed for good: ${error}`);
    }
  }
}
