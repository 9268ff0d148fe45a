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
 * - Partials (interim text of a segment still open, `AsrLane.offerPartial`) are the lowest class
 *   and never delay a final: at most one waits per lane (a newer one supersedes it), none is
 *   offered while a partial of the same lane runs, none starts while any final waits, and a
 *   final that finds every slot taken stops a running partial to take its place. Such a partial
 *   is dropped (`AsrQueueError` coded `dropped`), never retried; they do not count against the
 *   bounds above. How long such finals still waited for the engine (the stopped partial's tail
 *   until the engine noticed the stop) is counted: `partialCounts.finalsAfterStop`, `stopWaits()`.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { cleanRecognition } from './hallucination.js';
import { abortError, type AsrEngine, type AsrLog, type AsrResult } from './types.js';

export type AsrQueueErrorCode = 'overloaded' | 'closed' | 'dropped';

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
  /** Decoded tokens per whisper segment; absent = no cap (see `AsrJobOptions.maxTokens`). */
  maxTokens?: number;
}

/** A partial job: a final's options plus the cost controls only partials use. */
export interface PartialOptions extends EnqueueOptions {
  /** Encoder context in 20 ms frames (about the audio's own length; see `AsrJobOptions.audioCtx`). */
  audioCtx?: number;
  /** The previous partial's text, to prime the decoder. */
  prompt?: string;
}

/** What the engine did recently, for PARTIALS=auto (see partial-policy.ts). */
export interface QueueLoad {
  /** Finals waiting, all lanes. */
  finalsWaiting: number;
  /** Share of the engine's slots busy with finals over the last `LOAD_WINDOW_MS`, in [0, 1]. */
  finalBusyShare: number;
  /** The same for partials. */
  partialBusyShare: number;
  /** Engine seconds per audio second of the recent finals (null before the first). */
  finalRtf: number | null;
  /** The engine's device when it says (`cpu`, `cuda`, `vulkan`). */
  device: string | undefined;
}

/** Counts of partial jobs since the queue started (benchmarks and logs). */
export interface PartialCounts {
  offered: number;
  completed: number;
  /** Refused at once or dropped while waiting (superseded, a final waiting, stale). */
  dropped: number;
  /** Stopped while running: a final needed the slot, or it ran past 3 s (stale). */
  preempted: number;
  /** Finals that stopped a running partial to take its slot (see `AsrQueue.stopWaits`). */
  finalsAfterStop: number;
}

/**
 * How long the finals that stopped a running partial waited for the engine to become free: from
 * the final's arrival to the engine starting on it (the queue's part, plus what the engine says
 * it waited for the stopped partial's tail, `AsrResult.engineWaitMs`). Milliseconds, over the
 * last `STOP_WAIT_HISTORY` such finals.
 */
export interface StopWaits {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
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
  /**
   * Offers interim text of an open segment at the lowest class. Resolves with its filtered text
   * (or null without an engine); rejects with `AsrQueueError('dropped')` when it gave way to a
   * final or a newer partial, AbortError on `signal`, or the engine's error.
   */
  offerPartial(samples: Float32Array, options: PartialOptions): Promise<string | null>;
  /** Leaves the rotation; waiting jobs fail with `closed`. Idempotent. */
  close(): void;
}

interface Job {
  lane: Lane;
  samples: Float32Array;
  language: string;
  signal: AbortSignal | undefined;
  conversation: string | undefined;
  maxTokens: number | undefined;
  /** When the job was queued (ms since the epoch), and whether, a final, it stopped a partial to run. */
  queuedAtMs: number;
  stoppedPartial: boolean;
  /** Set for partials: their extra options and the switch that stops them for a final. */
  partial: { audioCtx: number | undefined; prompt: string | undefined; preempt: AbortController } | null;
  resolve(text: string): void;
  reject(err: unknown): void;
  /** Removes the job's abort listener. */
  detach(): void;
}

/** A finished job, for `QueueLoad`: when it ended, how long it ran, its audio (ms). */
interface Finished {
  endMs: number;
  ranMs: number;
  audioMs: number;
  partial: boolean;
}

/** Logs "overloaded" at most this often, however many jobs are refused. */
const OVERLOAD_LOG_INTERVAL_MS = 5000;
/** A partial that waited this long is stale (the next one, 1 s later, is due): dropped, not started. */
const PARTIAL_MAX_WAIT_MS = 1500;
/**
 * A partial still running after this long is stopped (its request aborted, which whisper-server
 * notices without a restart): it is stale, and the engine's own time limit, which restarts the
 * engine, must never be reached by a partial.
 */
