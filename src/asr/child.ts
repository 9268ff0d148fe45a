/**
 * One whisper-server child process: spawned with a fresh secret in its environment, bound by
 * the kernel to a free port on 127.0.0.1 (`--port 0`, a patched-in option: no window between
 * choosing a port and binding it), and trusted only once (1) the listening socket on the port
 * it announced is verified to be its own (Linux: /proc/net/tcp inode ↔ /proc/<pid>/fd) and
 * (2) `/health` answers ok to a request carrying the secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { WhisperClient } from './client.js';

/** The environment variable the patched whisper-server reads its secret from (then unsets). */
export const SECRET_ENV = 'DUET_WHISPER_SECRET';

/** Every live child of every engine, killed when this process exits (no orphans; see also SETPRIV). */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/**
 * On Linux, `setpriv --pdeathsig KILL` makes the kernel kill the child when this process dies
 * in any way, even SIGKILL, where no 'exit' handler runs. It execs in place (same pid).
 */
const SETPRIV = process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

const LISTENING_LINE = /whisper server listening at http:\/\/127\.0\.0\.1:(\d+)/;
const OUTPUT_TAIL_LINES = 40;

export interface ChildOptions {
  serverBin: string;
  /** Arguments without `--host`/`--port` (the child always binds 127.0.0.1, port 0). */
  args: readonly string[];
  /** Model load time allowed before the start counts as failed. */
  startTimeoutMs: number;
  /** Aborts the start (engine closing). */
  signal: AbortSignal;
  /** Every line the child writes. */
  onLine(line: string): void;
  /** Debug notes (e.g. why socket ownership could not be checked). */
  note(msg: string): void;
}

/** A started child that passed the checks. */
export interface WhisperChild {
  readonly pid: number;
  readonly client: WhisperClient;
  /** Settles when the child has exited and its output is drained. */
  readonly exited: Promise<void>;
  /** `exit code N` / `signal SIG`, once exited. */
  exitInfo(): string;
  /** The last lines of its output. */
  tail(n: number): string[];
  kill(signal: NodeJS.Signals): void;
  /** True once this process has sent it SIGKILL (a death that was ours, not a crash). */
  readonly killedByUs: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True if `promise` settles within `ms` (the timer is cleared either way). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether the TCP socket listening on 127.0.0.1:`port` belongs to process `pid`: true, false,
 * or null when this system cannot tell (no /proc, e.g. macOS).
 */
export async function listeningSocketOwnedBy(pid: number, port: number): Promise<boolean | null> {
  let table: string;
  try {
    table = await readFile('/proc/net/tcp', 'utf8');
  } catch {
    return null;
  }
  // local_address is hex "0100007F:PORT" for 127.0.0.1 (little-endian address); st 0A = LISTEN.
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A' && f[9] && f[9] !== '0') inodes.add(f[9]);
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // fd closed meanwhile
    }
  }
  return false;
}

/** Spawns whisper-server and waits until it is verified and healthy; kills it on any failure. */
export async function startChild(opts: ChildOptions): Promise<WhisperChild> {
  if (opts.signal.aborted) throw new Error('engine closed');
  const secret = randomBytes(32).toString('base64url');
  const args = [...opts.args, '--host', '127.0.0.1', '--port', '0'];
  // The secret goes by environment: argv is readable by every local user (ps, /proc/*/cmdline),
  // a process's environment only by its owner. The rest of this process's environment is kept
  // (library paths, CUDA settings).
  const env = { ...process.env, [SECRET_ENV]: secret };
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  const child = SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', opts.serverBin, ...args], { stdio, env })
    : spawn(opts.serverBin, args, { stdio, env });
  track(child);

  const outputTail: string[] = [];
  let announce: (port: number) => void = () => undefined;
  const announced = new Promise<number>((resolve) => (announce = resolve));
  const onLine = (line: string) => {
    if (!line.trim()) return;
    outputTail.push(line);
    if (outputTail.length > OUTPUT_TAIL_LINES) outputTail.shift();
    const m = LISTENING_LINE.exec(line);
    if (m) announce(Number(m[1]));
    opts.onLine(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    stream.on('end', () => onLine(rest));
  }

  // 'close' comes after 'exit' once the output pipes are drained, so the tail is complete.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let exitInfo = '';
  child.once('exit', (code, sig) => {
    exitInfo = sig ? `signal ${sig}` : `exit code ${code}`;
  });
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot run ${opts.serverBin}: ${e.message}`))));
  spawnError.catch(() => undefined);
  const earlyExit = exited.then((): never => {
    throw new Error(`whisper-server stopped while starting (${exitInfo}): ${outputTail.slice(-6).join(' | ')}`);
  });
  earlyExit.catch(() => undefined);
  const closed = new Promise<never>((_, reject) => {
    const onAbort = () => reject(new Error('engine closed'));
    if (opts.signal.aborted) onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    void exited.then(() => opts.signal.removeEventListener('abort', onAbort));
  });
  closed.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`whisper-server did not become healthy within ${opts.startTimeoutMs} ms`)), opts.startTimeoutMs);
  });
  timedOut.catch(() => undefined);

  let killedByUs = false;
  const kill = (sig: NodeJS.Signals) => {
    if (sig === 'SIGKILL') killedByUs = true;
    child.kill(sig);
  };

  const verify = async (): Promise<WhisperClient> => {
    // The port is printed once the model is loaded and the socket bound.
    const port = await announced;
    if (port <= 0 || port > 65535) {
      throw new Error(`whisper-server announced port ${port}: this build is not patched for a private engine (run \`npm run build:whisper\`)`);
    }
    const owned = await listeningSocketOwnedBy(child.pid!, port);
    if (owned === false) throw new Error(`the socket listening on 127.0.0.1:${port} does not belong to whisper-server (pid ${child.pid})`);
    if (owned === null) opts.note('socket ownership cannot be checked on this system (no /proc); relying on the secret');
    const client = new WhisperClient(`http://127.0.0.1:${port}`, secret);
    // A refused request proves the patched build (an unpatched one answers anyone).
    const anonymous = await fetch(`${client.baseUrl}/health`, { signal: AbortSignal.timeout(5000) });
    await anonymous.body?.cancel();
    if (anonymous.status !== 401) {
      throw new Error(`whisper-server answered /health without its secret (HTTP ${anonymous.status}): this build is not patched (run \`npm run build:whisper\`)`);
    }
    for (;;) {
      if (await client.healthy(AbortSignal.timeout(5000))) return client;
      await sleep(50);
    }
  };

  try {
    const client = await Promise.race([verify(), earlyExit, spawnError, closed, timedOut]);
    clearTimeout(timer);
    return {
      pid: child.pid!,
      client,
      exited,
      exitInfo: () => exitInfo,
      tail: (n) => outputTail.slice(-n),
      kill,
      get killedByUs() {
        return killedByUs;
      },
    };
  } catch (err) {
    clearTimeout(timer);
    kill('SIGKILL');
    // A child that never started (spawn error) may not emit 'close': don't wait forever.
    await settlesWithin(exited, 2000);
    throw err;
  }
}
