/**
 * `AsrWorker`: takes segment jobs from the Redis Streams consumer group and runs them on local
 * engines (one whisper.cpp engine per slot; WORKER_CONCURRENCY slots). It opens no port: it only
 * connects out to Redis.
 *
 * - New jobs: XREADGROUP `>`, as many as there are free slots.
 * - A result is written to the asking server's stream and the job acknowledged and deleted in
 *   one MULTI (XADD + XACK + XDEL): once answered, the audio is gone from Redis.
 * - Jobs of a worker that died: XAUTOCLAIM after JOB_CLAIM_MS idle. A live worker keeps its own
 *   running jobs fresh (XCLAIM … JUSTID resets their idle time without counting a delivery), so
 *   a long job is not stolen from a worker that is still on it.
 * - A job delivered more than JOB_MAX_ATTEMPTS times goes to the dead-letter stream (metadata
 *   only) and its server gets a `dead_letter` error.
 * - A job past its deadline is not run; its server is told `deadline`.
 * - Partials (`<prefix>:partials`): taken only with a slot free and no final waiting in the jobs
 *   stream, read with NOACK (never pending, so never reclaimed or retried), run with their own
 *   short deadline and deleted once answered; a failed one is answered `engine`, not retried.
 * - Liveness: a heartbeat in `<prefix>:live` (expiry on Redis' clock) that front servers read to
 *   size how many jobs they keep outstanding.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { pcm16ToFloat } from '../../audio/wav.js';
import type { AsrEngine } from '../types.js';
import {
  connectRedis,
  DEAD_MAXLEN,
  parseJob,
  redactUrl,
  resultFields,
  RESULTS_MAXLEN,
  RESULTS_TTL_MS,
  streamEntries,
  streamKeys,
  type Job,
  type StreamEntry,
  type JobResult,
  type RedisLog,
  type StreamKeys,
} from './streams.js';

export interface AsrWorkerOptions {
  /** QUEUE_URL. */
  url: string;
  prefix?: string;
  /** CA certificate(s) for `rediss://` (QUEUE_TLS_CA); default: the system's. */
  tlsCa?: Buffer;
  /** Loaded engines, one per slot (their count is the worker's concurrency). */
  engines: AsrEngine[];
  /** JOB_CLAIM_MS. */
  claimMs: number;
  /** JOB_MAX_ATTEMPTS. */
  maxAttempts: number;
  /** Consumer name in the group (default: host name + random suffix). */
  workerId?: string;
  /** Heartbeat period in ms (default: a third of `claimMs`, at most 1 s). */
  heartbeatMs?: number;
  log?: RedisLog;
}