const PARTIAL_MAX_RUN_MS = 3000;
/** The busy shares in `QueueLoad` look back this far. */
const LOAD_WINDOW_MS = 10_000;
/** Finished jobs remembered for `QueueLoad` (bounded whatever the rate). */
const LOAD_HISTORY = 64;
/** Waits of finals that stopped a partial, remembered for `stopWaits` (bounded). */
const STOP_WAIT_HISTORY = 256;

class Lane implements AsrLane {
  readonly waiting: Job[] = [];
  /** This lane's jobs in the engine now. */
  running = 0;
  closed = false;
  /** When this lane's last job started, as the queue's serial number (-1: never). */
  lastServed = -1;
  /** The lane's one waiting partial, and the one running (at most one each). */
  partial: Job | null = null;
  partialRunning: Job | null = null;
  /** When this lane's last partial started, as the queue's partial serial number. */
  lastPartialServed = -1;

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

  offerPartial(samples: Float32Array, options: PartialOptions): Promise<string | null> {
    return this.queue.submitPartial(this, samples, options);
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
  /** Counts partials started: the clock of `Lane.lastPartialServed`. */
  private partialsServed = 0;
  /** Recently finished finals and partials (apart, so many partials never hide the finals' rate). */
  private readonly history: { final: Finished[]; partial: Finished[] } = { final: [], partial: [] };
  private readonly startedAt = new Map<Job, number>();
  private readonly counts: PartialCounts = { offered: 0, completed: 0, dropped: 0, preempted: 0, finalsAfterStop: 0 };
  /** Recent waits of finals that stopped a partial (ms), oldest first. */
  private readonly stopWaitMs: number[] = [];

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

  /** Partial jobs so far, by outcome. */
  get partialCounts(): Readonly<PartialCounts> {
    return { ...this.counts };
  }

  /** What stopping partials cost the finals that stopped them (see `StopWaits`). */
  stopWaits(): StopWaits {
    const sorted = [...this.stopWaitMs].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : null);
    return { count: this.counts.finalsAfterStop, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: sorted.length ? sorted[sorted.length - 1]! : null };
  }

