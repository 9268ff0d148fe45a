/**
 * `RedisAsrEngine`: the front server's side of the Redis Streams job queue, behind the same
 * `AsrEngine` boundary as the local whisper-server child, so the in-process queue (and its
 * fairness) stays in front of it.
 *
 * - Each segment becomes one job entry (XADD … MAXLEN ~) with a fresh id and a deadline; the
 *   promise settles exactly once: from the first result carrying its id (a duplicate from a
 *   reclaimed job is ignored), or with a coded `RemoteAsrError` at the deadline, when Redis is
 *   unreachable, or when the connection drops while the job is out — never later than the
 *   deadline.
 * - `slots()` is the sum of the live workers' concurrency (their heartbeats), so the queue in
 *   front keeps at most that many jobs outstanding in Redis.
 * - Results are read from this server's own stream (blocking XREAD on a second connection),
 *   then deleted.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { floatToPcm16 } from '../../audio/wav.js';
import type { AsrEngine, AsrJobOptions } from '../types.js';
import type { AsrHealth } from '../availability.js';
import {
  connectRedis,
  jobFields,
  JOBS_MAXLEN,
  PARTIAL_DEADLINE_MS,
  PARTIALS_MAXLEN,
  parseResult,
  redactUrl,
  RemoteAsrError,
  RESULTS_TTL_MS,
  streamEntries,
  streamKeys,
  type JobResult,
  type RedisLog,
  type StreamKeys,
} from './streams.js';

/** Whatever the local engine resolves with (text now; an object once the engine returns one). */
type EngineResult = Awaited<ReturnType<AsrEngine['transcribe']>>;

export interface RedisAsrEngineOptions {
  /** QUEUE_URL. */
  url: string;
  /** Key prefix (tests use their own). */
  prefix?: string;
  /** CA certificate(s) for `rediss://` (QUEUE_TLS_CA); default: the system's. */
  tlsCa?: Buffer;
  /** JOB_DEADLINE_MS: a job not answered this long after it was queued fails with `deadline`. */
  deadlineMs: number;
  /** How often the live-worker set is read, in ms. */
  livenessPollMs?: number;
  /** How long `load()` waits for a first connection before going on without (it keeps retrying). */
  connectWaitMs?: number;
  log?: RedisLog;
}

interface Pending {
  resolve(result: EngineResult): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  detach(): void;
  entryId: string | null;
  /** The stream its entry is in (finals' or partials'). */
  stream: string;
}

interface LiveWorker {
  id: string;
  slots: number;
  name: string;
}

/** Removes expired heartbeats and lists the rest, on Redis' clock. */
const LIVE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function abortError(): Error {
  return new DOMException('transcription aborted', 'AbortError');
}

