/**
 * The one speech-recognition queue shared by every connection: FIFO, bounded, one job at a
 * time per local engine (whisper.cpp's context is not re-entrant, and on a CPU two jobs at once
 * would only split the cores between them); a remote engine (Redis workers) takes as many as
 * its `slots()`, so jobs wait here, not in the remote backlog.
 *
 * - A full queue rejects at once with an `AsrQueueError` coded `overloaded`.
 * - A job whose signal aborts (its client left) is removed without running, or aborted in the
 *   engine if already running; only its own caller sees the AbortError, never other jobs.
 * - Without an engine (diarization-only mode) every job resolves with `null` at once.
 * - Results go through the hallucination filter: `''` means "no speech recognised".
 */
import { cleanTranscript } from './hallucination.js';
import type { AsrEngine } from './types.js';
import type { AsrLog } from './whisper-server.js';

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
  /** Jobs allowed to wait behind the running one (ASR_QUEUE_MAX). */
  maxQueued: number;
  /** Applied to every result; defaults to `cleanTranscript`. */
  filter?: (text: string) => string;
  log?: AsrLog;
}

export interface EnqueueOptions {
  language: string;
  signal?: AbortSignal;
}

interface Job {
  samples: Float32Array;
  language: string;
  signal: AbortSignal | undefined;
  resolve(text: string): void;
  reject(err: unknown): void;
  /** Removes the job's abort listener. */
  detach(): void;
}

function abortError(): Error {
  return new DOMException('transcription aborted', 'AbortError');
}

/** Logs "overloaded" at most this often, however many jobs are refused. */
const OVERLOAD_LOG_INTERVAL_MS = 5000;

export class AsrQueue {
  private readonly waiting: Job[] = [];
  private readonly running = new Set<Job>();
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private closed = false;
  private lastOverloadLogMs = -Infinity;
  private readonly filter: (text: string) => string;

  constructor(
    private readonly engine: AsrEngine | null,
    private readonly options: AsrQueueOptions,
  ) {
    this.filter = options.filter ?? cleanTranscript;
    engine?.onSlotsChange?.(() => this.pump());
  }

  /** The engine's name, or null in diarization-only mode. */
  get engineName(): string | null {
    return this.engine?.name ?? null;
  }

  /** Jobs waiting (not counting the one running). */
  get pending(): number {
    return this.waiting.length;
  }

  /** True while a job runs in the engine. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /**
   * Queues one segment. Resolves with its filtered text ('' = no speech), or null when there
   * is no engine. Rejects with AbortError when `signal` aborts, `AsrQueueError` when full or
   * closed, or the engine's error for this job alone.
   */
  enqueue(samples: Float32Array, { language, signal }: EnqueueOptions): Promise<string | null> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.closed) return Promise.reject(new AsrQueueError('closed', 'speech recognition is shutting down'));
    if (!this.engine) return Promise.resolve(null);
    if (this.waiting.length >= this.options.maxQueued) {
      const now = Date.now();
      if (now - this.lastOverloadLogMs >= OVERLOAD_LOG_INTERVAL_MS) {
        this.lastOverloadLogMs = now;
        this.options.log?.('warn', `queue full (${this.options.maxQueued} waiting): refusing segments`);
      }
      return Promise.reject(new AsrQueueError('overloaded', `speech recognition queue is full (${this.options.maxQueued} waiting)`));
    }
    return new Promise<string | null>((resolve, reject) => {
      const onAbort = () => {
        // A waiting job leaves the queue now; a running one is stopped by the engine itself.
        const at = this.waiting.indexOf(job);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          job.detach();
          reject(abortError());
        }
      };
      const job: Job = {
        samples,
        language,
        signal,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(job);
      this.pump();
    });
  }

  /**
   * Refuses new jobs, fails the waiting ones with `closed` and waits for the running one.
   * Does not close the engine (its owner does). Idempotent.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const job of this.waiting.splice(0)) {
        job.detach();
        job.reject(new AsrQueueError('closed', 'speech recognition is shutting down'));
      }
    }
    await this.idle;
  }

  private pump(): void {
    if (!this.engine) return;
    const slots = Math.max(1, this.engine.slots?.() ?? 1);
    while (this.running.size < slots) {
      const job = this.waiting.shift();
      if (!job) return;
      if (this.running.size === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
      this.running.add(job);
      void this.runJob(this.engine, job);
    }
  }

  private async runJob(engine: AsrEngine, job: Job): Promise<void> {
    try {
      const raw = await engine.transcribe(job.samples, { language: job.language, signal: job.signal });
      if (job.signal?.aborted) job.reject(abortError());
      else job.resolve(this.filter(raw));
    } catch (err) {
      job.reject(job.signal?.aborted ? abortError() : err);
    } finally {
      job.detach();
      this.running.delete(job);
      if (this.running.size === 0) this.markIdle();
      this.pump();
    }
  }
}
