/**
 * The real composition root as a child process: it prints a link with a generated token,
 * serves it, reloads certificates on SIGHUP, and exits cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/paths.js';
import { ProtocolClient } from '../src/testing/client.js';
import { loadOrCreateTls } from '../src/transport/certs.js';
import { presentedFingerprint } from './helpers/server.js';


describe('npm run serve (src/main.ts) as a process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-main-'));
  let child: ChildProcess | null = null;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a token link, serves it, reloads TLS on SIGHUP and stops on SIGTERM', async () => {
    const cert = join(dir, 'fullchain.pem');
    const key = join(dir, 'privkey.pem');
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), '--port=0', '--host=127.0.0.1'], {
      cwd: ROOT,
      env: { ...process.env, TLS_CERT: cert, TLS_KEY: key, DATA_DIR: join(dir, 'data'), ASR_MODEL: 'none', LOG_LEVEL: 'info', ACCESS_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const link = await new Promise<URL>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no link printed:\n${out}\n${err}`)), 60_000);
      const poll = setInterval(() => {
        const m = /Open:\s+(https:\/\/\S+)/.exec(out);
        if (m) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve(new URL(m[1]!));
        }
      }, 50);
    });
    // The start-up summary box: mode (and why there is no text), models, data folder.
    expect(out).toMatch(/│ Mode: +speakers only, no text +│/);
    expect(out).toMatch(/│ Why: +Speech recognition is turned off \(ASR_MODEL=none\)/);
    expect(out).toMatch(/│ Models: +speech none · voices \S+ · VAD silero-v4 +│/);
    expect(out).toContain(`Data:    ${join(dir, 'data')}`);
    const token = link.searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const port = Number(link.port);
    expect(err).toContain('generated a self-signed certificate');

    const client = await ProtocolClient.connect({ url: `https://127.0.0.1:${port}/`, token });
    expect(client.messages[0]).toMatchObject({ type: 'model_loaded', models: { asr: null, vad: 'silero-v4' } });

    const before = await presentedFingerprint(port);
    const next = await loadOrCreateTls(join(dir, 'next/fullchain.pem'), join(dir, 'next/privkey.pem'));
    writeFileSync(cert, next.cert);
    writeFileSync(key, next.key);
    child.kill('SIGHUP');
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await presentedFingerprint(port);
    }
    expect(after).not.toBe(before);
    await client.close();

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('TLS certificate reloaded');
    child = null;
  });
});
