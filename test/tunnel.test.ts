/**
 * scripts/tunnel.sh against a real OpenSSH server on loopback (test/helpers/sshd.ts) standing
 * in for the relay, and a small HTTPS + WebSocket server standing in for the app:
 * the public URL is printed, HTTPS and WSS pass through the reverse tunnel, a taken relay port
 * is retried with backoff, a dead relay is reconnected to by itself, and SIGINT/SIGTERM stop
 * the script together with its ssh child.
 *
 * Needs /usr/sbin/sshd, ssh and ssh-keygen (Debian: openssh-server openssh-client). Without
 * them the file is skipped, except under CI, where their absence is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, get as httpsGet, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { loadOrCreateTls } from '../src/transport/certs.js';
import { freePort } from '../src/testing/free-port.js';
import { descendants, isAlive, missingSshTools, portAccepts, startSshd, terminate, type TestSshd } from './helpers/sshd.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(ROOT, 'scripts', 'tunnel.sh');

const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const missing = missingSshTools();
const skip = missing !== null && !inCi;
if (skip) console.warn(`tunnel.test.ts skipped: ${missing}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running scripts/tunnel.sh with its combined stdout+stderr, each line time-stamped. */
class Tunnel {
  readonly proc: ChildProcess;
  readonly lines: { t: number; text: string }[] = [];
  private partial = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(env: Record<string, string>) {
    const base = { ...process.env };
    for (const k of ['RELAY', 'RELAY_PORT', 'RELAY_BIND', 'LOCAL_PORT', 'PORT', 'PUBLIC_URL', 'SSH_KEY', 'SSH_OPTS']) delete base[k];
    // Own process group: a bug like `kill 0` in the script's trap must not hit the test runner.
    this.proc = spawn('bash', [SCRIPT], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => this.push(d));
    }
    this.proc.once('exit', (code, signal) => {
      if (this.partial) this.lines.push({ t: Date.now(), text: this.partial });
      this.partial = '';
      this.exit = { code, signal };
    });
  }

  private push(data: string): void {
    const parts = (this.partial + data).split('\n');
    this.partial = parts.pop() ?? '';
    for (const text of parts) this.lines.push({ t: Date.now(), text });
  }

  get output(): string {
    return this.lines.map((l) => l.text).join('\n');
  }

  /** Waits until some output line matches (searching from line index `from`); returns it. */
  async waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<{ t: number; text: string; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.findIndex((l, i) => i >= from && re.test(l.text));
      if (index >= 0) return { ...this.lines[index], index };
      if (this.exit) throw new Error(`tunnel.sh exited (${JSON.stringify(this.exit)}) before printing ${re}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`tunnel.sh did not print ${re} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(25);
    }
  }

  /** Sends a signal and resolves with the exit status (rejects after timeoutMs). */
  async signal(sig: NodeJS.Signals, timeoutMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) {
      const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
      this.proc.kill(sig);
      await Promise.race([exited, sleep(timeoutMs)]);
    }
    if (!this.exit) throw new Error(`tunnel.sh still running ${timeoutMs} ms after ${sig}:\n${this.output}`);
    return this.exit;
  }

  /** Last resort cleanup: the script and everything it started. */
  async kill(): Promise<void> {
    if (this.proc.pid === undefined) return;
    const pids = [...descendants(this.proc.pid), ...(this.exit ? [] : [this.proc.pid])];
    await terminate(pids, 500);
  }
}

/** GET https://127.0.0.1:port/healthz (self-signed: no verification); the body, or null on any failure. */
function healthz(port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolveBody) => {
    const req = httpsGet({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolveBody(res.statusCode === 200 ? body : null));
      res.on('error', () => resolveBody(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveBody(null));
  });
}

async function pollHealthz(port: number, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await healthz(port, 1000);
    if (body === 'ok' || Date.now() > deadline) return body;
    await sleep(200);
  }
}

