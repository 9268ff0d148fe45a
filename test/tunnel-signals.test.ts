/**
 * scripts/tunnel.sh's signal handling without a relay: an `ssh` on PATH that fails at once
 * keeps the script in its reconnect loop, and SIGINT is sent the moment the "reconnecting"
 * line appears — the narrow window between that line and the backoff sleep's pid being known.
 * A signal that lands there must still end the script at once, not after the sleep.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'scripts', 'tunnel.sh');
const bin = mkdtempSync(join(tmpdir(), 'duet-fake-ssh-'));
writeFileSync(join(bin, 'ssh'), '#!/bin/sh\nexit 255\n');
chmodSync(join(bin, 'ssh'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** Starts the script, interrupts it on its first "reconnecting" line; ms from signal to exit. */
function interruptAtBackoff(): Promise<{ ms: number; code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', [SCRIPT], {
      env: { PATH: `${bin}:${process.env.PATH}`, RELAY: 'user@relay.invalid' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let sentAt = 0;
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      if (!sentAt && /reconnecting in 1 s/.test(output)) {
        sentAt = Date.now();
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no exit; output: ${output}`)); }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolveRun({ ms: Date.now() - sentAt, code, output });
    });
  });
}

describe('scripts/tunnel.sh signals', () => {
  it('stops at once on SIGINT sent just as the backoff begins, every time', async () => {
    for (let i = 0; i < 15; i++) {
      const run = await interruptAtBackoff();
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/tunnel: stopped\n$/);
      // The backoff is 1 s: a stop that waited it out took at least that.
      expect(run.ms).toBeLessThan(700);
    }
  });
});
