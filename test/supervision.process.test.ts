/**
 * Faults are never swallowed: an uncaught exception or unhandled rejection in the server ends
 * it with status 70 and a log line; `npm start` (scripts/start.mjs) restarts it with backoff
 * after such an exit, does not loop on a configuration error, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'duet-supervision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
}

function run(args: string[], env: Record<string, string>, opts: { killAfterLine?: RegExp; limitMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${opts.limitMs ?? 60_000} ms:\n${out}`));
    }, opts.limitMs ?? 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (opts.killAfterLine?.test(out)) {
        opts.killAfterLine = undefined;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('fatal faults in the server', () => {
  const serverEnv = {
    TLS_CERT: join(dir, 'fullchain.pem'),
    TLS_KEY: join(dir, 'privkey.pem'),
    ASR_MODEL: 'none',
    LOG_LEVEL: 'warn',
  };
  const mainArgs = ['--import', 'tsx', '--import', join(ROOT, 'test/helpers/throw-later.mjs'), join(ROOT, 'src/main.ts'), '--port=0', '--host=127.0.0.1'];

  it('an uncaught exception is logged and exits 70', async () => {
    const r = await run(mainArgs, { ...serverEnv, THROW_LATER: 'throw' });
    expect(r.out).toMatch(/fatal: uncaught exception: Error: planted exception/);
    expect(r.code).toBe(70);
  });

  it('an unhandled rejection is logged and exits 70', async () => {
    const r = await run(mainArgs, { ...serverEnv, THROW_LATER: 'reject' });
    expect(r.out).toMatch(/fatal: unhandled rejection: Error: planted rejection/);
    expect(r.code).toBe(70);
  });

  it('a setting out of range stops it at startup with the setting named, status 1', async () => {
    const r = await run([...mainArgs, '--silence-ms=5'], { ...serverEnv, THROW_LATER_MS: '600000' });
    expect(r.out).toMatch(/invalid configuration: SILENCE_MS: must be between 32 and 10000 ms \(got "5"\)/);
    expect(r.code).toBe(1);
  });
});

describe('scripts/start.mjs', () => {
  const startArgs = [join(ROOT, 'scripts/start.mjs')];
  const base = { DUET_SKIP_PREPARE: '1', DUET_SERVER_SCRIPT: 'test/helpers/flaky-server.mjs', DUET_RESTART_FIRST_MS: '100' };

  it('restarts a crashed server with a growing delay, and stops with it on SIGTERM', async () => {
    const counter = join(dir, 'count-crash');
    const r = await run(startArgs, { ...base, FLAKY_COUNTER: counter, FLAKY_CRASHES: '2' }, { killAfterLine: /flaky: start 3/ });
    expect(r.out).toMatch(/server exited unexpectedly \(status 70\) .* restarting in 0\.1 s/);
    expect(r.out).toMatch(/server exited unexpectedly \(status 70\) .* restarting in 0\.2 s/);
    expect(r.out).toContain('flaky: SIGTERM');
    expect(readFileSync(counter, 'utf8')).toBe('3');
    expect(r.code).toBe(0);
  });

  it('does not loop on a configuration error', async () => {
    const counter = join(dir, 'count-config');
    const r = await run(startArgs, { ...base, FLAKY_COUNTER: counter, FLAKY_CONFIG_ERROR: '1' });
    expect(r.out).toMatch(/not restarting/);
    expect(readFileSync(counter, 'utf8')).toBe('1');
    expect(r.code).toBe(1);
  });
});