/** Opens wss://127.0.0.1:port/ws, sends one message and resolves with the echo. */
function wssEcho(port: number, message: string): Promise<string> {
  return new Promise((resolveEcho, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false, handshakeTimeout: 3000 });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('WebSocket echo timed out'));
    }, 5000);
    ws.once('open', () => ws.send(message));
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolveEcho(data.toString());
      ws.close();
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe.skipIf(skip)(skip ? `scripts/tunnel.sh (skipped: ${missing})` : 'scripts/tunnel.sh over a loopback sshd', () => {
  let sshd: TestSshd;
  let certDir: string;
  let app: Server;
  let wss: WebSocketServer;
  let appPort: number;
  let relayPort: number;
  let tunnel: Tunnel;
  const extraTunnels: Tunnel[] = [];

  const tunnelEnv = () => ({
    RELAY: `${sshd.user}@127.0.0.1`,
    RELAY_PORT: String(relayPort),
    LOCAL_PORT: String(appPort),
    SSH_KEY: sshd.clientKey,
    SSH_OPTS: sshd.sshOpts,
  });

  beforeAll(async () => {
    if (missing) throw new Error(`CI is set but the OpenSSH tools are not: ${missing}`);
    relayPort = await freePort();
    // The README's authorized_keys line: this key may open exactly the relay's forward.
    sshd = await startSshd({ permitListen: `*:${relayPort}` });

    // The app stand-in: HTTPS on a free port with the project's self-signed certificate code.
    certDir = mkdtempSync(join(tmpdir(), 'duet-tunnel-certs-'));
    const tls = await loadOrCreateTls(join(certDir, 'fullchain.pem'), join(certDir, 'privkey.pem'));
    app = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      if (req.url === '/healthz') res.end('ok');
      else res.writeHead(404).end('not found');
    });
    wss = new WebSocketServer({ server: app, path: '/ws' });
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    appPort = (app.address() as AddressInfo).port;

    tunnel = new Tunnel(tunnelEnv());
  });

  afterAll(async () => {
    for (const t of [tunnel, ...extraTunnels]) await t?.kill();
    await sshd?.dispose();
    wss?.close();
    app?.closeAllConnections();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('prints the forward and the public URL, and serves /healthz through the relay port', async () => {
    await tunnel.waitForLine(new RegExp(`^tunnel: forwarding ${sshd.user}@127\\.0\\.0\\.1:${relayPort} -> 127\\.0\\.0\\.1:${appPort}$`), 5000);
    await tunnel.waitForLine(new RegExp(`^tunnel: public URL https://127\\.0\\.0\\.1:${relayPort}/ `), 5000);
    expect(await pollHealthz(relayPort, 10_000)).toBe('ok');
    // accept-new recorded the relay's host key in the test's own known-hosts file.
    await tunnel.waitForLine(/Permanently added '\[127\.0\.0\.1\]:\d+' \(ED25519\)/, 1000);
    expect(sshd.log()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);
  });

  it('carries a WebSocket upgrade (WSS) both ways', async () => {
    const payload = `hello through the tunnel ${'x'.repeat(100_000)}`;
    expect(await wssEcho(relayPort, payload)).toBe(payload);
  });

  it('a second tunnel on the taken relay port fails the forward, retries with backoff, and stops on SIGINT', async () => {
    const second = new Tunnel(tunnelEnv());
    extraTunnels.push(second);
    const fail1 = await second.waitForLine(/remote port forwarding failed for listen port/, 10_000);
    const retry1 = await second.waitForLine(/^tunnel: ssh exited with code 255; reconnecting in 1 s$/, 5000, fail1.index);
    const start2 = await second.waitForLine(/^tunnel: forwarding /, 5000, retry1.index);
    const retry2 = await second.waitForLine(/^tunnel: ssh exited with code 255; reconnecting in 2 s$/, 5000, start2.index);
    // Not a hot loop: the second attempt waited out the 1 s backoff.
    expect(start2.t - retry1.t).toBeGreaterThanOrEqual(900);
    // INT during the 2 s backoff sleep ends the script at once, not after the sleep.
    const sentAt = Date.now();
    const exit = await second.signal('SIGINT', 3000);
    expect(Date.now() - sentAt).toBeLessThan(1500);
    expect(exit.code).toBe(0);
    expect(second.output).toMatch(/tunnel: stopped$/);
    expect(second.lines.length).toBeLessThan(retry2.index + 5);
    // The first tunnel is unaffected.
    expect(await healthz(relayPort)).toBe('ok');
  });

  it('reconnects by itself with exponential backoff when the relay goes down and comes back', async () => {
    const from = tunnel.lines.length;
    await sshd.stop();
    const down = await tunnel.waitForLine(/^tunnel: ssh exited with code 255; reconnecting in 1 s$/, 5000, from);
    expect(await portAccepts(relayPort)).toBe(false);
    // The relay stays down through the second attempt: the wait doubles.
    await tunnel.waitForLine(/connect to host 127\.0\.0\.1 port \d+: Connection refused/, 5000, down.index);
    await tunnel.waitForLine(/^tunnel: ssh exited with code 255; reconnecting in 2 s$/, 5000, down.index);
    await sshd.start();
    expect(await pollHealthz(relayPort, 20_000)).toBe('ok');
    expect(await wssEcho(relayPort, 'back again')).toBe('back again');
  });

  it('SIGTERM stops the script and its ssh child, closing the relay port, and prints "stopped"', async () => {
    const pid = tunnel.proc.pid!;
    const children = descendants(pid);
    expect(children.length).toBeGreaterThan(0); // the ssh client
    const exit = await tunnel.signal('SIGTERM');
    expect(exit.code).toBe(0);
    expect(tunnel.lines.at(-1)?.text).toBe('tunnel: stopped');
    for (const child of children) expect(isAlive(child), `ssh child ${child} outlived the script`).toBe(false);
    // With the ssh client gone the relay closes the forwarded port.
    const deadline = Date.now() + 5000;
    while ((await portAccepts(relayPort)) && Date.now() < deadline) await sleep(100);
    expect(await portAccepts(relayPort)).toBe(false);
  });

  it('keep-alives from SSH_OPTS (overriding the defaults) detect a frozen relay; a stale forward is retried until freed; SIGHUP stops it', async () => {
    // The relay side freezes (SIGSTOP: TCP stays open, nothing answers), as when a link dies
    // without a FIN. ServerAliveInterval=1 x CountMax=2 from SSH_OPTS must win over the
    // script's 15 x 3, or detection would take 45 s.
    const t = new Tunnel({ ...tunnelEnv(), SSH_OPTS: `${sshd.sshOpts} -o ServerAliveInterval=1 -o ServerAliveCountMax=2` });
    extraTunnels.push(t);
    expect(await pollHealthz(relayPort, 10_000)).toBe('ok');
    const frozen = sshd.sessions();
    expect(frozen.length).toBeGreaterThan(0);
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const from = t.lines.length;
      const timeout = await t.waitForLine(/Timeout, server 127\.0\.0\.1 not responding/, 8000, from);
      const retry1 = await t.waitForLine(/^tunnel: ssh exited with code 255; reconnecting in 1 s$/, 2000, timeout.index);
      // The frozen session still holds the relay port: the new login works, the forward fails.
      const fail = await t.waitForLine(/remote port forwarding failed for listen port/, 5000, retry1.index);
      await t.waitForLine(/^tunnel: ssh exited with code 255; reconnecting in 2 s$/, 2000, fail.index);
    } finally {
      // The relay reaps the dead session (what its ClientAliveInterval would do).
      for (const pid of frozen) process.kill(pid, 'SIGKILL');
    }
    expect(await pollHealthz(relayPort, 20_000)).toBe('ok');
    // SIGHUP (the terminal closed) also takes the ssh child down, instead of orphaning it.
    const children = descendants(t.proc.pid!);
    expect(children.length).toBeGreaterThan(0);
    const exit = await t.signal('SIGHUP');
    expect(exit.code).toBe(0);
    expect(t.output).toMatch(/tunnel: stopped$/);
    for (const child of children) expect(isAlive(child), `ssh child ${child} outlived the script`).toBe(false);
  });
});
