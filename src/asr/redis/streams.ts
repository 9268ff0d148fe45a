/**
 * The Redis Streams layout shared by the front servers (`RedisAsrEngine`) and the recognition
 * workers (`AsrWorker`), and the encoding of a job and of its result. No I/O except
 * `connectRedis`.
 *
 * - `<prefix>:jobs`: one entry per segment (XADD … MAXLEN ~), read by the consumer group
 *   `<prefix>:workers` (XREADGROUP); acknowledged and deleted (XACK + XDEL) once answered, so
 *   audio does not outlive its job.
 * - `<prefix>:results:<serverId>`: each front server's own result stream; the server deletes
 *   what it has read, and the stream expires when its server is gone.
 * - `<prefix>:partials`: interim-text jobs (partials), the lowest class, read by the same group
 *   name with NOACK: never in a pending list, so never reclaimed or retried; each has a short
 *   deadline, and a worker takes one only when no final is waiting for it.
 * - `<prefix>:dead`: dead-letter stream (job metadata and the reason, never the audio).
 * - `<prefix>:live`: sorted set of live workers, scored by when their heartbeat expires
 *   (Redis' own clock, so skew between machines does not matter).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type RedisLog = (level: RedisLogLevel, msg: string) => void;

export const DEFAULT_PREFIX = 'duet:asr';

/** Bounds on the streams (approximate trimming: whole macro nodes, cheap). */
export const JOBS_MAXLEN = 10_000;
export const RESULTS_MAXLEN = 10_000;
export const DEAD_MAXLEN = 1_000;
/** Partials kept waiting at most (each is superseded within a second or two anyway). */
export const PARTIALS_MAXLEN = 1_000;
/** A partial not answered this long after it was queued is stale: dropped, never retried. */
export const PARTIAL_DEADLINE_MS = 3_000;
/** A result stream outlives its server by this much (refreshed by the server and every answer). */
export const RESULTS_TTL_MS = 120_000;

export interface StreamKeys {
  jobs: string;
  partials: string;
  group: string;
  dead: string;
  live: string;
  results(serverId: string): string;
}

export function streamKeys(prefix = DEFAULT_PREFIX): StreamKeys {
  return {
    jobs: `${prefix}:jobs`,
    partials: `${prefix}:partials`,
    group: `${prefix}:workers`,
    dead: `${prefix}:dead`,
    live: `${prefix}:live`,
    results: (serverId) => `${prefix}:results:${serverId}`,
  };
}

/** What a job carries. No access token, no client address: only what recognition needs. */
export interface Job {
  id: string;
  /** Result stream of the server that is waiting for it. */
  replyTo: string;
  language: string;
  session: string;
  conversation: string;
  createdMs: number;
  deadlineMs: number;
  /** 16 kHz mono PCM16 little-endian. */
  pcm16: Buffer;
  /** Decoding limits (see `AsrJobOptions`); absent = none. */
  maxTokens?: number;
  audioCtx?: number;
  prompt?: string;
}

/** Longest prompt a job may carry, characters (a partial's previous text; whisper keeps 224 tokens at most). */
export const MAX_PROMPT_CHARS = 2000;

/**
 * Coded failures a job can end with (`RemoteAsrError.code`):
 * - `unavailable`: Redis unreachable, or the connection dropped while the job was out;
 * - `no_workers`: no worker has announced itself;
 * - `deadline`: not answered within JOB_DEADLINE_MS;
 * - `dead_letter`: delivered JOB_MAX_ATTEMPTS times without an answer;
 * - `engine`: the worker's engine failed on it.
 */
export type RemoteAsrErrorCode = 'unavailable' | 'no_workers' | 'deadline' | 'dead_letter' | 'engine';

export class RemoteAsrError extends Error {
  constructor(
    readonly code: RemoteAsrErrorCode,
    message: string,
  ) {
    // The code leads the message: the session logs the message, not the code.
    super(`${code}: ${message}`);
    this.name = 'RemoteAsrError';
  }
}

/** A worker's answer: the engine's whole result (JSON, whatever shape it has) or a coded error. */
export type JobResult = { id: string; ok: true; result: unknown; worker: string } | { id: string; ok: false; code: RemoteAsrErrorCode; message: string; worker: string };

