/**
 * Model downloads: streamed to `<dest>.partial`, resumed with an HTTP Range request, verified
 * by checksum over the whole file, renamed into place atomically. Fails fast and clearly when
 * the host cannot be reached, answers 404, or stops sending. Also the progress line printed
 * while it runs, and the trust-on-first-use checksum record for models with no published hash.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Why a download failed; `network` and `timeout` are what "offline" looks like. */
export type DownloadErrorCode = 'not_found' | 'http' | 'network' | 'timeout' | 'checksum' | 'size' | 'aborted' | 'refused';

export class DownloadError extends Error {
  readonly code: DownloadErrorCode;
  readonly status: number | undefined;
  constructor(code: DownloadErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DownloadError';
    this.code = code;
    this.status = options.status;
  }

  /** True for failures that mean "could not reach the host" rather than "the host said no". */
  get offline(): boolean {
    return this.code === 'network' || this.code === 'timeout';
  }
}

export interface DownloadProgress {
  /** Bytes in the file so far, including a resumed part. */
  receivedBytes: number;
  /** Full size when known (from Content-Length / Content-Range or the caller). */
  totalBytes: number | null;
  /** Bytes that were already on disk when this attempt started. */
  resumedFromBytes: number;
  /** Transfer rate of this attempt, bytes per second (0 until measurable). */
  bytesPerSecond: number;
  /** Seconds left at the current rate, when known. */
  etaS: number | null;
  done: boolean;
}

/**
 * Where a download may come from, redirects included. A host is a name (`huggingface.co`) or a
 * suffix with a leading dot (`.hf.co`: any subdomain). Plain `http:` only when `http` is set
 * (tests against a loopback server); real downloads are https only.
 */
export interface DownloadSources {
  hosts: readonly string[];
  http?: boolean;
}

/** Redirects followed at most (Hugging Face and GitHub use one or two). */
export const MAX_REDIRECTS = 5;
/** Automatic resumptions at most, whatever `retries` asks for. */
export const MAX_RETRIES = 10;
/** Size cap when the caller knows no expected size: larger than any model in the catalog. */
export const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;

export interface DownloadOptions {
  url: string;
  /** Allowed schemes and hosts for the URL and every redirect; anything else is `refused`. */
  allow: DownloadSources;
  /** Final path; the transfer goes to `dest + '.partial'` first. */
  dest: string;
  /** Expected SHA-256, hex. A mismatch deletes the partial file and throws. */
  sha256?: string;
  /** Expected SHA-1, hex (checked too when given). */
  sha1?: string;
  /**
   * Expected size in bytes; lets a complete partial file be finished without the network, and
   * the transfer is aborted as soon as the server announces or sends more.
   */
  expectedSize?: number;
  /** Cap without an expected size, bytes; default {@link DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** For tests; defaults to the global `fetch`. */
  fetchImpl?: typeof fetch;
  /** Time allowed until response headers arrive, ms. Default 10 s. */
  connectTimeoutMs?: number;
  /** Longest gap between two received chunks, ms. Default 30 s. */
  stallTimeoutMs?: number;
  /** Automatic resumptions after a transfer that made progress and then broke. Default 3, at most {@link MAX_RETRIES}. */
  retries?: number;
  /** Minimum interval between progress callbacks, ms. Default 100. */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  sha1: string;
  /** Bytes that came from an earlier, interrupted attempt. */
  resumedFromBytes: number;
}

/** Sidecar holding the validator (ETag / Last-Modified) of the partial file's source. */
interface PartialMeta {
  url: string;
  validator: string | null;
}

const MB = 1024 * 1024;

