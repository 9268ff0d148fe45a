/**
 * A throwaway OpenSSH server on 127.0.0.1 for tests: the Debian `/usr/sbin/sshd` as a child
 * process with its own config, host key, client key pair and authorized_keys in a temp dir.
 * It accepts only that client key, for the current user, and allows reverse forwarding
 * (`GatewayPorts no`, so forwarded ports listen on loopback only).
 *
 * `stop()` kills the listener AND its per-connection children: sshd forks a session process
 * per client in its own session, which would otherwise outlive the listener and keep the
 * client's tunnel up. `start()` brings it back on the same port with the same host key, so
 * `StrictHostKeyChecking=accept-new` clients reconnect without a host-key mismatch.
 *
 * Needs `openssh-server` and `openssh-client` (Debian). As root, sshd also needs its
 * privilege-separation directory `/run/sshd`, which the package's service would create;
 * the helper creates it when missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/testing/free-port.js';

/** sshd refuses to re-exec itself unless started by absolute path. */
export const SSHD = '/usr/sbin/sshd';

/** Why the OpenSSH tools are unusable here, or null when they are all present. */
export function missingSshTools(): string | null {
  const missing: string[] = [];
  if (!existsSync(SSHD)) missing.push(SSHD);
  for (const tool of ['ssh', 'ssh-keygen']) {
    const r = spawnSync(tool, ['-V'], { stdio: 'ignore' });
    if (r.error) missing.push(tool);
  }
  return missing.length ? `missing ${missing.join(', ')} (apt-get install openssh-server openssh-client)` : null;
}


/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAccepts(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** /proc/<pid>/stat as [state, ppid], or null when there is no such process (Linux only). */
function procStat(pid: number): [string, number] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so cut at the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [state, Number(ppid)];
  } catch {
    return null;
  }
}

/** Whether pid is a live process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  if (existsSync('/proc')) {
    const st = procStat(pid);
    return st !== null && st[0] !== 'Z';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every live descendant of pid (children first, then theirs). Linux (/proc) only; [] elsewhere. */
export function descendants(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st && st[0] !== 'Z') parentOf.set(Number(name), st[1]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** SIGTERM the given processes, then SIGKILL whatever is still alive after graceMs. */
export async function terminate(pids: number[], graceMs = 2000): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(25);
  for (const pid of pids) if (isAlive(pid)) signal(pid, 'SIGKILL');
}

export interface TestSshd {
  /** Port sshd listens on (127.0.0.1). */
  port: number;
  /** Login name the client key is authorized for (the current user). */
  user: string;
  /** Temp dir holding config, keys and logs. */
  dir: string;
  /** Private key the server accepts. */
  clientKey: string;
  /** Known-hosts file for clients (empty at first; `accept-new` fills it). */
  knownHosts: string;
  /**
   * ssh options for a client of this server, whitespace-separated (the SSH_OPTS format of
   * scripts/tunnel.sh): no user/system ssh config, this port, this known-hosts file.
   */
  sshOpts: string;
  /** Everything sshd wrote to stderr (-e) since it was created. */
  log(): string;
  /** Whether the listener is running. */
  running(): boolean;
  /** Pids of the per-connection processes the listener has forked (Linux only). */
  sessions(): number[];
  /** (Re)starts the listener on the same port with the same keys; resolves once it accepts. */
  start(): Promise<void>;
  /** Kills the listener and every session it forked; resolves once they are gone. */
  stop(): Promise<void>;
  /** stop() and delete the temp dir. */
  dispose(): Promise<void>;
}

function keygen(path: string, comment: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen -f ${path} failed: ${r.error?.message ?? r.stderr}`);
}

/**
 * Starts the test sshd. `permitListen` (`host:port`) adds the README's restriction of the tunnel
 * key to that one remote forward, local forwards only to the discard port (`permitlisten=…,permitopen="127.0.0.1:9"`).
 */
export async function startSshd(opts: { port?: number; permitListen?: string } = {}): Promise<TestSshd> {
  const why = missingSshTools();
  if (why) throw new Error(`cannot start a test sshd: ${why}`);

  const dir = mkdtempSync(join(tmpdir(), 'duet-sshd-'));
  // SSH_OPTS is split on whitespace by tunnel.sh, so paths in it must not contain any.
  if (/\s/.test(dir)) throw new Error(`temp dir path contains whitespace: ${dir}`);
  const user = userInfo().username;
  const port = opts.port ?? (await freePort());
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  const authorizedKeys = join(dir, 'authorized_keys');
  const knownHosts = join(dir, 'known_hosts');
  const config = join(dir, 'sshd_config');

  keygen(hostKey, 'duet-test-host');
  keygen(clientKey, 'duet-test-client');
  // What a relay should grant a tunnel key: no shell, no agent/X11/pty, port forwarding only.
  const pub = readFileSync(`${clientKey}.pub`, 'utf8').trim();
  const limits = opts.permitListen ? `,permitlisten="${opts.permitListen}",permitopen="127.0.0.1:9"` : '';
  writeFileSync(authorizedKeys, `restrict,port-forwarding${limits} ${pub}\n`, { mode: 0o600 });
  writeFileSync(knownHosts, '', { mode: 0o600 });
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'StrictModes no', // the temp dir is not owned/moded the way sshd wants for ~/.ssh
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'GatewayPorts no',
      'X11Forwarding no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  // As root, sshd insists on its privilege-separation dir (normally made by the service unit).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let child: ChildProcess | null = null;
  let logText = '';

  const server: TestSshd = {
    port,
    user,
    dir,
    clientKey,
    knownHosts,
    sshOpts: `-F none -p ${port} -o UserKnownHostsFile=${knownHosts} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes`,
    log: () => logText,
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    sessions: () => (child?.pid === undefined ? [] : descendants(child.pid)),

    async start() {
      if (server.running()) return;
      const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      proc.stderr!.setEncoding('utf8');
      proc.stderr!.on('data', (d: string) => (logText += d));
      let exited = false;
      proc.once('exit', () => (exited = true));
      proc.once('error', (e) => {
        exited = true;
        logText += `spawn error: ${e.message}\n`;
      });
      const deadline = Date.now() + 10_000;
      for (;;) {
        if (exited) throw new Error(`sshd exited at start (code ${proc.exitCode}):\n${logText}`);
        if (await portAccepts(port, 500)) return;
        if (Date.now() > deadline) throw new Error(`sshd does not accept on 127.0.0.1:${port}:\n${logText}`);
        await sleep(50);
      }
    },

    async stop() {
      const proc = child;
      if (!proc || proc.pid === undefined) return;
      child = null;
      // Collect the sessions before the listener dies: once it does they are re-parented.
      const sessions = descendants(proc.pid);
      if (sessions.length === 0 && !existsSync('/proc')) {
        spawnSync('pkill', ['-TERM', '-P', String(proc.pid)]); // non-Linux fallback: direct children
      }
      const exited = proc.exitCode !== null || proc.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => proc.once('exit', () => r()));
      await terminate([...sessions, proc.pid]);
      await exited;
    },

    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await server.start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return server;
}
