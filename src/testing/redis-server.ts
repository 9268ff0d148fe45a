/**
 * A throwaway `redis-server` on a free loopback port, for tests and benchmarks: no
 * persistence, no config file, killed on `stop()`. `restart()` kills it and starts a fresh
 * one on the same port (everything in it is lost, as after a crash without persistence).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { freePort } from './free-port.js';

export const REDIS_SERVER_BIN = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? 'redis-server';

export function hasRedisServer(): boolean {
  return existsSync(REDIS_SERVER_BIN);
}


async function waitListening(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export class TestRedis {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
    /** With `tls`: the self-signed certificate clients must trust (PEM). */
    readonly tlsCert: Buffer | null,
  ) {}

  /**
   * `requirepass` sets a password (the URL then carries it); `tls` serves TLS only, with a
   * fresh self-signed certificate for 127.0.0.1 (`tlsCert`).
   */
  static async start(options: { requirepass?: string; tls?: boolean } = {}): Promise<TestRedis> {
    const port = await freePort();
    const extra = options.requirepass ? ['--requirepass', options.requirepass] : [];
    let cert: Buffer | null = null;
    if (options.tls) {
      const dir = mkdtempSync(join(tmpdir(), 'duet-redis-tls-'));
      const pems = selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
        days: 1,
        keySize: 2048,
        algorithm: 'sha256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
      });
      writeFileSync(join(dir, 'cert.pem'), pems.cert);
      writeFileSync(join(dir, 'key.pem'), pems.private);
      cert = Buffer.from(pems.cert);
      extra.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'));
      extra.push('--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no');
    }
    const r = new TestRedis(port, extra, cert);
    await r.spawn();
    return r;
  }

  get url(): string {
    return `${this.tlsCert ? 'rediss' : 'redis'}://127.0.0.1:${this.port}/0`;
  }

  private async spawn(): Promise<void> {
    // With TLS, the later `--port 0` turns the plain port off.
    const child = spawn(REDIS_SERVER_BIN, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extraArgs], {
      stdio: 'ignore',
    });
    this.child = child;
    await waitListening(this.port, 5000);
  }

  /** Kills the server (SIGKILL: no goodbye to clients). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
