/**
 * Speech recognition through whisper.cpp's own `whisper-server`, built from source with native
 * CPU flags (scripts/build-whisper.mjs), run as a supervised child process on 127.0.0.1.
 *
 * Why a child process: the model is loaded once and stays loaded; the C++ runs at full native
 * speed (the prebuilt Node bindings have no SIMD); a crash in whisper.cpp cannot take the
 * server down — the child is restarted with exponential backoff. Each segment goes to it as an
 * in-memory WAV in a multipart POST to `/inference`; nothing touches the disk.
 *
 * whisper.cpp's context is not re-entrant: whisper-server serialises requests with a mutex,
 * and the job queue (queue.ts) keeps at most one request in flight anyway.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { encodeWav } from '../audio/wav.js';
import type { AsrEngine } from './types.js';
import type { WhisperBackends } from './whisper-build.js';

export type AsrDeviceChoice = 'auto' | 'cuda' | 'vulkan' | 'cpu';
export type AsrDevice = 'cuda' | 'vulkan' | 'cpu';
export type AsrLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type AsrLog = (level: AsrLogLevel, msg: string) => void;

/** Default log sink until a logger is wired: info and above to stderr. */
export const consoleAsrLog: AsrLog = (level, msg) => {
  if (level !== 'debug') console.error(`[asr] ${level}: ${msg}`);
};

export interface WhisperServerOptions {
  /** Path to `whisper-server`. */
  serverBin: string;
  /** Path to the ggml model file. */
  modelPath: string;
  /** Label for `name`, e.g. `base`; defaults to the model file's name. */
  modelLabel?: string;
  /** What the build contains (backends.json). */
  backends: WhisperBackends;
  device?: AsrDeviceChoice;
  /** CPU threads; 0 or absent = all cores. */
  threads?: number;
  /** How long the model may take to load before start counts as failed. */
  startTimeoutMs?: number;
  /** Upper bound on one request, so a wedged child cannot hold the queue forever. */
  requestTimeoutMs?: number;
  /** First restart delay after the child dies; doubles per consecutive failure. */
  restartBaseMs?: number;
  restartMaxMs?: number;
  log?: AsrLog;
  /** Every line the child writes (stdout and stderr), e.g. to read its timings. */
  onOutput?: (line: string) => void;
  /** GPU probes, replaceable in tests. */
  probe?: DeviceProbe;
}

/** How to tell whether a GPU of each kind is present. */
export interface DeviceProbe {
  /** Number of NVIDIA GPUs (0 when none or unknown). */
  cudaDevices(): Promise<number>;
  /** True when a Vulkan GPU is present; null when it cannot be told (no vulkaninfo). */
  vulkanGpu(): Promise<boolean | null>;
}