export class RedisAsrEngine implements AsrEngine {
  /** This server's result stream is `<prefix>:results:<serverId>`. */
  readonly serverId = randomUUID();
  private readonly keys: StreamKeys;
  private readonly resultsKey: string;
  private readonly cmd: Redis;
  private readonly reader: Redis;
  private readonly pending = new Map<string, Pending>();
  private workers: LiveWorker[] = [];
  private liveSlots = 0;
  private readonly slotListeners: Array<() => void> = [];
  private lastResultId = '0-0';
  private closed = false;
  private polling = false;
  private loops: Promise<void>[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private readonly log: RedisLog;

  constructor(private readonly options: RedisAsrEngineOptions) {
    this.keys = streamKeys(options.prefix);
    this.resultsKey = this.keys.results(this.serverId);
    this.log = options.log ?? (() => undefined);
    this.cmd = connectRedis(options.url, { name: 'duet-server', tlsCa: options.tlsCa });
    this.reader = connectRedis(options.url, { name: 'duet-server-results', tlsCa: options.tlsCa });
    for (const conn of [this.cmd, this.reader]) {
      // A dropped connection may have lost the jobs (a restarted Redis without persistence
      // has): fail them now with a coded error rather than let them wait for the deadline.
      conn.on('close', () => {
        this.failAll('unavailable', 'connection to Redis lost');
        this.setWorkers([]);
      });
      conn.on('error', () => undefined); // reported through 'close' and failed commands
    }
  }

  get name(): string {
    const engine = this.workers[0]?.name ?? 'whisper.cpp';
    return `${engine} via Redis Streams (${this.workers.length} workers, ${this.liveSlots} slots)`;
  }

  /** Live workers × their concurrency, as last read (at least every `livenessPollMs`). */
  slots(): number {
    return this.liveSlots;
  }

  /** Up while Redis answers and at least one worker is alive. */
  health(): AsrHealth {
    if (this.closed) return { up: false, reason: 'closed', message: 'speech recognition is shutting down' };
    if (this.cmd.status !== 'ready') return { up: false, reason: 'queue_unreachable', message: 'Redis is unreachable' };
    if (this.liveSlots === 0) return { up: false, reason: 'no_workers', message: 'no recognition worker is running' };
    return { up: true, reason: 'running', message: `${this.workers.length} worker(s), ${this.liveSlots} slot(s)` };
  }

  onSlotsChange(listener: () => void): void {
    this.slotListeners.push(listener);
  }

  /** Jobs sent and not yet answered. */
  get outstanding(): number {
    return this.pending.size;
  }

  async load(): Promise<void> {
    const waitMs = this.options.connectWaitMs ?? 5000;
    const ready = Promise.all([this.cmd, this.reader].map((c) => (c.status === 'ready' ? null : new Promise((resolve) => c.once('ready', resolve)))));
    this.cmd.connect().catch(() => undefined);
    this.reader.connect().catch(() => undefined);
    const ok = await Promise.race([ready.then(() => true), sleep(waitMs).then(() => false)]);
    if (!ok) this.log('warn', `Redis at ${redactUrl(this.options.url)} unreachable; segments get "" with a coded error until it is back`);
    else this.log('info', `recognition through Redis Streams at ${redactUrl(this.options.url)} (results: ${this.resultsKey})`);
    await this.pollLive();
    const pollMs = this.options.livenessPollMs ?? 1000;
    this.pollTimer = setInterval(() => void this.pollLive(), pollMs);
    this.loops.push(this.readResults());
  }

  transcribe(samples: Float32Array, options: AsrJobOptions): Promise<EngineResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.closed) return Promise.reject(new RemoteAsrError('unavailable', 'speech recognition is shutting down'));
    if (this.cmd.status !== 'ready') return Promise.reject(new RemoteAsrError('unavailable', 'Redis is unreachable'));
    if (this.liveSlots === 0) return Promise.reject(new RemoteAsrError('no_workers', 'no recognition worker is running'));
    const id = randomUUID();
    const createdMs = Date.now();
    // Partials go to their own stream with a short deadline (see streams.ts).
    const partial = options.priority === 'partial';
    const deadlineMs = partial ? Math.min(this.options.deadlineMs, PARTIAL_DEADLINE_MS) : this.options.deadlineMs;
    const fields = jobFields({
      id,
      replyTo: this.resultsKey,
      language: options.language,
      session: options.session ?? '',
      conversation: options.conversation ?? '',
      createdMs,
      deadlineMs: createdMs + deadlineMs,
      pcm16: floatToPcm16(samples),
      ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}),
      ...(options.audioCtx ? { audioCtx: options.audioCtx } : {}),
      ...(options.prompt ? { prompt: options.prompt } : {}),
    });
    const stream = partial ? this.keys.partials : this.keys.jobs;
    return new Promise<EngineResult>((resolve, reject) => {
      const onAbort = () => this.settle(id, null, abortError());
      const p: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => this.settle(id, null, new RemoteAsrError('deadline', `no result within ${deadlineMs} ms`)), deadlineMs),
        detach: () => signal?.removeEventListener('abort', onAbort),
        entryId: null,
        stream,
      };
      this.pending.set(id, p);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.cmd.call('XADD', stream, 'MAXLEN', '~', partial ? PARTIALS_MAXLEN : JOBS_MAXLEN, '*', ...fields).then(
        (entryId) => {
          p.entryId = String(entryId);
          // Settled (aborted, timed out) before the entry existed: take it back.
          if (!this.pending.has(id)) this.dropEntry(p);
        },
        (err: Error) => this.settle(id, null, new RemoteAsrError('unavailable', `could not queue the job: ${err.message}`)),
      );
    });
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.pollTimer) clearInterval(this.pollTimer);
      this.failAll('unavailable', 'speech recognition is shutting down');
      this.cmd.disconnect();
      this.reader.disconnect();
      await Promise.allSettled(this.loops);
    })();
    return this.closing;
  }

  /** Settles job `id` once; later calls (duplicates, late results) are ignored. */
  private settle(id: string, result: JobResult | null, error?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.detach();
    if (error !== undefined) {
      // The job is no longer wanted: a worker that has not read it yet will not see it.
      if (p.entryId) this.dropEntry(p);
      p.reject(error);
    } else if (result?.ok) p.resolve(result.result as EngineResult);
    else if (result) p.reject(new RemoteAsrError(result.code, result.message));
  }

  private dropEntry(p: Pending): void {
    if (this.cmd.status === 'ready' && p.entryId) this.cmd.call('XDEL', p.stream, p.entryId).catch(() => undefined);
  }

  private failAll(code: 'unavailable', message: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, null, new RemoteAsrError(code, message));
  }

  private async pollLive(): Promise<void> {
    if (this.closed || this.polling) return;
    this.polling = true;
    try {
      this.setWorkers(await this.readWorkers());
    } finally {
      this.polling = false;
    }
  }

  private async readWorkers(): Promise<LiveWorker[]> {
    let workers: LiveWorker[] = [];
    if (this.cmd.status === 'ready') {
      try {
        const members = (await this.cmd.call('EVAL', LIVE_SCRIPT, 1, this.keys.live)) as string[];
        workers = members.flatMap((m) => {
          try {
            const w = JSON.parse(m) as LiveWorker;
            return typeof w.id === 'string' && Number.isInteger(w.slots) && w.slots > 0 ? [w] : [];
          } catch {
            return [];
          }
        });
        await this.cmd.call('PEXPIRE', this.resultsKey, RESULTS_TTL_MS);
      } catch {
        workers = [];
      }
    }
    return workers;
  }

  private setWorkers(workers: LiveWorker[]): void {
    const slots = workers.reduce((sum, w) => sum + w.slots, 0);
    this.workers = workers;
    if (slots !== this.liveSlots) {
      const before = this.liveSlots;
      this.liveSlots = slots;
      this.log(slots === 0 ? 'warn' : 'info', `recognition workers: ${workers.length} live, ${slots} slots (was ${before})`);
      for (const l of this.slotListeners) l();
    }
  }

  private async readResults(): Promise<void> {
    while (!this.closed) {
      let reply: unknown;
      try {
        reply = await this.reader.callBuffer('XREAD', 'COUNT', 100, 'BLOCK', 1000, 'STREAMS', this.resultsKey, this.lastResultId);
      } catch {
        if (!this.closed) await sleep(100);
        continue;
      }
      if (!reply) continue;
      const ids: string[] = [];
      for (const [entryId, fields] of streamEntries(reply)) {
        ids.push(entryId.toString());
        const result = parseResult(fields);
        if (result) this.settle(result.id, result);
      }
      this.lastResultId = ids[ids.length - 1] ?? this.lastResultId;
      // Transcripts are personal data: gone from Redis as soon as they are read.
      if (ids.length > 0) this.cmd.call('XDEL', this.resultsKey, ...ids).catch(() => undefined);
    }
  }
}