/**
 * Downloads `url` to `dest`. Resumes `dest.partial` when present (Range + If-Range), restarts
 * from zero when the server ignores the range, verifies the checksums over the whole file and
 * renames it into place. Throws `DownloadError`.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const retries = Math.max(0, Math.min(MAX_RETRIES, options.retries ?? 3));
  checkSource(options.url, options.allow, basename(options.dest));
  await mkdir(dirname(options.dest), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const before = await sizeOf(partialPath(options.dest));
    try {
      return await attemptDownload(options);
    } catch (err) {
      const after = await sizeOf(partialPath(options.dest));
      const madeProgress = after > before;
      // Only a transfer that was moving is worth resuming at once; an unreachable host fails fast.
      if (err instanceof DownloadError && err.offline && madeProgress && attempt < retries && !options.signal?.aborted) {
        await delay(Math.min(4000, 250 * 2 ** attempt), options.signal);
        continue;
      }
      throw err;
    }
  }
}

/** Whether `host` matches an allowed name or `.suffix`. */
function hostAllowed(host: string, hosts: readonly string[]): boolean {
  const h = host.toLowerCase();
  return hosts.some((a) => (a.startsWith('.') ? h.endsWith(a.toLowerCase()) && h.length > a.length : h === a.toLowerCase()));
}

/** Throws `refused` unless `url` is https (or allowed http) on an allowed host. */
function checkSource(url: string, allow: DownloadSources, name: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DownloadError('refused', `refusing to download ${name}: ${JSON.stringify(url)} is not a URL`);
  }
  const schemeOk = u.protocol === 'https:' || (allow.http === true && u.protocol === 'http:');
  if (!schemeOk) throw new DownloadError('refused', `refusing to download ${name} over ${u.protocol.replace(/:$/, '')} (https only): ${u.origin}`);
  if (!hostAllowed(u.hostname, allow.hosts)) {
    throw new DownloadError('refused', `refusing to download ${name} from ${u.host}: not one of the catalog's hosts (${allow.hosts.join(', ')})`);
  }
  return u;
}

/**
 * `fetch` following redirects by hand, so that each hop is checked against the allowed sources
 * (scheme and host) and their number is bounded.
 */
async function fetchChecked(fetchImpl: typeof fetch, o: DownloadOptions, init: RequestInit, name: string): Promise<Response> {
  let url = o.url;
  for (let hop = 0; ; hop++) {
    const res = await fetchImpl(url, { ...init, redirect: 'manual' });
    if (![301, 302, 303, 307, 308].includes(res.status)) return res;
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    if (location === null) throw new DownloadError('http', `cannot download ${name}: HTTP ${res.status} without a Location`, { status: res.status });
    if (hop >= MAX_REDIRECTS) throw new DownloadError('refused', `refusing to download ${name}: more than ${MAX_REDIRECTS} redirects`);
    let next: string;
    try {
      next = new URL(location, url).href;
    } catch {
      throw new DownloadError('refused', `refusing to download ${name}: redirect to an invalid URL`);
    }
    checkSource(next, o.allow, name);
    url = next;
  }
}

/** Path of the in-progress file for `dest`. */
export function partialPath(dest: string): string {
  return `${dest}.partial`;
}