/** Announces a worker until `ttl` ms from now, on Redis' clock. */
const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
return now`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a worker with free slots blocks on the finals' stream before looking at partials again, ms. */
const PARTIAL_POLL_MS = 200;

export class AsrWorker {
  readonly id: string;
  private readonly keys: StreamKeys;
  private readonly cmd: Redis;
  private readonly reader: Redis;
  private readonly idle: AsrEngine[];
  /** Entry ids of the jobs running here. */
  private readonly inFlight = new Set<string>();
  /** Jobs received while every slot was busy, in arrival order. */
  private readonly held: Array<[string, Buffer[] | null]> = [];
  private readonly tasks = new Set<Promise<void>>();
  private slotFreed: (() => void) | null = null;
  private state: 'new' | 'running' | 'stopping' | 'dead' = 'new';
  private readLoop: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly member: string;
  private readonly heartbeatMs: number;
  /**
   * How long one heartbeat keeps the worker listed: several beats, and at least 5 s, so a
   * worker whose event loop stalls under load is not dropped (a dead one's jobs are
   * reclaimed anyway; the list only sizes how many jobs servers keep outstanding).
   */
  private readonly liveTtlMs: number;
  private readonly log: RedisLog;
  /** Jobs answered (result or coded error) by this worker. */
  answered = 0;

  constructor(private readonly options: AsrWorkerOptions) {
    if (options.engines.length === 0) throw new Error('a worker needs at least one engine');
    this.id = options.workerId ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
    this.keys = streamKeys(options.prefix);
    this.idle = [...options.engines];
    this.log = options.log ?? (() => undefined);
    this.heartbeatMs = options.heartbeatMs ?? Math.min(1000, Math.max(50, Math.floor(options.claimMs / 3)));
    this.liveTtlMs = Math.max(5000, this.heartbeatMs * 3);
    this.member = JSON.stringify({ id: this.id, slots: options.engines.length, name: options.engines[0]!.name });
    this.cmd = connectRedis(options.url, { name: `duet-worker-${this.id}`, tlsCa: options.tlsCa });
    this.reader = connectRedis(options.url, { name: `duet-worker-${this.id}-jobs`, tlsCa: options.tlsCa });
    for (const c of [this.cmd, this.reader]) c.on('error', () => undefined);
  }

  get concurrency(): number {
    return this.options.engines.length;
  }

  /** Connects (retrying until Redis answers), announces itself and starts taking jobs. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    const ready = (c: Redis) => (c.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => c.once('ready', () => resolve())));
    this.cmd.connect().catch(() => undefined);
    this.reader.connect().catch(() => undefined);
    await Promise.all([ready(this.cmd), ready(this.reader)]);
    await this.ensureGroup();
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), this.heartbeatMs));
    const claimEveryMs = Math.max(25, Math.floor(this.options.claimMs / 4));
    this.timers.push(setInterval(() => void this.reclaim(), claimEveryMs));
    this.readLoop = this.readJobs();
    this.log('info', `worker ${this.id}: ${this.concurrency} slot(s) on ${this.options.engines[0]!.name}, Redis ${redactUrl(this.options.url)}`);
  }

  /** Stops taking jobs, finishes (and answers) the running ones, leaves the live set. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'dead' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    for (const t of this.timers) clearInterval(t);
    // Ends a blocking read at once; answers go out on the other connection.
    this.reader.disconnect();
    this.wake();
    await Promise.allSettled([this.readLoop, ...this.tasks]);
    if (wasRunning) await this.cmd.call('ZREM', this.keys.live, this.member).catch(() => undefined);
    this.state = 'dead';
    this.cmd.disconnect();
  }

  /**
   * Dies as a crashed process would (for tests): connections dropped at once, running jobs
   * neither answered nor acknowledged, heartbeat left to expire.
   */
  kill(): void {
    this.state = 'dead';
    for (const t of this.timers) clearInterval(t);
    this.cmd.disconnect();
    this.reader.disconnect();
    this.wake();
  }

  private wake(): void {
    const w = this.slotFreed;
    this.slotFreed = null;
    w?.();
  }

  private async ensureGroup(): Promise<void> {
    for (const stream of [this.keys.jobs, this.keys.partials]) {
      try {
        await this.cmd.call('XGROUP', 'CREATE', stream, this.keys.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
  }

  /** Runs one partial on a free slot (the caller checked there is one). Never held, never retried. */
  private dispatchPartial(entryId: string, fields: Buffer[] | null): void {
    const engine = this.idle.pop();
    const job = parseJob(fields);
    if (!engine || !job) {
      if (engine) this.idle.push(engine);
      this.cmd.call('XDEL', this.keys.partials, entryId).catch(() => undefined);
      return;
    }
    this.track(engine, this.runPartial(engine, entryId, job));
  }

  private async runPartial(engine: AsrEngine, entryId: string, job: Job): Promise<void> {
    const leftMs = job.deadlineMs - Date.now();
    let answer: JobResult | null = null;
    if (leftMs > 0) {
      const timeout = AbortSignal.timeout(leftMs);
      try {
        const result = await engine.transcribe(pcm16ToFloat(job.pcm16), {
          language: job.language,
          signal: timeout,
          session: job.session,
          conversation: job.conversation,
          priority: 'partial',
          ...(job.maxTokens ? { maxTokens: job.maxTokens } : {}),
          ...(job.audioCtx ? { audioCtx: job.audioCtx } : {}),
          ...(job.prompt ? { prompt: job.prompt } : {}),
        });
        answer = { id: job.id, ok: true, result, worker: this.id };
      } catch (err) {
        answer = timeout.aborted ? null : { id: job.id, ok: false, code: 'engine', message: `partial failed: ${(err as Error).message}`, worker: this.id };
      }
    }
    if (this.state === 'dead') return;
    // Expired ones get no answer: the server's own (equal) deadline has already given up on them.
    const ops: Array<Array<string | number | Buffer>> = [['xdel', this.keys.partials, entryId]];
    if (answer) ops.unshift(['xadd', job.replyTo, 'MAXLEN', '~', RESULTS_MAXLEN, '*', ...resultFields(answer)], ['pexpire', job.replyTo, RESULTS_TTL_MS]);
    try {
      await this.cmd.multi(ops as Array<[string, ...Array<string | number | Buffer>]>).exec();
      if (answer) this.answered++;
    } catch {
      // Redis away: the partial is lost, which is all a partial may be.
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.cmd.call('EVAL', HEARTBEAT_SCRIPT, 1, this.keys.live, this.liveTtlMs, this.member);
      // Running jobs stay ours: reset their idle time so XAUTOCLAIM elsewhere leaves them be.
      if (this.inFlight.size > 0) {
        await this.cmd.call('XCLAIM', this.keys.jobs, this.keys.group, this.id, 0, ...this.inFlight, 'JUSTID');
      }
    } catch {
      // Redis away: the next beat tries again.
    }
  }

  private async readJobs(): Promise<void> {
    while (this.state === 'running') {
      if (this.idle.length === 0 || this.held.length > 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let reply: unknown;
      try {
        // Finals first, without waiting; then one partial if no final came; then a short
        // blocking wait for finals (partials are polled at that period, PARTIAL_POLL_MS).
        reply = await this.reader.callBuffer('XREADGROUP', 'GROUP', this.keys.group, this.id, 'COUNT', this.idle.length, 'STREAMS', this.keys.jobs, '>');
        if (!reply && this.state === 'running') {
          const partial = await this.reader.callBuffer('XREADGROUP', 'GROUP', this.keys.group, this.id, 'COUNT', 1, 'NOACK', 'STREAMS', this.keys.partials, '>');
          const entries = streamEntries(partial);
          if (entries.length > 0 && this.state === 'running') {
            for (const [entryId, fields] of entries) this.dispatchPartial(entryId.toString(), fields);
            continue;
          }
          reply = await this.reader.callBuffer('XREADGROUP', 'GROUP', this.keys.group, this.id, 'COUNT', this.idle.length, 'BLOCK', PARTIAL_POLL_MS, 'STREAMS', this.keys.jobs, '>');
        }
      } catch (err) {
        if (this.state !== 'running') return;
        // A restarted Redis without persistence has no group any more.
        if (/NOGROUP/.test((err as Error).message)) await this.ensureGroup().catch(() => undefined);
        else await sleep(200);
        continue;
      }
      if (!reply || this.state !== 'running') continue;
      for (const [entryId, fields] of streamEntries(reply)) this.dispatch(entryId.toString(), fields);
    }
  }

  /** Takes over jobs idle for JOB_CLAIM_MS (their worker died), up to the free slots. */
  private async reclaim(): Promise<void> {
    if (this.state !== 'running' || this.idle.length === 0 || this.cmd.status !== 'ready') return;
    try {
      const reply = (await this.cmd.callBuffer('XAUTOCLAIM', this.keys.jobs, this.keys.group, this.id, this.options.claimMs, '0-0', 'COUNT', this.idle.length)) as [Buffer, StreamEntry[], Buffer[]?];
      for (const [entryIdBuf, fields] of reply[1]) {
        const entryId = entryIdBuf.toString();
        const pend = (await this.cmd.call('XPENDING', this.keys.jobs, this.keys.group, entryId, entryId, 1)) as Array<[string, string, number, number]>;
        const deliveries = Number(pend[0]?.[3] ?? 1);
        const job = parseJob(fields);
        if (job && deliveries > this.options.maxAttempts) {
          await this.deadLetter(entryId, job, deliveries);
          continue;
        }
        if (this.state !== 'running' || this.idle.length === 0) break; // stays claimed; reclaimed again later
        this.log('info', `worker ${this.id}: took over job ${entryId} (delivery ${deliveries})`);
        this.dispatch(entryId, fields);
      }
    } catch {
      // Redis away or busy: the next scan tries again.
    }
  }

  /**
   * Runs a job now, or holds it until a slot frees (a read and a takeover can both fill the
   * last slot). Held jobs are ours in the group, so they are kept fresh like running ones.
   */
  private dispatch(entryId: string, fields: Buffer[] | null): void {
    this.inFlight.add(entryId);
    const engine = this.idle.pop();
    if (!engine) {
      this.held.push([entryId, fields]);
      return;
    }
    this.track(engine, this.run(engine, entryId, parseJob(fields)), () => this.inFlight.delete(entryId));
  }

  /**
   * Keeps `work` among the tasks until it settles, then gives its engine back and hands the
   * engine the next held job (or goes back to reading).
   */
  private track(engine: AsrEngine, work: Promise<void>, settled?: () => void): void {
    const task = work.finally(() => {
      settled?.();
      this.idle.push(engine);
      this.tasks.delete(task);
      const next = this.state === 'dead' ? undefined : this.held.shift();
      if (next) this.dispatch(...next);
      else this.wake();
    });
    this.tasks.add(task);
  }


  private async run(engine: AsrEngine, entryId: string, job: Job | null): Promise<void> {
    if (!job) {
      // Trimmed or malformed: nobody can be answered; its server's deadline covers it.
      await this.finish(entryId, null, null);
      return;
    }
    const leftMs = job.deadlineMs - Date.now();
    if (leftMs <= 0) {
      await this.finish(entryId, job, { id: job.id, ok: false, code: 'deadline', message: 'job expired before a worker took it', worker: this.id });
      return;
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), leftMs);
    try {
      const result = await engine.transcribe(pcm16ToFloat(job.pcm16), {
        language: job.language,
        signal: timeout.signal,
        session: job.session,
        conversation: job.conversation,
        ...(job.maxTokens ? { maxTokens: job.maxTokens } : {}),
      });
      if (this.state === 'dead') return;
      await this.finish(entryId, job, { id: job.id, ok: true, result, worker: this.id });
    } catch (err) {
      if (this.state === 'dead') return;
      if (timeout.signal.aborted) {
        await this.finish(entryId, job, { id: job.id, ok: false, code: 'deadline', message: 'job passed its deadline while running', worker: this.id });
      } else {
        // Left unacknowledged: another delivery (here or elsewhere) tries again after
        // JOB_CLAIM_MS, up to JOB_MAX_ATTEMPTS, then the dead-letter stream.
        this.log('warn', `worker ${this.id}: job ${entryId} failed: ${(err as Error).message}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Answers the job's server (if any), then acknowledges and deletes the job, atomically. */
  private async finish(entryId: string, job: Job | null, result: JobResult | null): Promise<void> {
    const ops: Array<Array<string | number | Buffer>> = [];
    if (job && result) {
      ops.push(['xadd', job.replyTo, 'MAXLEN', '~', RESULTS_MAXLEN, '*', ...resultFields(result)]);
      ops.push(['pexpire', job.replyTo, RESULTS_TTL_MS]);
    }
    ops.push(['xack', this.keys.jobs, this.keys.group, entryId], ['xdel', this.keys.jobs, entryId]);
    try {
      await this.cmd.multi(ops as Array<[string, ...Array<string | number | Buffer>]>).exec();
      if (result) this.answered++;
    } catch (err) {
      // Unacknowledged: redelivered after JOB_CLAIM_MS; the server keeps the first answer.
      this.log('warn', `worker ${this.id}: could not answer job ${entryId}: ${(err as Error).message}`);
    }
  }

  private async deadLetter(entryId: string, job: Job, deliveries: number): Promise<void> {
    this.log('warn', `worker ${this.id}: job ${entryId} delivered ${deliveries} times: dead-lettered`);
    const ops: Array<Array<string | number | Buffer>> = [
      ['xadd', this.keys.dead, 'MAXLEN', '~', DEAD_MAXLEN, '*', 'id', job.id, 'session', job.session, 'conv', job.conversation, 'created', String(job.createdMs), 'deliveries', String(deliveries), 'reason', 'max_attempts'],
      ['xadd', job.replyTo, 'MAXLEN', '~', RESULTS_MAXLEN, '*', ...resultFields({ id: job.id, ok: false, code: 'dead_letter', message: `no worker finished it in ${deliveries - 1} attempts`, worker: this.id })],
      ['pexpire', job.replyTo, RESULTS_TTL_MS],
      ['xack', this.keys.jobs, this.keys.group, entryId],
      ['xdel', this.keys.jobs, entryId],
    ];
    await this.cmd.multi(ops as Array<[string, ...Array<string | number | Buffer>]>).exec();
  }
}