/** XADD field list for a job. */
export function jobFields(job: Job): Array<string | Buffer> {
  return [
    'id', job.id,
    'reply', job.replyTo,
    'lang', job.language,
    'session', job.session,
    'conv', job.conversation,
    'created', String(job.createdMs),
    'deadline', String(job.deadlineMs),
    'pcm16', job.pcm16,
    ...(job.maxTokens ? ['maxtok', String(job.maxTokens)] : []),
    ...(job.audioCtx ? ['actx', String(job.audioCtx)] : []),
    ...(job.prompt ? ['prompt', job.prompt] : []),
  ];
}

/** A whole number in [min, max] from a field, or undefined when absent or out of range. */
function boundedInt(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^\d{1,6}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

function fieldMap(fields: ReadonlyArray<Buffer | string>): Map<string, Buffer | string> {
  const map = new Map<string, Buffer | string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
  return map;
}

/** A job from its stream fields, or null when they are missing or malformed (e.g. trimmed). */
export function parseJob(fields: ReadonlyArray<Buffer | string> | null): Job | null {
  if (!fields) return null;
  const m = fieldMap(fields);
  const str = (k: string) => m.get(k)?.toString();
  const id = str('id');
  const replyTo = str('reply');
  const pcm = m.get('pcm16');
  const createdMs = Number(str('created'));
  const deadlineMs = Number(str('deadline'));
  if (!id || !replyTo || pcm === undefined || !Number.isFinite(createdMs) || !Number.isFinite(deadlineMs)) return null;
  return {
    id,
    replyTo,
    language: str('lang') || 'auto',
    session: str('session') ?? '',
    conversation: str('conv') ?? '',
    createdMs,
    deadlineMs,
    pcm16: Buffer.isBuffer(pcm) ? pcm : Buffer.from(pcm, 'binary'),
    ...optional('maxTokens', boundedInt(str('maxtok'), 1, 1000)),
    ...optional('audioCtx', boundedInt(str('actx'), 1, 1500)),
    ...optional('prompt', str('prompt')?.slice(0, MAX_PROMPT_CHARS) || undefined),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

export type StreamEntry = [id: Buffer, fields: Buffer[] | null];

/**
 * The entries of an XREAD / XREADGROUP reply (`callBuffer`): RESP2 nests `[[key, entries], …]`;
 * a RESP3 map arrives flattened as `[key, entries, …]`. Null (timeout) gives none.
 */
export function streamEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: StreamEntry[] = [];
  if (reply.length > 0 && Array.isArray(reply[0])) {
    for (const [, entries] of reply as Array<[Buffer, StreamEntry[]]>) out.push(...entries);
  } else {
    for (let i = 1; i < reply.length; i += 2) out.push(...(reply[i] as StreamEntry[]));
  }
  return out;
}

export function resultFields(r: JobResult): string[] {
  return ['id', r.id, 'r', JSON.stringify(r)];
}

export function parseResult(fields: ReadonlyArray<Buffer | string> | null): JobResult | null {
  if (!fields) return null;
  const raw = fieldMap(fields).get('r');
  if (raw === undefined) return null;
  try {
    const r = JSON.parse(raw.toString()) as JobResult;
    return typeof r?.id === 'string' && typeof r.ok === 'boolean' ? r : null;
  } catch {
    return null;
  }
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}

/**
 * A connection that reconnects forever (at most 1 s apart) and, unless `queueWhileOffline`,
 * fails commands at once while disconnected instead of queueing them: a segment must get its
 * coded error now, not after the outage. `rediss://` turns TLS on (verified against the system's
 * CAs, or `tlsCa`); the URL's password is used.
 */
export function connectRedis(url: string, options: { queueWhileOffline?: boolean; name?: string; tlsCa?: Buffer } = {}): Redis {
  const extra: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: options.queueWhileOffline ?? false,
    // 0: a command in flight when the connection drops fails at once (it may or may not have run).
    maxRetriesPerRequest: options.queueWhileOffline ? null : 0,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    // A blocking read cut by a restart is re-issued by our loops, not replayed by the client.
    autoResendUnfulfilledCommands: false,
    connectionName: options.name,
    // RESP2: the reply shapes parsed here, and servers older than Redis 6 (no HELLO).
    protocol: 2,
  };
  if (options.tlsCa && url.startsWith('rediss://')) extra.tls = { ca: options.tlsCa };
  return new Redis(url, extra);
}