function run(cmd: string, args: string[], timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/** Probes with `nvidia-smi -L` and `vulkaninfo --summary`. */
export const systemDeviceProbe: DeviceProbe = {
  async cudaDevices() {
    const out = await run('nvidia-smi', ['-L']);
    return out ? out.split('\n').filter((l) => /^GPU \d+:/.test(l)).length : 0;
  },
  async vulkanGpu() {
    const out = await run('vulkaninfo', ['--summary']);
    if (out === null) return null;
    return /PHYSICAL_DEVICE_TYPE_(DISCRETE|INTEGRATED|VIRTUAL)_GPU/.test(out);
  },
};

export interface DeviceDecision {
  device: AsrDevice;
  /** whisper.cpp's GPU index (`--device`): GPUs are numbered CUDA first, then Vulkan. */
  gpuIndex: number;
  reason: string;
}

/**
 * Picks the device: `auto` takes a GPU the build supports and the machine has (CUDA before
 * Vulkan), else the CPU. An explicit GPU choice that cannot be honoured falls back to the CPU
 * with the reason given, so the server still transcribes.
 */
export async function resolveDevice(choice: AsrDeviceChoice, backends: WhisperBackends, probe: DeviceProbe): Promise<DeviceDecision> {
  if (choice === 'cpu') return { device: 'cpu', gpuIndex: 0, reason: 'ASR_DEVICE=cpu' };
  const cudaCount = backends.cuda ? await probe.cudaDevices() : 0;
  if (choice === 'cuda' || choice === 'auto') {
    if (cudaCount > 0) return { device: 'cuda', gpuIndex: 0, reason: `${cudaCount} NVIDIA GPU(s), CUDA build` };
    if (choice === 'cuda') {
      const why = backends.cuda ? 'no NVIDIA GPU found (nvidia-smi -L)' : 'this whisper.cpp build has no CUDA backend (rebuild with nvcc present, or WHISPER_CUDA=1)';
      return { device: 'cpu', gpuIndex: 0, reason: `ASR_DEVICE=cuda but ${why}: using the CPU` };
    }
  }
  if (backends.vulkan) {
    const vulkan = await probe.vulkanGpu();
    // Without vulkaninfo we cannot tell; whisper.cpp itself falls back to the CPU and says so,
    // which the engine notices in the child's log.
    if (vulkan !== false) {
      return { device: 'vulkan', gpuIndex: cudaCount, reason: vulkan ? 'Vulkan GPU found, Vulkan build' : 'Vulkan build (vulkaninfo absent: assuming a GPU)' };
    }
  }
  if (choice === 'vulkan') {
    const why = backends.vulkan ? 'no Vulkan GPU found (vulkaninfo --summary)' : 'this whisper.cpp build has no Vulkan backend (rebuild with glslc and the Vulkan headers present)';
    return { device: 'cpu', gpuIndex: 0, reason: `ASR_DEVICE=vulkan but ${why}: using the CPU` };
  }
  return { device: 'cpu', gpuIndex: 0, reason: backends.cuda || backends.vulkan ? 'no usable GPU found' : 'CPU-only build' };
}

/** A started child that answered its health check. */
interface Running {
  child: ChildProcess;
  baseUrl: string;
  /** Settles when the child has exited. */
  exited: Promise<void>;
}

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

function spawnSupervised(bin: string, args: string[]): ChildProcess {
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  return SETPRIV ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args], { stdio }) : spawn(bin, args, { stdio });
}