function metaPath(dest: string): string {
  return `${dest}.partial.json`;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readMeta(dest: string): Promise<PartialMeta | null> {
  try {
    return JSON.parse(await readFile(metaPath(dest), 'utf8')) as PartialMeta;
  } catch {
    return null;
  }
}

async function discardPartial(dest: string): Promise<void> {
  await rm(partialPath(dest), { force: true });
  await rm(metaPath(dest), { force: true });
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** Feeds the first `bytes` of a file into the hashes (the resumed part). */
async function hashExisting(path: string, hashes: Hash[]): Promise<void> {
  for await (const chunk of createReadStream(path)) for (const h of hashes) h.update(chunk as Buffer);
}

/** Root cause of a fetch failure, e.g. `connect ECONNREFUSED 127.0.0.1:9`. */
function describeCause(err: unknown): string {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let i = 0; i < 5 && e; i++) {
    if (typeof e.code === 'string') {
      const msg = typeof e.message === 'string' ? e.message : '';
      return msg.includes(e.code) ? msg : `${e.code}${msg ? ` (${msg})` : ''}`;
    }
    e = e.cause as typeof e;
  }
  return err instanceof Error ? err.message : String(err);
}

/** `10 s`, `0.3 s`. */
function seconds(ms: number): string {
  return `${ms >= 1000 ? Math.round(ms / 1000) : (ms / 1000).toFixed(1)} s`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

async function attemptDownload(o: DownloadOptions): Promise<DownloadResult> {
  const fetchImpl = o.fetchImpl ?? fetch;
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
  const stallTimeoutMs = o.stallTimeoutMs ?? 30_000;
  const progressIntervalMs = o.progressIntervalMs ?? 100;
  const partial = partialPath(o.dest);
  const name = basename(o.dest);

  let have = await sizeOf(partial);
  const meta = have > 0 ? await readMeta(o.dest) : null;
  if (have > 0 && meta && meta.url !== o.url) {
    await discardPartial(o.dest);
    have = 0;
  }
  if (o.expectedSize !== undefined && have > o.expectedSize) {
    await discardPartial(o.dest);
    have = 0;
  }
  if (o.expectedSize !== undefined && have === o.expectedSize && have > 0) {
    // Complete already (an earlier run died during verification): no network needed.
    return finish(o, have, have);
  }

  const controller = new AbortController();
  let timeoutReason: 'connect' | 'stall' | null = null;
  const onUserAbort = () => controller.abort();
  if (o.signal?.aborted) throw new DownloadError('aborted', `download of ${name} aborted`);
  o.signal?.addEventListener('abort', onUserAbort, { once: true });
  let timer = setTimeout(() => ((timeoutReason = 'connect'), controller.abort()), connectTimeoutMs);
  const armStall = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((timeoutReason = 'stall'), controller.abort()), stallTimeoutMs);
  };

  const fail = (err: unknown, receivedBytes: number): DownloadError => {
    if (err instanceof DownloadError) return err;
    if (o.signal?.aborted) return new DownloadError('aborted', `download of ${name} aborted`, { cause: err });
    if (timeoutReason === 'connect') {
      return new DownloadError('timeout', `no answer from ${hostOf(o.url)} within ${seconds(connectTimeoutMs)}`, { cause: err });
    }
    if (timeoutReason === 'stall') {
      return new DownloadError('timeout', `download of ${name} stalled: nothing received for ${seconds(stallTimeoutMs)} (kept ${(receivedBytes / MB).toFixed(1)} MB to resume)`, { cause: err });
    }
    const kept = receivedBytes > 0 ? ` (kept ${(receivedBytes / MB).toFixed(1)} MB to resume)` : '';
    return new DownloadError('network', `cannot download ${name} from ${hostOf(o.url)}: ${describeCause(err)}${kept}`, { cause: err });
  };

  let receivedBytes = have;
  try {
    // identity: a transparently decompressed body would not match Content-Length or byte ranges.
    const headers: Record<string, string> = { 'user-agent': 'duet-transcribe-models', 'accept-encoding': 'identity' };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      if (meta?.validator) headers['if-range'] = meta.validator;
    }
    let res: Response;
    try {
      res = await fetchChecked(fetchImpl, o, { headers, signal: controller.signal }, name);
    } catch (err) {
      throw fail(err, 0);
    }

    if (res.status === 416 && have > 0) {
      // Nothing left to send: the partial file is complete, or larger than the remote file.
      await res.body?.cancel().catch(() => undefined);
      const total = /\*\/(\d+)/.exec(res.headers.get('content-range') ?? '')?.[1];
      if (total !== undefined && Number(total) === have) return await finish(o, have, have);
      // Larger than the remote file: it cannot be a prefix of it. Start over.
      await discardPartial(o.dest);
      return await attemptDownload(o);
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      throw new DownloadError('not_found', `${name} not found (HTTP 404) at ${o.url}`, { status: 404 });
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel().catch(() => undefined);
      throw new DownloadError('http', `cannot download ${name}: HTTP ${res.status} ${res.statusText} from ${hostOf(res.url || o.url)}`, { status: res.status });
    }

    let resumedFrom = 0;
    if (res.status === 206) {
      const m = /bytes (\d+)-\d+\/(\d+|\*)/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel().catch(() => undefined);
        await discardPartial(o.dest);
        return await attemptDownload(o);
      }
      resumedFrom = have;
    }
    // A 200 to a range request means the server ignored it (or the file changed): start over.
    const length = Number(res.headers.get('content-length'));
    const totalBytes = Number.isFinite(length) && res.headers.get('content-length') !== null ? resumedFrom + length : (o.expectedSize ?? null);
    // Never write more than the file can be: a host (or whoever sits on the path) that sends
    // an endless or oversized body is cut off, not allowed to fill the disk.
    const capBytes = o.expectedSize ?? o.maxBytes ?? DEFAULT_MAX_BYTES;
    if (totalBytes !== null && totalBytes > capBytes) {
      await res.body?.cancel().catch(() => undefined);
      await discardPartial(o.dest);
      throw new DownloadError('size', `${name}: the server announces ${totalBytes} bytes, more than the ${capBytes} expected; refused`);
    }
    if (resumedFrom === 0) {
      const validator = res.headers.get('etag') ?? res.headers.get('last-modified');
      await writeFile(metaPath(o.dest), JSON.stringify({ url: o.url, validator } satisfies PartialMeta));
    }
    if (!res.body) throw new DownloadError('http', `empty response body for ${name}`);

    const fh = await open(partial, resumedFrom > 0 ? 'a' : 'w');
    receivedBytes = resumedFrom;
    const started = Date.now();
    let lastReport = 0;
    const report = (done: boolean) => {
      if (!o.onProgress) return;
      const now = Date.now();
      if (!done && now - lastReport < progressIntervalMs) return;
      lastReport = now;
      const elapsedS = (now - started) / 1000;
      const bytesPerSecond = elapsedS > 0.05 ? (receivedBytes - resumedFrom) / elapsedS : 0;
      const etaS = totalBytes !== null && bytesPerSecond > 0 ? Math.max(0, (totalBytes - receivedBytes) / bytesPerSecond) : null;
      o.onProgress({ receivedBytes, totalBytes, resumedFromBytes: resumedFrom, bytesPerSecond, etaS, done });
    };
    try {
      armStall();
      report(false);
      const reader = res.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw fail(err, receivedBytes);
        }
        if (chunk.done) break;
        armStall();
        if (receivedBytes + chunk.value.length > capBytes) {
          await reader.cancel().catch(() => undefined);
          throw new DownloadError('size', `${name}: the server sent more than the ${capBytes} bytes expected; aborted and the partial file removed`);
        }
        await fh.write(chunk.value);
        receivedBytes += chunk.value.length;
        report(false);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    clearTimeout(timer);
    if (totalBytes !== null && receivedBytes < totalBytes) {
      throw new DownloadError('network', `connection to ${hostOf(o.url)} closed early: ${name} has ${receivedBytes} of ${totalBytes} bytes (kept to resume)`);
    }
    report(true);
    return await finish(o, receivedBytes, resumedFrom);
  } catch (err) {
    // An oversized body is not a prefix worth resuming.
    if (err instanceof DownloadError && err.code === 'size') await discardPartial(o.dest);
    // Fetch and body errors are already classified; a timeout or abort may surface elsewhere.
    if (err instanceof DownloadError || !controller.signal.aborted) throw err;
    throw fail(err, receivedBytes);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onUserAbort);
  }
}

