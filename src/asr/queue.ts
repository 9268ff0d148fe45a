/**
 * The speech-recognition queue shared by every connection: one lane per session, served in
 * turn, one job at a time per local engine (whisper.cpp's context is not re-entrant, and on a CPU
 * two jobs at once would only split the cores between them); a remote engine (Redis workers)
 * takes as many as its `slots()`, so jobs wait here, in fair order, not in the remote backlog.
 *
 * - Fairness: the next job comes from the lane served least recently (a round-robin whose order
 *   favours the session that has waited longest since its last turn). So a session's next
 *   segment waits behind at most one job of each other session, however many segments a fast
 *   session (a file replayed at 8×) has queued; and a live speaker, whose segments come
 *   seconds apart, usually goes next, behind only the job already running.
 * - Bounds: at most `maxQueued` jobs wait in all; each lane may have `capacity` jobs waiting,
 *   the bound shared out among the open lanes. A job past either bound is refused at once with an
 *   `AsrQueueError` coded `overloaded`; a session that waits for `capacity` instead (pausing its
 *   socket) never sees it.
 * - A job whose signal aborts (its client left) is removed without running, or aborted in the
 *   engine if already running; only its own caller sees the AbortError, never other jobs.
 * - Without an engine (diarization-only mode) every job resolves with `null` at once.
 * - Results go through the hallucination filter: `''` means "no speech recognised".
 */
import { cleanRecognition } from './hallucination.js';
import { abortError, type AsrEngine, type AsrLog, type AsrResult } from './types.js';

export type AsrQueueErrorCode = 'overloaded' | 'closed';

/** A coded queue failure (`err.code` is what the session turns into a protocol error). */
export class AsrQueueError extends Error {
  constructor(
    readonly code: AsrQueueErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AsrQueueError';
  }
}

export interface AsrQueueOptions {
  /** Jobs allowed to wait behind the running one, all lanes together (ASR_QUEUE_MAX). */
  maxQueued: number;
  /** Applied to every result; defaults to `cleanRecognition`. */
  filter?: (result: AsrResult) => string;
  log?: AsrLog;
}

export interface EnqueueOptions {
  language: string;
  signal?: AbortSignal;
  /** Opaque id of the conversation the segment belongs to, carried to the engine (a remote one puts it in the job). */
  conversation?: string;
}

export interface LaneOptions {
  /** Opaque id of the session that owns the lane, carried with each of its jobs to the engine. */
  session?: string;
}

/** One session's place in the queue. */
export interface AsrLane {
  /** This lane's jobs not finished yet (waiting, or running in the engine). */
  readonly pending: number;
  /** The most jobs this lane may have waiting now: the queue's bound over the open lanes, at least 1. */
  readonly capacity: number;
  /** Queues one segment; see `AsrQueue.enqueue`. */
  enqueue(samples: Float32Array, options: EnqueueOptions): Promise<string | null>;
  /** Leaves the rotation; waiting jobs fail with `closed`. Idempotent. */
  close(): void;
}

interface Job {
  lane: Lane;
  samples: Float32Array;
  language: string;
  signal: AbortSignal | undefined;
  conversation: string | undefined;
  resolve(text: string): void;
  reject(err: unknown): void;
  /** Removes the job's abort listener. */
  detach(): void;
}

/** Logs "overloaded" at most this often, however many jobs are refused. */
const OVERLOAD_LOG_INTERVAL_MS = 5000;

class Lane implements AsrLane {
  readonly waiting: Job[] = [];
  /** This lane's jobs in the engine now. */
  running = 0;
  closed = false;
  /** When this lane's last job started, as the queue's serial number (-1: never). */
  lastServed = -1;

  constructor(
    private readonly queue: AsrQueue,
    readonly session: string | undefined,
  ) {}

  get pending(): number {
    return this.waiting.length + this.running;
  }

  get capacity(): number {
    return this.queue.laneCapacity();
  }

  enqueue(samples: Float32Array, options: EnqueueOptions): Promise<string | null> {
    return this.queue.submit(this, samples, options);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.dropLane(this);
  }
}

export class AsrQueue {
  /** Open lanes, in the order they were opened (which breaks ties between never-served lanes). */
  private readonly lanes: Lane[] = [];
  /** Counts jobs started: the clock of `Lane.lastServed`. */
  private served = 0;
  private defaultLane: Lane | null = null;
  private waitingTotal = 0;
  private readonly running = new Set<Job>();
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private closed = false;
  private lastOverloadLogMs = -Infinity;
  private readonly filter: (result: AsrResult) => string;

  constructor(
    private readonly engine: AsrEngine | null,
    private readonly options: AsrQueueOptions,
  ) {
    this.filter = options.filter ?? cleanRecognition;
    engine?.onSlotsChange?.(() => this.pump());
  }

  /** The engine's name, or null in diarization-only mode. */
  get engineName(): string | null {
    return this.engine?.name ?? null;
  }

