/** `ensureModels` (scripts/models.ts) against a local HTTP server: what is fetched, when, and trust on first use. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureModels, type EnsureModelsOptions } from './ensure-models.js';
import { createLogger } from '../log.js';
import { CHECKSUMS_FILE } from './download.js';

let server: Server;
let base: string;
const files = new Map<string, Buffer>();
let hits: string[] = [];
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    hits.push(name);
    const body = files.get(name);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  hits = [];
  files.clear();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = mkdtempSync(join(tmpdir(), 'duet-models-'));
});

function run(config: Partial<Parameters<typeof ensureModels>[0]>, extra: Partial<EnsureModelsOptions> = {}) {
  const lines: string[] = [];
  const log = createLogger('debug', 'models', (l) => lines.push(l));
  const full = { MODELS_DIR: dir, ASR_MODEL: 'custom', ASR_MODEL_PATH: '', SPEAKER_ENCODER: 'auto' as const, SPEAKER_MODEL: 'spk.onnx', ...config };
  // The catalog's hosts are replaced by the loopback test server (plain http allowed for it).
  const downloadOptions = { allow: { hosts: ['127.0.0.1'], http: true } };
  return ensureModels(full, { log, progressStream: null, urlFor: (e) => `${base}/${e.file}`, downloadOptions, trustOnFirstUse: true, ...extra }).then((r) => ({ r, lines }));
}

describe('ensureModels', () => {
  it('refuses a model with no published checksum unless trust on first use is asked for', async () => {
    const { r, lines } = await run({ ASR_MODEL: 'none', SPEAKER_ENCODER: 'neural' }, { trustOnFirstUse: false });
    expect(r.speaker.state).toBe('failed');
    expect(r.speaker.reason).toMatch(/no checksum is published for spk\.onnx.*refusing it.*--trust-on-first-use/);
    expect(existsSync(join(dir, 'spk.onnx'))).toBe(false);
    expect(lines.join('\n')).not.toMatch(/downloading spk\.onnx/);
  });

  it('downloads the Whisper model; leaves the speaker model alone under auto', async () => {
    files.set('ggml-custom.bin', randomBytes(5000));
    const { r } = await run({});
    expect(r.asr.state).toBe('downloaded');
    expect(r.speaker.state).toBe('missing');
    expect(r.ok).toBe(true);
    expect(hits).toEqual(['ggml-custom.bin']);
    expect(readFileSync(join(dir, 'ggml-custom.bin')).equals(files.get('ggml-custom.bin')!)).toBe(true);
  });

  it('fetches the speaker model under neural, with --speaker, or with --all', async () => {
    files.set('ggml-custom.bin', randomBytes(100));
    files.set('spk.onnx', randomBytes(100));
    expect((await run({ SPEAKER_ENCODER: 'neural' })).r.speaker.state).toBe('downloaded');
    unlinkSync(join(dir, 'spk.onnx'));
    expect((await run({}, { speaker: true })).r.speaker.state).toBe('downloaded');
    unlinkSync(join(dir, 'spk.onnx'));
    expect((await run({}, { all: true })).r.speaker.state).toBe('downloaded');
    expect((await run({ SPEAKER_ENCODER: 'builtin' }, { all: true })).r.speaker.state).toBe('present');
  });

  it('does nothing for present files, ASR_MODEL=none or the built-in encoder', async () => {
    writeFileSync(join(dir, 'ggml-custom.bin'), 'x');
    expect((await run({})).r.asr.state).toBe('present');
    const { r } = await run({ ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin' });
    expect(r.asr.state).toBe('disabled');
    expect(r.speaker.state).toBe('disabled');
    expect(r.ok).toBe(true);
    expect(hits).toEqual([]);
  });

  it('records the first download of a model with no published checksum, and enforces it later', async () => {
    const first = randomBytes(3000);
    files.set('ggml-custom.bin', randomBytes(10));
    files.set('spk.onnx', first);
    const { r, lines } = await run({ SPEAKER_ENCODER: 'neural' });
    expect(r.speaker.state).toBe('downloaded');
    const sha = createHash('sha256').update(first).digest('hex');
    const record = JSON.parse(readFileSync(join(dir, CHECKSUMS_FILE), 'utf8')) as Record<string, { sha256: string }>;
    expect(record['spk.onnx']!.sha256).toBe(sha);
    expect(lines.some((l) => l.includes(`SHA-256 ${sha}`) && l.includes('trust on first use'))).toBe(true);

    // The same file again: accepted. A different one: rejected and not kept.
    unlinkSync(join(dir, 'spk.onnx'));
    expect((await run({ SPEAKER_ENCODER: 'neural' })).r.speaker.state).toBe('downloaded');
    unlinkSync(join(dir, 'spk.onnx'));
    files.set('spk.onnx', randomBytes(3000));
    const again = await run({ SPEAKER_ENCODER: 'neural' });
    expect(again.r.speaker.state).toBe('failed');
    expect(again.r.speaker.reason).toMatch(/SHA-256 mismatch/);
    expect(again.r.ok).toBe(false);
    expect(existsSync(join(dir, 'spk.onnx'))).toBe(false);
  });

  it('verifies catalog models against their published size and checksum', async () => {
    files.set('ggml-tiny.bin', randomBytes(1000));
    const { r } = await run({ ASR_MODEL: 'tiny' });
    expect(r.asr.state).toBe('failed');
    expect(r.asr.reason).toMatch(/ggml-tiny\.bin has 1000 bytes, expected 77691713/);
    expect(existsSync(join(dir, 'ggml-tiny.bin'))).toBe(false);
  });

  it('offline: fails fast, marks it, and does not try the next model', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const t0 = Date.now();
    const { r } = await run({ SPEAKER_ENCODER: 'neural' }, { urlFor: (e) => `http://127.0.0.1:${port}/${e.file}` });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.offline).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.asr.state).toBe('failed');
    expect(r.speaker).toMatchObject({ state: 'missing', reason: 'skipped: the network is unreachable' });
  });

  it('reports a missing ASR_MODEL_PATH without downloading', async () => {
    const { r } = await run({ ASR_MODEL_PATH: join(dir, 'nowhere.bin') });
    expect(r.asr.state).toBe('missing');
    expect(r.asr.reason).toMatch(/never downloaded/);
    expect(hits).toEqual([]);
  });
});