/** Hashes the complete partial file, checks it, renames it into place. */
async function finish(o: DownloadOptions, bytes: number, resumedFromBytes: number): Promise<DownloadResult> {
  const partial = partialPath(o.dest);
  const name = basename(o.dest);
  if (o.expectedSize !== undefined && bytes !== o.expectedSize) {
    await discardPartial(o.dest);
    throw new DownloadError('size', `${name} has ${bytes} bytes, expected ${o.expectedSize}; the partial file was removed, run again`);
  }
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  await hashExisting(partial, [sha256, sha1]);
  const got = { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
  for (const algo of ['sha256', 'sha1'] as const) {
    const want = o[algo]?.toLowerCase();
    if (want && want !== got[algo]) {
      await discardPartial(o.dest);
      throw new DownloadError(
        'checksum',
        `${algo === 'sha256' ? 'SHA-256' : 'SHA-1'} mismatch for ${name}: expected ${want}, got ${got[algo]}. The download is corrupt or was tampered with; the partial file was removed.`,
      );
    }
  }
  await rename(partial, o.dest);
  await rm(metaPath(o.dest), { force: true });
  return { path: o.dest, bytes, sha256: got.sha256, sha1: got.sha1, resumedFromBytes };
}

/** SHA-256 of a whole file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await hashExisting(path, [h]);
  return h.digest('hex');
}

// ---- trust on first use ---------------------------------------------------------------------

/** `checksums.json` in the models folder: file name → SHA-256 of its first complete download. */
export const CHECKSUMS_FILE = 'checksums.json';

export type ChecksumRecord = Record<string, { sha256: string; bytes: number; url: string; recordedAt: string }>;

export async function readChecksums(modelsDir: string): Promise<ChecksumRecord> {
  try {
    return JSON.parse(await readFile(join(modelsDir, CHECKSUMS_FILE), 'utf8')) as ChecksumRecord;
  } catch {
    return {};
  }
}

/** Records a file's hash (first complete download). */
export async function recordChecksum(modelsDir: string, file: string, entry: { sha256: string; bytes: number; url: string }): Promise<void> {
  const all = await readChecksums(modelsDir);
  all[file] = { ...entry, recordedAt: new Date().toISOString() };
  const path = join(modelsDir, CHECKSUMS_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify(all, null, 2) + '\n');
  await rename(`${path}.tmp`, path);
}

// ---- progress display -----------------------------------------------------------------------

function formatDuration(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** One progress line, e.g. `ggml-base.bin  45.2%  64.0/141.1 MB  12.3 MB/s  ETA 0:06`; with a bar when `barWidth` > 0. */
export function formatProgress(label: string, p: DownloadProgress, barWidth = 0): string {
  const parts = [label];
  const mb = (b: number) => (b / MB).toFixed(1);
  if (p.totalBytes) {
    const frac = Math.min(1, p.receivedBytes / p.totalBytes);
    if (barWidth > 0) {
      const filled = Math.round(frac * barWidth);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`);
    }
    parts.push(`${(frac * 100).toFixed(1).padStart(5)}%`, `${mb(p.receivedBytes)}/${mb(p.totalBytes)} MB`);
  } else {
    parts.push(`${mb(p.receivedBytes)} MB`);
  }
  parts.push(`${mb(p.bytesPerSecond)} MB/s`);
  if (p.done) parts.push('done');
  else if (p.etaS !== null) parts.push(`ETA ${formatDuration(p.etaS)}`);
  if (p.resumedFromBytes > 0) parts.push(`(resumed at ${mb(p.resumedFromBytes)} MB)`);
  return parts.join('  ');
}

export interface ProgressRendererOptions {
  label: string;
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Defaults to `stream.isTTY`. */
  tty?: boolean;
  /** Interval between plain (non-TTY) lines, ms. Default 5 s. */
  plainIntervalMs?: number;
}

/**
 * A progress callback that redraws one line in place on a terminal, and prints a plain line
 * every few seconds (and at the end) when the output is a file or a pipe.
 */
export function createProgressRenderer(options: ProgressRendererOptions): (p: DownloadProgress) => void {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const plainIntervalMs = options.plainIntervalMs ?? 5000;
  let lastPlain = 0;
  return (p) => {
    if (tty) {
      const width = Math.max(40, Math.min(120, ('columns' in stream && stream.columns) || 80));
      const line = formatProgress(options.label, p, 24).slice(0, width - 1);
      stream.write(`\r${line}\x1b[K${p.done ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (p.done || now - lastPlain >= plainIntervalMs) {
      lastPlain = now;
      stream.write(formatProgress(options.label, p) + '\n');
    }
  };
}