  /** The engine's recent load (for PARTIALS=auto). */
  load(nowMs = Date.now()): QueueLoad {
    const from = nowMs - LOAD_WINDOW_MS;
    let finalMs = 0;
    let partialMs = 0;
    const add = (startMs: number, endMs: number, partial: boolean) => {
      const ms = Math.max(0, endMs - Math.max(startMs, from));
      if (partial) partialMs += ms;
      else finalMs += ms;
    };
    for (const h of [...this.history.final, ...this.history.partial]) if (h.endMs > from) add(h.endMs - h.ranMs, h.endMs, h.partial);
    for (const [job, startMs] of this.startedAt) add(startMs, nowMs, job.partial !== null);
    let ran = 0;
    let audio = 0;
    for (const h of this.history.final) {
      ran += h.ranMs;
      audio += h.audioMs;
    }
    const slots = Math.max(1, this.engine?.slots?.() ?? 1);
    const window = LOAD_WINDOW_MS * slots;
    return {
      finalsWaiting: this.waitingTotal,
      finalBusyShare: Math.min(1, finalMs / window),
      partialBusyShare: Math.min(1, partialMs / window),
      finalRtf: audio > 0 ? ran / audio : null,
      device: this.engine?.device,
    };
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
  submit(lane: Lane, samples: Float32Array, options: EnqueueOptions): Promise<string | null> {
    const atOnce = this.answerAtOnce(lane, options.signal);
    if (atOnce) return atOnce;
    if (lane.waiting.length >= this.laneCapacity() || this.waitingTotal >= this.options.maxQueued) {
      const now = Date.now();
      if (now - this.lastOverloadLogMs >= OVERLOAD_LOG_INTERVAL_MS) {
        this.lastOverloadLogMs = now;
        this.options.log?.('warn', `queue full (${this.waitingTotal} waiting, ${this.lanes.length} sessions): refusing segments`);
      }
      return Promise.reject(new AsrQueueError('overloaded', `speech recognition queue is full (${this.laneCapacity()} per session, ${this.options.maxQueued} in all)`));
    }
    return new Promise<string | null>((resolve, reject) => {
      const job = this.newJob(lane, samples, options, null, resolve, reject, () => {
        // A waiting job leaves the queue now; a running one is stopped by the engine itself.
        const at = lane.waiting.indexOf(job);
        if (at >= 0) {
          lane.waiting.splice(at, 1);
          this.waitingTotal--;
          job.detach();
          reject(abortError());
        }
      });
      lane.waiting.push(job);
      this.waitingTotal++;
      this.dropWaitingPartials('a final is waiting');
      if (this.preemptPartial()) job.stoppedPartial = true;
      this.pump();
    });
  }

  /** @internal */
  submitPartial(lane: Lane, samples: Float32Array, options: PartialOptions): Promise<string | null> {
    const atOnce = this.answerAtOnce(lane, options.signal);
    if (atOnce) return atOnce;
    this.counts.offered++;
    // Never queued behind another partial of the same segment, nor behind a final.
    if (lane.partialRunning) return this.refusePartial('a partial of this session is still running');
    if (this.waitingTotal > 0) return this.refusePartial('a final is waiting');
    return new Promise<string | null>((resolve, reject) => {
      const partial = { audioCtx: options.audioCtx, prompt: options.prompt, preempt: new AbortController() };
      const job = this.newJob(lane, samples, options, partial, resolve, reject, () => {
        if (lane.partial === job) {
          lane.partial = null;
          job.detach();
          reject(abortError());
        }
      });
      const older = lane.partial;
      lane.partial = job;
      if (older) this.dropPartial(older, 'superseded by a newer partial');
      this.pump();
    });
  }

  /**
   * The answer every job, final or partial, gets without queueing: AbortError when `signal` has
   * aborted, `closed` when the queue or lane is closed, null without an engine; undefined when it
   * is to be queued.
   */
  private answerAtOnce(lane: Lane, signal: AbortSignal | undefined): Promise<string | null> | undefined {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.closed || lane.closed) return Promise.reject(new AsrQueueError('closed', 'speech recognition is shutting down'));
    if (!this.engine) return Promise.resolve(null);
    return undefined;
  }

  /** A job of `lane`, queued now; `onAbort` runs if its signal aborts (and decides whether it leaves). */
  private newJob(
    lane: Lane,
    samples: Float32Array,
    { language, signal, conversation, maxTokens }: EnqueueOptions,
    partial: Job['partial'],
    resolve: (text: string) => void,
    reject: (err: unknown) => void,
    onAbort: () => void,
  ): Job {
    const job: Job = {
      lane,
      samples,
      language,
      signal,
      conversation,
      maxTokens,
      queuedAtMs: Date.now(),
      stoppedPartial: false,
      partial,
      resolve,
      reject,
      detach: () => signal?.removeEventListener('abort', onAbort),
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    return job;
  }

  private refusePartial(why: string): Promise<never> {
    this.counts.dropped++;
    return Promise.reject(new AsrQueueError('dropped', `partial dropped: ${why}`));
  }

  /** Fails a waiting partial with `dropped` (it is already out of its lane). */
  private dropPartial(job: Job, why: string): void {
    this.counts.dropped++;
    job.detach();
    job.reject(new AsrQueueError('dropped', `partial dropped: ${why}`));
  }

  private dropWaitingPartials(why: string): void {
    for (const lane of this.lanes) {
      const job = lane.partial;
      if (!job) continue;
      lane.partial = null;
      this.dropPartial(job, why);
    }
  }

  /** A final waits and every slot is taken: stop one running partial so the final goes next. True when one was stopped. */
  private preemptPartial(): boolean {
    const engine = this.engine;
    if (!engine || this.running.size < Math.max(1, engine.slots?.() ?? 1)) return false;
    for (const job of this.running) {
      if (job.partial && !job.partial.preempt.signal.aborted) {
        job.partial.preempt.abort();
        return true;
      }
    }
    return false;
  }

  /** @internal Removes `lane` from the rotation and fails its waiting jobs. */
  dropLane(lane: Lane): void {
    const at = this.lanes.indexOf(lane);
    if (at >= 0) this.lanes.splice(at, 1);
    this.failWaiting(lane);
  }

  private failWaiting(lane: Lane): void {
    const partial = lane.partial;
    lane.partial = null;
    if (partial) {
      partial.detach();
      partial.reject(new AsrQueueError('closed', 'speech recognition lane closed'));
    }
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
      if (!next) {
        // No final waits: the free slot may take the partial of the lane served least recently.
        const partial = this.nextPartial();
        if (!partial) return;
        partial.lane.partialRunning = partial;
        partial.lane.lastPartialServed = this.partialsServed++;
        this.start(engine, partial);
        continue;
      }
      const job = next.waiting.shift()!;
      this.waitingTotal--;
      next.lastServed = this.served++;
      next.running++;
      this.start(engine, job);
    }
  }

