import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createProgressRenderer,
  DownloadError,
  downloadFile,
  formatProgress,
  partialPath,
  readChecksums,
  recordChecksum,
  type DownloadProgress,
} from './download.js';

/** The loopback test server stands in for the catalog's hosts; plain http is allowed for it. */
const LOCAL = { allow: { hosts: ['127.0.0.1'], http: true } };
const DATA = randomBytes(1024 * 1024 + 123);
const SHA256 = createHash('sha256').update(DATA).digest('hex');
const SHA1 = createHash('sha1').update(DATA).digest('hex');
const ETAG = '"v1"';

interface Hit {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
}

let server: Server;
let base: string;
let hits: Hit[] = [];
/** Paths whose next request is cut off midway. */
const dropNext = new Set<string>();
let dir: string;

/** Serves DATA, honouring `Range` (and `If-Range` against ETAG). */
function serveRange(req: IncomingMessage, res: ServerResponse): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const validatorOk = !req.headers['if-range'] || req.headers['if-range'] === ETAG;
  if (range && validatorOk) {
    const start = Number(range[1]);
    if (start >= DATA.length) {
      res.writeHead(416, { 'content-range': `bytes */${DATA.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}`,
      'content-length': DATA.length - start,
      etag: ETAG,
    });
    res.end(DATA.subarray(start));
    return;
  }
  res.writeHead(200, { 'content-length': DATA.length, etag: ETAG });
  res.end(DATA);
}

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  hits.push({ path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
  if (dropNext.has(path)) {
    // Promise the whole file, send ~40 % of it, then cut the connection.
    dropNext.delete(path);
    res.writeHead(200, { 'content-length': DATA.length, etag: ETAG });
    res.write(DATA.subarray(0, 400_000), () => setTimeout(() => res.socket?.destroy(), 50));
    return;
  }
  switch (path) {
    case '/file.bin':
      return serveRange(req, res);
    case '/norange.bin':
      res.writeHead(200, { 'content-length': DATA.length });
      res.end(DATA);
      return;
    case '/redirect.bin':
      res.writeHead(302, { location: `${base}/hop.bin` }).end();
      return;
    case '/hop.bin':
      res.writeHead(301, { location: '/file.bin' }).end();
      return;
    case '/away.bin':
      res.writeHead(302, { location: 'http://localhost:1/file.bin' }).end();
      return;
    case '/loop.bin':
      res.writeHead(302, { location: '/loop.bin' }).end();
      return;
    case '/endless.bin':
      // No length announced, and more bytes than the caller expects.
      res.writeHead(200);
      res.write(DATA);
      res.end(DATA);
      return;
    case '/big.bin':
      res.writeHead(200, { 'content-length': 10 * DATA.length });
      res.write(DATA.subarray(0, 1000));
      return;
    case '/stall.bin':
      res.writeHead(200, { 'content-length': DATA.length });
      res.write(DATA.subarray(0, 10_000));
      return; // and never another byte
    case '/silent.bin':
      return; // never answers
    default:
      res.writeHead(404).end('not found');
  }
}

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  hits = [];
  dropNext.clear();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = mkdtempSync(join(tmpdir(), 'duet-dl-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('downloads, verifies, renames, and reports progress', async () => {
    const dest = join(dir, 'model.bin');
    const seen: DownloadProgress[] = [];
    const r = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256, sha1: SHA1, onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
    expect(r).toMatchObject({ path: dest, bytes: DATA.length, sha256: SHA256, sha1: SHA1, resumedFromBytes: 0 });
    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(existsSync(partialPath(dest))).toBe(false);
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.receivedBytes).toBeGreaterThanOrEqual(seen[i - 1]!.receivedBytes);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ done: true, receivedBytes: DATA.length, totalBytes: DATA.length });
    expect(seen.slice(0, -1).every((p) => !p.done)).toBe(true);
  });

  it('resumes after the server drops the connection midway (second run)', async () => {
    const dest = join(dir, 'model.bin');
    dropNext.add('/file.bin');
    const err = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256, retries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).code).toBe('network');
    expect((err as DownloadError).message).toMatch(/kept .* MB to resume/);
    const kept = statSync(partialPath(dest)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(DATA.length);

    const r = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256 });
    expect(r.resumedFromBytes).toBe(kept);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(hits.at(-1)).toEqual({ path: '/file.bin', range: `bytes=${kept}-`, ifRange: ETAG });
  });

  it('resumes by itself within one call when a transfer breaks', async () => {
    const dest = join(dir, 'model.bin');
    dropNext.add('/file.bin');
    const r = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256 });
    expect(r.resumedFromBytes).toBeGreaterThan(0);
    expect(hits).toHaveLength(2);
    expect(hits[1]!.range).toBe(`bytes=${r.resumedFromBytes}-`);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('restarts from zero when the server ignores Range', async () => {
    const dest = join(dir, 'model.bin');
    writeFileSync(partialPath(dest), DATA.subarray(0, 300_000));
    const r = await downloadFile({ ...LOCAL, url: `${base}/norange.bin`, dest, sha256: SHA256 });
    expect(hits[0]!.range).toBe('bytes=300000-');
    expect(r.resumedFromBytes).toBe(0);
    expect(r.bytes).toBe(DATA.length);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('restarts from zero when the partial file does not match the remote one (If-Range)', async () => {
    const dest = join(dir, 'model.bin');
    writeFileSync(partialPath(dest), Buffer.alloc(300_000, 7));
    writeFileSync(`${dest}.partial.json`, JSON.stringify({ url: `${base}/file.bin`, validator: '"old"' }));
    const r = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256 });
    expect(hits[0]!.ifRange).toBe('"old"');
    expect(r.resumedFromBytes).toBe(0);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('finishes a partial file that is already complete (416)', async () => {
    const dest = join(dir, 'model.bin');
    writeFileSync(partialPath(dest), DATA);
    const r = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256 });
    expect(hits[0]!.range).toBe(`bytes=${DATA.length}-`);
    expect(r.bytes).toBe(DATA.length);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it('finishes a complete partial file of known size without the network', async () => {
    const dest = join(dir, 'model.bin');
    writeFileSync(partialPath(dest), DATA);
    const r = await downloadFile({ ...LOCAL, url: 'http://127.0.0.1:9/unreachable.bin', dest, sha256: SHA256, expectedSize: DATA.length });
    expect(r.bytes).toBe(DATA.length);
    expect(hits).toHaveLength(0);
  });

  it('rejects a checksum mismatch, removes the partial file, keeps no destination', async () => {
    const dest = join(dir, 'model.bin');
    const wrong = 'f'.repeat(64);
    const err = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).code).toBe('checksum');
    expect((err as DownloadError).message).toContain(`expected ${wrong}, got ${SHA256}`);
    expect(existsSync(partialPath(dest))).toBe(false);
    expect(existsSync(dest)).toBe(false);
  });

  it('checks the checksum over the resumed part too', async () => {
    const dest = join(dir, 'model.bin');
    // A corrupt prefix that the server will happily continue after.
    writeFileSync(partialPath(dest), Buffer.alloc(200_000, 1));
    const err = await downloadFile({ ...LOCAL, url: `${base}/file.bin`, dest, sha256: SHA256 }).catch((e: unknown) => e);
    expect((err as DownloadError).code).toBe('checksum');
    expect(existsSync(partialPath(dest))).toBe(false);
  });

  it('fails clearly on 404', async () => {
    const dest = join(dir, 'model.bin');
    const err = await downloadFile({ ...LOCAL, url: `${base}/nope.bin`, dest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).toMatchObject({ code: 'not_found', status: 404, offline: false });
    expect((err as Error).message).toContain('404');
    expect(existsSync(dest)).toBe(false);
  });

  it('follows redirects (absolute and relative)', async () => {
    const dest = join(dir, 'model.bin');
    const r = await downloadFile({ ...LOCAL, url: `${base}/redirect.bin`, dest, sha256: SHA256 });
    expect(r.bytes).toBe(DATA.length);
    expect(hits.map((h) => h.path)).toEqual(['/redirect.bin', '/hop.bin', '/file.bin']);
  });

  it('keeps the Range header across redirects when resuming', async () => {
    const dest = join(dir, 'model.bin');
    writeFileSync(partialPath(dest), DATA.subarray(0, 500_000));
    const r = await downloadFile({ ...LOCAL, url: `${base}/redirect.bin`, dest, sha256: SHA256 });
    expect(hits.at(-1)).toMatchObject({ path: '/file.bin', range: 'bytes=500000-' });
    expect(r.resumedFromBytes).toBe(500_000);
  });

  it('fails fast when the connection is refused', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const t0 = Date.now();
    const err = await downloadFile({ ...LOCAL, url: `http://127.0.0.1:${port}/model.bin`, dest: join(dir, 'model.bin') }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).toMatchObject({ code: 'network', offline: true });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('times out when the server never answers', async () => {
    const t0 = Date.now();
    const err = await downloadFile({ ...LOCAL, url: `${base}/silent.bin`, dest: join(dir, 'model.bin'), connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toMatchObject({ code: 'timeout', offline: true });
    expect((err as Error).message).toMatch(/^no answer from 127\.0\.0\.1:\d+ within 0\.3 s$/);
  });

  it('times out when the transfer stalls, keeping what arrived', async () => {
    const dest = join(dir, 'model.bin');
    const err = await downloadFile({ ...LOCAL, url: `${base}/stall.bin`, dest, stallTimeoutMs: 300, retries: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout' });
    expect((err as Error).message).toContain('stalled');
    expect(statSync(partialPath(dest)).size).toBe(10_000);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const p = downloadFile({ ...LOCAL, url: `${base}/silent.bin`, dest: join(dir, 'model.bin'), signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('trust on first use', () => {
  it('records and reads back checksums', async () => {
    expect(await readChecksums(dir)).toEqual({});
    await recordChecksum(dir, 'a.onnx', { sha256: SHA256, bytes: 3, url: 'u' });
    const all = await readChecksums(dir);
    expect(all['a.onnx']).toMatchObject({ sha256: SHA256, bytes: 3, url: 'u' });
  });
});

describe('progress display', () => {
  const p: DownloadProgress = { receivedBytes: 64 * 1024 * 1024, totalBytes: 128 * 1024 * 1024, resumedFromBytes: 0, bytesPerSecond: 8 * 1024 * 1024, etaS: 8, done: false };

  it('formats percent, MB, MB/s and ETA', () => {
    expect(formatProgress('ggml-base.bin', p)).toBe('ggml-base.bin   50.0%  64.0/128.0 MB  8.0 MB/s  ETA 0:08');
    expect(formatProgress('x', p, 10)).toContain('[#####-----]');
    expect(formatProgress('x', { ...p, totalBytes: null, etaS: null })).toBe('x  64.0 MB  8.0 MB/s');
  });

  it('redraws in place on a TTY and prints plain lines otherwise', () => {
    const tty: string[] = [];
    const render = createProgressRenderer({ label: 'm', stream: { write: (s: string) => tty.push(s), isTTY: true, columns: 100 } });
    render(p);
    render({ ...p, receivedBytes: p.totalBytes!, done: true });
    expect(tty[0]!.startsWith('\r')).toBe(true);
    expect(tty[1]!.endsWith('\n')).toBe(true);

    const plain: string[] = [];
    const renderPlain = createProgressRenderer({ label: 'm', stream: { write: (s: string) => plain.push(s) }, plainIntervalMs: 60_000 });
    renderPlain(p);
    renderPlain(p);
    renderPlain({ ...p, done: true });
    expect(plain).toHaveLength(2);
    expect(plain.every((l) => !l.includes('\r') && l.endsWith('\n'))).toBe(true);
  });
});

describe('download sources and limits', () => {
  it('is https only: plain http is refused unless allowed, before any request', async () => {
    const dest = join(dir, 'model.bin');
    hits.length = 0;
    const err = await downloadFile({ allow: { hosts: ['127.0.0.1'] }, url: `${base}/file.bin`, dest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).toMatchObject({ code: 'refused' });
    expect((err as Error).message).toMatch(/over http \(https only\)/);
    expect(hits).toEqual([]);
  });

  it('refuses a host not in the list, for the URL and for a redirect', async () => {
    const dest = join(dir, 'model.bin');
    const first = await downloadFile({ allow: { hosts: ['huggingface.co'], http: true }, url: `${base}/file.bin`, dest }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'refused' });
    expect((first as Error).message).toMatch(/not one of the catalog's hosts \(huggingface\.co\)/);
    const hop = await downloadFile({ ...LOCAL, url: `${base}/away.bin`, dest }).catch((e: unknown) => e);
    expect(hop).toMatchObject({ code: 'refused' });
    expect((hop as Error).message).toMatch(/from localhost:1/);
    expect(existsSync(dest)).toBe(false);
  });

  it('follows a bounded number of redirects', async () => {
    const err = await downloadFile({ ...LOCAL, url: `${base}/loop.bin`, dest: join(dir, 'model.bin') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'refused' });
    expect((err as Error).message).toMatch(/more than 5 redirects/);
  });

  it('aborts a body past the expected size and removes the partial file', async () => {
    const dest = join(dir, 'model.bin');
    const err = await downloadFile({ ...LOCAL, url: `${base}/endless.bin`, dest, expectedSize: DATA.length, retries: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'size' });
    expect((err as Error).message).toMatch(/sent more than/);
    expect(existsSync(partialPath(dest))).toBe(false);
    const capped = await downloadFile({ ...LOCAL, url: `${base}/endless.bin`, dest, maxBytes: 1000 }).catch((e: unknown) => e);
    expect(capped).toMatchObject({ code: 'size' });
  });

  it('refuses an announced length above the expected size before reading the body', async () => {
    const dest = join(dir, 'model.bin');
    const err = await downloadFile({ ...LOCAL, url: `${base}/big.bin`, dest, expectedSize: DATA.length }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'size' });
    expect((err as Error).message).toMatch(/announces/);
    expect(existsSync(partialPath(dest))).toBe(false);
  });
});
