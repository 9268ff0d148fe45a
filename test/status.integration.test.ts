/**
 * GET /healthz (no token: only ok / degraded) and GET /api/status (token: the engine, models,
 * speaker encoder, queue, sessions and storage) over a real HTTPS server on port 0.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AsrHealth } from '../src/asr/availability.js';
import { locateWhisperBuild, hasWhisperServer } from '../src/asr/whisper-build.js';
import type { RunningServer } from '../src/server.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

interface Report {
  status: 'ok' | 'degraded';
  uptimeS: number;
  engine: { ok: boolean; state: string; reason: string; message: string; hint: string | null; name: string | null };
  models: { ok: boolean; asr: string | null; speaker: string; vad: string };
  speakerEncoder: { ok: boolean; name: string; kind: string; configured: string; hint: string | null };
  queue: { ok: boolean; pending: number; max: number; busy: boolean; lanes: number };
  sessions: { ok: boolean; open: number; max: number };
  storage: { ok: boolean; state: string; dir: string; freeMiB?: number };
  [section: string]: unknown;
}

const servers: RunningServer[] = [];
const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
async function start(...args: Parameters<typeof startTestServer>): Promise<RunningServer> {
  const s = await startTestServer(...args);
  servers.push(s);
  return s;
}
const healthz = async (s: RunningServer) => {
  const r = await api(s.url, '', 'GET', '/healthz', undefined, { auth: false });
  expect(r.text.endsWith('\n')).toBe(true);
  return { status: r.status, text: r.text.trim() };
};
const report = async (s: RunningServer) => {
  const r = await api(s.url, s.token, 'GET', '/api/status');
  expect(r.status).toBe(200);
  expect(r.headers['cache-control']).toBe('no-store');
  return r.json<Report>();
};

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('/healthz and /api/status', () => {
  it('speakers only on purpose (ASR_MODEL=none) is ok; the status needs the token', async () => {
    const s = await start({ ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', MAX_SESSIONS: 3 });
    expect(await healthz(s)).toEqual({ status: 200, text: 'ok' });
    expect((await api(s.url, '', 'GET', '/api/status', undefined, { auth: false })).status).toBe(401);
    expect((await api(s.url, 'wrong-token-wrong-token', 'GET', '/api/status')).status).toBe(401);
    const r = await report(s);
    expect(r.status).toBe('ok');
    expect(r.engine).toMatchObject({ ok: true, state: 'none', reason: 'disabled', hint: null, name: null });
    expect(r.models).toEqual({ ok: true, asr: null, speaker: 'builtin-mfcc-lda', vad: 'silero-v4' });
    expect(r.speakerEncoder).toEqual({ ok: true, name: 'builtin-mfcc-lda', kind: 'builtin', configured: 'builtin', hint: null });
    expect(r.queue).toEqual({ ok: true, pending: 0, max: 64, busy: false, lanes: 0 });
    expect(r.sessions).toEqual({ ok: true, open: 0, max: 3 });
    expect(r.storage).toMatchObject({ ok: true, state: 'ok' });
    expect(r.storage.freeMiB).toBeGreaterThan(0);
    expect(Object.keys(r)).toEqual(['status', 'uptimeS', 'engine', 'models', 'speakerEncoder', 'queue', 'sessions', 'storage', 'notifications']);
  });

  it('a missing model: degraded, and the status says why and what to run', async () => {
    const models = tmp('duet-no-models-');
    const s = await start({ ASR_MODEL: 'base', MODELS_DIR: models, SPEAKER_ENCODER: 'auto' });
    const h = await healthz(s);
    // Nothing an outsider could use: one word.
    expect(h).toEqual({ status: 200, text: 'degraded' });
    const r = await report(s);
    expect(r.status).toBe('degraded');
    expect(r.engine).toMatchObject({ ok: false, state: 'none', reason: 'model_missing', hint: 'npm run models', name: null });
    expect(r.engine.message).toMatch(/No speech recognition model is installed/);
    expect(r.engine.message).not.toContain(models);
    // No neural speaker model either: the built-in encoder serves, with the command to get one.
    expect(r.speakerEncoder).toMatchObject({ kind: 'builtin', configured: 'auto', hint: 'npm run models -- --speaker --trust-on-first-use' });
  });

  it('whisper.cpp not built: says to build it', async () => {
    const models = tmp('duet-models-');
    writeFileSync(join(models, 'ggml-base.bin'), 'not a model');
    const s = await start({ ASR_MODEL: 'base', MODELS_DIR: models, WHISPER_BUILD_DIR: join(models, 'no-build') });
    const r = await report(s);
    expect(r.engine).toMatchObject({ state: 'none', reason: 'build_missing', hint: 'npm run build:whisper' });
    expect((await healthz(s)).text).toBe('degraded');
  });

  it.skipIf(!hasWhisperServer(locateWhisperBuild('build/whisper')) && !process.env.CI)('an engine that fails to load: load_failed', async () => {
    const models = tmp('duet-models-');
    writeFileSync(join(models, 'ggml-base.bin'), 'not a model');
    const s = await start({ ASR_MODEL: 'base', MODELS_DIR: models });
    const r = await report(s);
    expect(r.engine).toMatchObject({ ok: false, state: 'none', reason: 'load_failed' });
  });

  it('an engine that is up, then down: the engine section follows it', async () => {
    const engine = new FakeAsrEngine() as FakeAsrEngine & { health(): AsrHealth };
    let health: AsrHealth = { up: true, reason: 'running', message: 'fine' };
    engine.health = () => health;
    const s = await start({}, { asr: engine });
    let r = await report(s);
    expect(r.status).toBe('ok');
    expect(r.engine).toMatchObject({ ok: true, state: 'up', reason: 'running', name: 'fake asr', hint: null });
    expect(await healthz(s)).toEqual({ status: 200, text: 'ok' });
    health = { up: false, reason: 'restarting', message: 'whisper-server is being restarted after 2 failure(s)' };
    r = await report(s);
    expect(r.engine).toMatchObject({ ok: false, state: 'down', reason: 'restarting' });
    // /healthz reuses a report for up to a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await healthz(s)).text).toBe('degraded');
  });

  it('storage that went away is degraded', async () => {
    const data = tmp('duet-data-');
    const s = await start({ DATA_DIR: data });
    expect((await report(s)).storage).toMatchObject({ ok: true, state: 'ok', dir: data });
    rmSync(data, { recursive: true, force: true });
    expect(existsSync(data)).toBe(false);
    const r = await report(s);
    expect(r.storage).toMatchObject({ ok: false, state: 'missing' });
    expect(r.status).toBe('degraded');
  });

  it('takes sections from other parts, and a failing one degrades without breaking the report', async () => {
    const s = await start();
    // The notifier's own section is there from the start (nothing configured: both channels off).
    expect((await report(s)).notifications).toMatchObject({ ok: true, webhook: { enabled: false }, email: { enabled: false } });
    s.status.register('backup', () => ({ ok: true, state: 'idle' }));
    expect((await report(s)).backup).toEqual({ ok: true, state: 'idle' });
    s.status.register('broken', () => {
      throw new Error('secret detail');
    });
    const r = await report(s);
    expect(r.broken).toEqual({ ok: false, state: 'error', reason: 'probe_failed' });
    expect(JSON.stringify(r)).not.toContain('secret detail');
  });
});