function abortError(): Error {
  return new DOMException('transcription aborted', 'AbortError');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** True if `promise` settles within `ms` (the timer is cleared either way, so it never holds the process open). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port the OS says is free right now (whisper-server cannot bind port 0 and report it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits for `promise` unless `signal` aborts first. */
function withSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const OUTPUT_TAIL_LINES = 40;

/** `AsrEngine` over a supervised `whisper-server` child process. */
export class WhisperServerEngine implements AsrEngine {
  private readonly opts: Required<Omit<WhisperServerOptions, 'onOutput' | 'modelLabel'>> & Pick<WhisperServerOptions, 'onOutput'>;
  private readonly label: string;
  private readonly log: AsrLog;
  private decision: DeviceDecision | null = null;
  private current: Running | null = null;
  private starting: Promise<Running> | null = null;
  private loading: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Aborts sleeps and requests when the engine closes. */
  private readonly lifetime = new AbortController();
  /** Deaths since the last successful transcription; sets the restart delay. */
  private failures = 0;
  private outputTail: string[] = [];

  constructor(options: WhisperServerOptions) {
    this.opts = {
      serverBin: options.serverBin,
      modelPath: options.modelPath,
      backends: options.backends,
      device: options.device ?? 'auto',
      threads: options.threads ?? 0,
      startTimeoutMs: options.startTimeoutMs ?? 120_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 300_000,
      restartBaseMs: options.restartBaseMs ?? 250,
      restartMaxMs: options.restartMaxMs ?? 30_000,
      log: options.log ?? consoleAsrLog,
      probe: options.probe ?? systemDeviceProbe,
      onOutput: options.onOutput,
    };
    this.log = this.opts.log;
    this.label = options.modelLabel ?? basename(options.modelPath).replace(/^ggml-/, '').replace(/\.bin$/, '');
  }

  /** Threads given to whisper.cpp. */
  get threads(): number {
    return this.opts.threads > 0 ? this.opts.threads : availableParallelism();
  }

  /** The device in use (known after `load()`). */
  get device(): AsrDevice {
    return this.decision?.device ?? 'cpu';
  }

  get name(): string {
    const where = this.device === 'cpu' ? `cpu, ${this.threads} threads` : this.device;
    return `whisper.cpp ${this.label} (${where})`;
  }

  /** Process id of the running child (tests kill it to check the restart). */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Resolves the device, starts the child and waits until the model is loaded. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      if (this.lifetime.signal.aborted) throw new Error('engine closed');
      this.decision = await resolveDevice(this.opts.device, this.opts.backends, this.opts.probe);
      this.log(this.opts.device !== 'auto' && this.decision.reason.includes('using the CPU') ? 'warn' : 'info', `device: ${this.decision.device} (${this.decision.reason})`);
      this.starting = this.spawnReady();
      try {
        this.current = await this.starting;
      } finally {
        this.starting = null;
      }
      this.log('info', `${this.name} ready`);
    })();
    return this.loading;
  }

  async transcribe(samples: Float32Array, options: { language: string; signal?: AbortSignal }): Promise<string> {
    const { signal } = options;
    if (signal?.aborted) throw abortError();
    if (this.lifetime.signal.aborted) throw new Error('speech recognition engine is closed');
    await withSignal(this.load(), signal);
    const wav = encodeWav(samples);
    // One retry: the child may die under a request (or have died just before it) and be
    // restarted; a segment that crashes it twice is given up on.
    for (let attempt = 0; ; attempt++) {
      const running = await withSignal(this.running(), signal);
      try {
        const text = await this.post(running, wav, options.language, signal);
        this.failures = 0;
        return text;
      } catch (err) {
        if (signal?.aborted) throw abortError();
        if (this.lifetime.signal.aborted) throw new Error('speech recognition engine is closed');
        const died = await settlesWithin(running.exited, 200);
        if (!died || attempt >= 1) throw err;
        this.log('warn', 'whisper-server exited during a request; retrying once after its restart');
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.lifetime.abort();
      const pending = this.starting;
      if (pending) await pending.catch(() => undefined);
      const running = this.current;
      this.current = null;
      if (!running) return;
      running.child.kill('SIGTERM');
      // whisper-server stops gracefully on SIGTERM (printing its timings); a wedged one is killed.
      const graceful = await settlesWithin(running.exited, 3000);
      if (!graceful) {
        running.child.kill('SIGKILL');
        await running.exited;
      }
    })();
    return this.closing;
  }

  /** The running child, waiting for a restart in progress. */
  private running(): Promise<Running> {
    if (this.current) return Promise.resolve(this.current);
    if (this.starting) return this.starting;
    // Not running and no restart scheduled (a restart attempt failed): try again now.
    this.scheduleRestart(0);
    return this.starting!;
  }

  /** Starts the child after `delayMs`; a failed attempt schedules the next, with more delay. */
  private scheduleRestart(delayMs: number): void {
    const attempt = (async () => {
      await sleep(delayMs, this.lifetime.signal);
      return this.spawnReady();
    })();
    this.starting = attempt;
    attempt.then(
      (running) => {
        if (this.starting === attempt) this.starting = null;
        this.current = running;
        this.log('info', `whisper-server restarted (pid ${running.child.pid})`);
      },
      (err: unknown) => {
        if (this.starting === attempt) this.starting = null;
        if (this.lifetime.signal.aborted) return;
        this.failures++;
        const next = this.backoffMs();
        this.log('error', `whisper-server restart failed: ${(err as Error).message}; next attempt in ${next} ms`);
        this.scheduleRestart(next);
      },
    );
  }

  private backoffMs(): number {
    return Math.min(this.opts.restartMaxMs, this.opts.restartBaseMs * 2 ** Math.max(0, this.failures - 1));
  }

  private args(port: number): string[] {
    const decision = this.decision ?? { device: 'cpu' as const, gpuIndex: 0 };
    const args = [
      '--model', this.opts.modelPath,
      '--host', '127.0.0.1',
      '--port', String(port),
      '--threads', String(this.threads),
      // Per-request settings come with each request; these are the defaults it falls back to.
      '--language', 'auto',
      '--no-timestamps',
      '--no-fallback',
      // A folder that does not exist: the child must not serve files from its working directory.
      '--public', '/nonexistent-whisper-server-public',
    ];
    if (decision.device === 'cpu') args.push('--no-gpu');
    else args.push('--device', String(decision.gpuIndex));
    return args;
  }

  /** Spawns the child on a free port and waits until `/health` says the model is loaded. */
  private async spawnReady(): Promise<Running> {
    // The port is free when chosen but another process may take it before the child binds.
    for (let bindTry = 0; ; bindTry++) {
      const port = await freePort();
      try {
        return await this.spawnOnce(port);
      } catch (err) {
        if (bindTry < 3 && /couldn't bind/.test((err as Error).message)) continue;
        throw err;
      }
    }
  }

  private async spawnOnce(port: number): Promise<Running> {
    if (this.lifetime.signal.aborted) throw new Error('engine closed');
    const child = spawnSupervised(this.opts.serverBin, this.args(port));
    track(child);
    this.outputTail = [];
    // 'close' comes after 'exit' once the output pipes are drained, so the tail is complete.
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let exitInfo = '';
    child.once('exit', (code, sig) => {
      exitInfo = sig ? `signal ${sig}` : `exit code ${code}`;
    });
    const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot run ${this.opts.serverBin}: ${e.message}`))));
    spawnError.catch(() => undefined);
    this.pipeLines(child);

    const baseUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + this.opts.startTimeoutMs;
    const earlyExit = exited.then(() => {
      throw new Error(`whisper-server stopped while starting (${exitInfo}): ${this.outputTail.slice(-6).join(' | ')}`);
    });
    earlyExit.catch(() => undefined);
    const healthy = (async () => {
      while (Date.now() < deadline) {
        if (this.lifetime.signal.aborted) throw new Error('engine closed');
        if (child.exitCode !== null || child.signalCode !== null) return earlyExit;
        try {
          const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
          if (res.ok) return true;
          await res.body?.cancel();
        } catch {
          // not listening yet: it binds only after loading the model
        }
        await sleep(50);
      }
      return false;
    })();
    try {
      const ok = await Promise.race([healthy, earlyExit, spawnError]);
      if (!ok) throw new Error(`whisper-server did not become healthy within ${this.opts.startTimeoutMs} ms`);
    } catch (err) {
      child.kill('SIGKILL');
      // A child that never started (spawn error) may not emit 'close': don't wait forever.
      await settlesWithin(exited, 2000);
      throw err;
    }

    const running: Running = { child, baseUrl, exited };
    void exited.then(() => {
      if (this.current !== running) return;
      this.current = null;
      if (this.lifetime.signal.aborted) return;
      this.failures++;
      const delay = this.backoffMs();
      this.log('error', `whisper-server (pid ${child.pid}) died (${exitInfo}); restarting in ${delay} ms. Last output: ${this.outputTail.slice(-4).join(' | ')}`);
      this.scheduleRestart(delay);
    });
    this.log('debug', `whisper-server pid ${child.pid} listening on ${baseUrl}`);
    return running;
  }

  /** Line-splits the child's output into the tail buffer and `onOutput`; notices a GPU fallback. */
  private pipeLines(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) this.onLine(line);
      });
      stream.on('end', () => this.onLine(rest));
    }
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    this.outputTail.push(line);
    if (this.outputTail.length > OUTPUT_TAIL_LINES) this.outputTail.shift();
    this.opts.onOutput?.(line);
    if (this.decision && this.decision.device !== 'cpu' && line.includes('no GPU found')) {
      this.log('warn', `whisper.cpp found no ${this.decision.device} device and runs on the CPU`);
      this.decision = { device: 'cpu', gpuIndex: 0, reason: 'whisper.cpp found no GPU' };
    }
  }

  private async post(running: Running, wav: Buffer, language: string, signal?: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'segment.wav');
    form.append('language', language || 'auto');
    form.append('response_format', 'json');
    form.append('temperature', '0');
    // No temperature fallback: one decoding pass, predictable latency.
    form.append('temperature_inc', '0');
    form.append('no_timestamps', 'true');
    const signals = [this.lifetime.signal, AbortSignal.timeout(this.opts.requestTimeoutMs)];
    if (signal) signals.push(signal);
    // Aborting closes the connection, and whisper-server's abort callback stops the inference.
    const res = await fetch(`${running.baseUrl}/inference`, { method: 'POST', body: form, signal: AbortSignal.any(signals) });
    const body = await res.text();
    let parsed: { text?: unknown; error?: unknown } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      // reported below
    }
    if (!res.ok || typeof parsed.text !== 'string') {
      const why = typeof parsed.error === 'string' ? parsed.error : body.slice(0, 200);
      throw new Error(`whisper-server answered HTTP ${res.status}: ${why}`);
    }
    // One line per whisper segment, each with a leading space.
    return parsed.text
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .join(' ');
  }
}