  /** Jobs waiting in all lanes (not counting the one running). */
  get pending(): number {
    return this.waitingTotal;
  }

  /** True while a job runs in the engine. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Open lanes. */
  get lanesOpen(): number {
    return this.lanes.length;
  }

  /** A new lane (one per session), taking its turn after the lanes already open. */
  openLane(options: LaneOptions = {}): AsrLane {
    const lane = new Lane(this, options.session);
    if (!this.closed) this.lanes.push(lane);
    else lane.closed = true;
    return lane;
  }

  /**
   * Queues one segment in a shared default lane (callers with no session: benchmarks, tools).
   * Resolves with its filtered text ('' = no speech), or null when there is no engine. Rejects
   * with AbortError when `signal` aborts, `AsrQueueError` when full or closed, or the engine's
   * error for this job alone.
   */
  enqueue(samples: Float32Array, options: EnqueueOptions): Promise<string | null> {
    if (!this.defaultLane || this.defaultLane.closed) this.defaultLane = this.openLane() as Lane;
    return this.defaultLane.enqueue(samples, options);
  }

  /**
   * Refuses new jobs, fails the waiting ones with `closed` and waits for the running one.
   * Does not close the engine (its owner does). Idempotent.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const lane of this.lanes.splice(0)) {
        lane.closed = true;
        this.failWaiting(lane);
      }
    }
    await this.idle;
  }

  /** @internal The per-lane bound: `maxQueued` shared by the open lanes. */
  laneCapacity(): number {
    return Math.max(1, Math.floor(this.options.maxQueued / Math.max(1, this.lanes.length)));
  }

  /** @internal */
  submit(lane: Lane, samples: Float32Array, { language, signal, conversation }: EnqueueOptions): Promise<string | null> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.closed || lane.closed) return Promise.reject(new AsrQueueError('closed', 'speech recognition is shutting down'));
    if (!this.engine) return Promise.resolve(null);
    if (lane.waiting.length >= this.laneCapacity() || this.waitingTotal >= this.options.maxQueued) {
      const now = Date.now();
      if (now - this.lastOverloadLogMs >= OVERLOAD_LOG_INTERVAL_MS) {
        this.lastOverloadLogMs = now;
        this.options.log?.('warn', `queue full (${this.waitingTotal} waiting, ${this.lanes.length} sessions): refusing segments`);
      }
      return Promise.reject(new AsrQueueError('overloaded', `speech recognition queue is full (${this.laneCapacity()} per session, ${this.options.maxQueued} in all)`));
    }
    return new Promise<string | null>((resolve, reject) => {
      const onAbort = () => {
        // A waiting job leaves the queue now; a running one is stopped by the engine itself.
        const at = lane.waiting.indexOf(job);
        if (at >= 0) {
          lane.waiting.splice(at, 1);
          this.waitingTotal--;
          job.detach();
          reject(abortError());
        }
      };
      const job: Job = {
        lane,
        samples,
        language,
        signal,
        conversation,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.waiting.push(job);
      this.waitingTotal++;
      this.pump();
    });
  }

  /** @internal Removes `lane` from the rotation and fails its waiting jobs. */
  dropLane(lane: Lane): void {
    const at = this.lanes.indexOf(lane);
    if (at >= 0) this.lanes.splice(at, 1);
    this.failWaiting(lane);
  }

  private failWaiting(lane: Lane): void {
    for (const job of lane.waiting.splice(0)) {
      this.waitingTotal--;
      job.detach();
      job.reject(new AsrQueueError('closed', 'speech recognition lane closed'));
    }
  }

  /** Starts jobs while the engine has free slots, each from the lane with work served least recently. */
  private pump(): void {
    const engine = this.engine;
    if (!engine) return;
    while (this.running.size < Math.max(1, engine.slots?.() ?? 1)) {
      let next: Lane | null = null;
      for (const lane of this.lanes) {
        if (lane.waiting.length > 0 && (next === null || lane.lastServed < next.lastServed)) next = lane;
      }
      if (!next) return;
      const job = next.waiting.shift()!;
      this.waitingTotal--;
      next.lastServed = this.served++;
      next.running++;
      if (this.running.size === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
      this.running.add(job);
      void this.runJob(engine, job);
    }
  }

  private async runJob(engine: AsrEngine, job: Job): Promise<void> {
    try {
      const result = await engine.transcribe(job.samples, {
        language: job.language,
        signal: job.signal,
        ...(job.lane.session !== undefined ? { session: job.lane.session } : {}),
        ...(job.conversation !== undefined ? { conversation: job.conversation } : {}),
      });
      if (job.signal?.aborted) job.reject(abortError());
      else job.resolve(this.filter(result));
    } catch (err) {
      job.reject(job.signal?.aborted ? abortError() : err);
    } finally {
      job.detach();
      job.lane.running--;
      this.running.delete(job);
      if (this.running.size === 0) this.markIdle();
      this.pump();
    }
  }
}