  /** The waiting partial to start next (stale ones are dropped on the way), or null. */
  private nextPartial(): Job | null {
    const nowMs = Date.now();
    let next: Lane | null = null;
    for (const lane of this.lanes) {
      const job = lane.partial;
      if (!job) continue;
      if (nowMs - job.queuedAtMs > PARTIAL_MAX_WAIT_MS) {
        lane.partial = null;
        this.dropPartial(job, 'stale');
        continue;
      }
      if (next === null || lane.lastPartialServed < next.lastPartialServed) next = lane;
    }
    if (!next) return null;
    const job = next.partial!;
    next.partial = null;
    return job;
  }

  /** Records how long a final that stopped a partial waited for the engine (see `StopWaits`). */
  private noteStopWait(job: Job, result: AsrResult): void {
    const startedMs = this.startedAt.get(job) ?? job.queuedAtMs;
    const engineWait = typeof result.engineWaitMs === 'number' && Number.isFinite(result.engineWaitMs) ? Math.max(0, result.engineWaitMs) : 0;
    this.counts.finalsAfterStop++;
    this.stopWaitMs.push(startedMs - job.queuedAtMs + engineWait);
    if (this.stopWaitMs.length > STOP_WAIT_HISTORY) this.stopWaitMs.shift();
  }

  private start(engine: AsrEngine, job: Job): void {
    if (this.running.size === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
    this.running.add(job);
    this.startedAt.set(job, Date.now());
    void this.runJob(engine, job);
  }

  private async runJob(engine: AsrEngine, job: Job): Promise<void> {
    const p = job.partial;
    const signal = p ? (job.signal ? AbortSignal.any([job.signal, p.preempt.signal]) : p.preempt.signal) : job.signal;
    const overrun = p ? setTimeout(() => p.preempt.abort(), PARTIAL_MAX_RUN_MS) : null;
    try {
      const result = await engine.transcribe(job.samples, {
        language: job.language,
        signal,
        ...(job.lane.session !== undefined ? { session: job.lane.session } : {}),
        ...(job.conversation !== undefined ? { conversation: job.conversation } : {}),
        ...(job.maxTokens !== undefined && job.maxTokens > 0 ? { maxTokens: job.maxTokens } : {}),
        ...(p ? { priority: 'partial' as const, ...(p.audioCtx ? { audioCtx: p.audioCtx } : {}), ...(p.prompt ? { prompt: p.prompt } : {}) } : {}),
      });
      if (job.signal?.aborted) job.reject(abortError());
      else if (p?.preempt.signal.aborted) job.reject(new AsrQueueError('dropped', 'partial stopped: a final needed the engine, or it ran too long'));
      else {
        if (p) this.counts.completed++;
        if (job.stoppedPartial) this.noteStopWait(job, result);
        job.resolve(this.filter(result));
      }
    } catch (err) {
      if (job.signal?.aborted) job.reject(abortError());
      else if (p?.preempt.signal.aborted) job.reject(new AsrQueueError('dropped', 'partial stopped: a final needed the engine, or it ran too long'));
      else job.reject(err);
    } finally {
      if (overrun) clearTimeout(overrun);
      if (p?.preempt.signal.aborted) this.counts.preempted++;
      const startMs = this.startedAt.get(job) ?? Date.now();
      this.startedAt.delete(job);
      const kept = p ? this.history.partial : this.history.final;
      kept.push({ endMs: Date.now(), ranMs: Date.now() - startMs, audioMs: (job.samples.length * 1000) / SAMPLE_RATE, partial: p !== null });
      if (kept.length > LOAD_HISTORY) kept.shift();
      job.detach();
      if (p) job.lane.partialRunning = null;
      else job.lane.running--;
      this.running.delete(job);
      if (this.running.size === 0) this.markIdle();
      this.pump();
    }
  }
}
