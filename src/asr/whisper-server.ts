/**
 * Speech recognition through whisper.cpp's own `whisper-server`, built from source with native
 * CPU flags and patched to be private (scripts/build-whisper.mjs), run as a supervised child
 * process on 127.0.0.1.
 *
 * Why a child process: the model is loaded once and stays loaded; the C++ runs at full native
 * speed (the prebuilt Node bindings have no SIMD); a crash in whisper.cpp cannot take the
 * server down. The pieces: device.ts picks the device, child.ts starts and verifies one child,
 * client.ts speaks its HTTP; this file is the supervisor, a small state machine:
 *
 *   unloaded → starting → running ⇄ starting (restart, with backoff) → closed
 *
 * Faults heal: a request gets a time limit that scales with its audio; one that runs past it
 * gets the child SIGKILLed (a hung or stopped child) and restarted, and fails with
 * `AsrEngineError('timeout')`; a child that dies under a request is restarted and the request
 * retried once on the new child, failing with `crashed` if that one dies too. The jobs after
 * it go to the new child.
 *
 * whisper.cpp's context is not re-entrant: whisper-server serialises requests with a mutex,
 * and the job queue (queue.ts) keeps at most one request in flight anyway.
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { SAMPLE_RATE } from '../audio/constants.js';
import { settlesWithin, startChild, type WhisperChild } from './child.js';
import { WhisperRequestError } from './client.js';
import { resolveDevice, systemDeviceProbe, type AsrDevice, type AsrDeviceChoice, type DeviceDecision, type DeviceProbe } from './device.js';
import { abortError, AsrEngineError, consoleAsrLog, type AsrEngine, type AsrLog, type AsrResult } from './types.js';
import type { WhisperBackends } from './whisper-build.js';
import type { AsrHealth } from './availability.js';

/** A request's time limit: `baseMs + perAudioSecondMs × (segment length in seconds)`. */
export interface RequestTimeout {
  baseMs: number;
  perAudioSecondMs: number;
}

/** 10× the audio plus 5 s on a CPU (a slow CPU with a big model runs at ~1× real time). */
export const CPU_REQUEST_TIMEOUT: RequestTimeout = { baseMs: 5000, perAudioSecondMs: 10_000 };
/** On a GPU recognition is far faster than real time: 2× the audio plus 5 s. */
export const GPU_REQUEST_TIMEOUT: RequestTimeout = { baseMs: 5000, perAudioSecondMs: 2000 };

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
  /** How long the model may take to load before a start counts as failed. */
  startTimeoutMs?: number;
  /** Per-request time limit; a part left out is the device's (CPU_REQUEST_TIMEOUT / GPU_REQUEST_TIMEOUT). */
  requestTimeout?: Partial<RequestTimeout>;
  /** First restart delay after a failure; doubles per consecutive failure. */
  restartBaseMs?: number;
  restartMaxMs?: number;
  log?: AsrLog;
  /** Every line the child writes (stdout and stderr), e.g. to read its timings. */
  onOutput?: (line: string) => void;
  /** GPU probes, replaceable in tests. */
  probe?: DeviceProbe;
}

type State =
  | { kind: 'unloaded' }
  /** A child is being started (after a backoff delay when restarting); `ready` settles with it. */
  | { kind: 'starting'; ready: Promise<WhisperChild> }
  | { kind: 'running'; child: WhisperChild }
  | { kind: 'closed' };

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('engine closed'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('engine closed'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for `promise` unless one of `signals` aborts first (rejecting with `onAbort()`'s error). */
function race<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}

/** `AsrEngine` over a supervised `whisper-server` child process. */
export class WhisperServerEngine implements AsrEngine {
  private readonly opts: Required<Omit<WhisperServerOptions, 'onOutput' | 'modelLabel' | 'requestTimeout'>> &
    Pick<WhisperServerOptions, 'onOutput' | 'requestTimeout'>;
  private readonly label: string;
  private readonly log: AsrLog;
  private state: State = { kind: 'unloaded' };
  private decision: DeviceDecision | null = null;
  private loading: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Aborts starts, sleeps and requests when the engine closes. */
  private readonly lifetime = new AbortController();
  /** Failures (deaths, timeouts, failed starts) since the last success; sets the restart delay. */
  private failures = 0;

  constructor(options: WhisperServerOptions) {
    this.opts = {
      serverBin: options.serverBin,
      modelPath: options.modelPath,
      backends: options.backends,
      device: options.device ?? 'auto',
      threads: options.threads ?? 0,
      startTimeoutMs: options.startTimeoutMs ?? 120_000,
      requestTimeout: options.requestTimeout,
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

  /** Up while a verified child is running; down while it is (re)started or after close. */
  health(): AsrHealth {
    switch (this.state.kind) {
      case 'running':
        return { up: true, reason: 'running', message: 'whisper-server is running' };
      case 'starting':
        return this.failures > 0
          ? { up: false, reason: 'restarting', message: `whisper-server is being restarted after ${this.failures} failure(s)` }
          : { up: false, reason: 'restarting', message: 'whisper-server is starting' };
      case 'unloaded':
        return { up: false, reason: 'load_failed', message: 'whisper-server has not been started' };
      case 'closed':
        return { up: false, reason: 'closed', message: 'whisper-server was stopped' };
    }
  }

  /** Process id of the running child (tests stop and kill it to check the healing). */
  get pid(): number | undefined {
    return this.state.kind === 'running' ? this.state.child.pid : undefined;
  }

  /** The running child's address, e.g. `http://127.0.0.1:40123` (tests probe its refusals). */
  get url(): string | undefined {
    return this.state.kind === 'running' ? this.state.child.client.baseUrl : undefined;
  }

  /** The time limit for a request with `samples` samples of audio. */
  timeoutMsFor(samples: number): number {
    const t = { ...(this.device === 'cpu' ? CPU_REQUEST_TIMEOUT : GPU_REQUEST_TIMEOUT), ...this.opts.requestTimeout };
    return Math.round(t.baseMs + (t.perAudioSecondMs * samples) / SAMPLE_RATE);
  }

  /** Resolves the device, starts the child and waits until it is verified and ready. */
  load(): Promise<void> {
    this.loading ??= (async () => {
      if (this.state.kind === 'closed') throw new Error('engine closed');
      this.decision = await resolveDevice(this.opts.device, this.opts.backends, this.opts.probe);
      this.log(this.opts.device !== 'auto' && this.decision.reason.includes('using the CPU') ? 'warn' : 'info', `device: ${this.decision.device} (${this.decision.reason})`);
      // The first start is not retried: a model that cannot load is a configuration problem.
      const ready = this.spawn();
      this.state = { kind: 'starting', ready };
      let child: WhisperChild;
      try {
        child = await ready;
      } catch (err) {
        if (this.state.kind === 'starting') this.state = { kind: 'unloaded' };
        throw err;
      }
      this.adopt(child);
      this.log('info', `${this.name} ready`);
    })();
    return this.loading;
  }

  async transcribe(samples: Float32Array, options: { language: string; signal?: AbortSignal; maxTokens?: number; audioCtx?: number; prompt?: string }): Promise<AsrResult> {
    const signal = options.signal ?? new AbortController().signal;
    if (signal.aborted) throw abortError();
    if (this.state.kind === 'closed') throw new AsrEngineError('failed', 'speech recognition engine is closed');
    await race(this.load(), signal, abortError);
    const timeoutMs = this.timeoutMsFor(samples.length);
    // A child that dies under a request (or had died just before it, unnoticed) gets one retry
    // on its replacement; a segment that kills two children is given up on.
    for (let attempt = 0; ; attempt++) {
      const child = await this.readyChild(signal, timeoutMs);
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const result = await child.client.inference(samples, options.language, AbortSignal.any([signal, timeout, this.lifetime.signal]), {
          ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
          ...(options.audioCtx !== undefined ? { audioCtx: options.audioCtx } : {}),
          ...(options.prompt !== undefined ? { prompt: options.prompt } : {}),
        });
        this.failures = 0;
        return result;
      } catch (err) {
        if (signal.aborted) throw abortError();
        if (this.lifetime.signal.aborted) throw new AsrEngineError('failed', 'speech recognition engine is closed');
        if (timeout.aborted) {
          this.kill(child, `no answer within ${timeoutMs} ms for ${(samples.length / SAMPLE_RATE).toFixed(1)} s of audio`);
          throw new AsrEngineError('timeout', `speech recognition took longer than ${timeoutMs} ms; the engine is being restarted`);
        }
        if (!(err instanceof WhisperRequestError)) throw err;
        if (err.failure === 'bad_answer') throw new AsrEngineError('failed', err.message);
        if (child.killedByUs) throw new AsrEngineError('timeout', 'the engine was restarted after a time-out; this segment was lost');
        const died = await settlesWithin(child.exited, 1000);
        if (!died) {
          // Alive but the connection broke or was refused: do not trust it any more.
          this.kill(child, `request failed on a live child: ${err.message}`);
          throw new AsrEngineError('failed', 'speech recognition failed; the engine is being restarted');
        }
        if (attempt === 0) {
          this.log('warn', 'whisper-server exited during a request; retrying it once on the restarted child');
          continue;
        }
        throw new AsrEngineError('crashed', 'the speech recognition engine stopped twice while working on this segment; it is being restarted');
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const st = this.state;
      this.state = { kind: 'closed' };
      this.lifetime.abort();
      if (st.kind === 'starting') await st.ready.catch(() => undefined);
      if (st.kind !== 'running') return;
      const { child } = st;
      child.kill('SIGTERM');
      // whisper-server stops gracefully on SIGTERM (printing its timings); a wedged one is killed.
      if (!(await settlesWithin(child.exited, 3000))) {
        child.kill('SIGKILL');
        await child.exited;
      }
    })();
    return this.closing;
  }

  /** The running child, waiting for a (re)start in progress, at most `budgetMs` beyond the start time. */
  private async readyChild(signal: AbortSignal, budgetMs: number): Promise<WhisperChild> {
    const st = this.state;
    if (st.kind === 'running') return st.child;
    if (st.kind === 'closed' || st.kind === 'unloaded') throw new AsrEngineError('failed', 'speech recognition engine is not running');
    const wait = AbortSignal.any([signal, AbortSignal.timeout(this.opts.startTimeoutMs + budgetMs)]);
    try {
      return await race(st.ready, wait, () => (signal.aborted ? abortError() : new AsrEngineError('failed', 'the speech recognition engine did not come back in time')));
    } catch (err) {
      if (err instanceof AsrEngineError || (err as Error).name === 'AbortError') throw err;
      throw new AsrEngineError('failed', 'speech recognition engine is closed');
    }
  }

  /**
   * SIGKILLs `child` if it is the running one and starts its replacement at once, so the next
   * job waits for the new child instead of being sent to the dying one.
   */
  private kill(child: WhisperChild, why: string): void {
    if (this.state.kind !== 'running' || this.state.child !== child) return;
    this.log('warn', `killing whisper-server (pid ${child.pid}): ${why}`);
    child.kill('SIGKILL');
    this.failures++;
    this.restart(0);
  }

  /** Makes `child` the running one and restarts when it exits. */
  private adopt(child: WhisperChild): void {
    if (this.state.kind === 'closed') {
      child.kill('SIGKILL');
      return;
    }
    this.state = { kind: 'running', child };
    void child.exited.then(() => {
      if (this.state.kind !== 'running' || this.state.child !== child) return;
      this.failures++;
      const delayMs = this.backoffMs();
      this.log('error', `whisper-server (pid ${child.pid}) died (${child.exitInfo()}); restarting in ${delayMs} ms. Last output: ${child.tail(4).join(' | ')}`);
      this.restart(delayMs);
    });
  }

  /** Starts a new child after `delayMs`, retrying with growing delays until one runs or the engine closes. */
  private restart(delayMs: number): void {
    const ready = (async () => {
      for (let delay = delayMs; ; delay = this.backoffMs()) {
        await sleep(delay, this.lifetime.signal);
        try {
          return await this.spawn();
        } catch (err) {
          if (this.lifetime.signal.aborted) throw err;
          this.failures++;
          this.log('error', `whisper-server restart failed: ${(err as Error).message}; next attempt in ${this.backoffMs()} ms`);
        }
      }
    })();
    ready.catch(() => undefined);
    this.state = { kind: 'starting', ready };
    void ready.then((child) => {
      if (this.state.kind === 'starting' && this.state.ready === ready) {
        this.adopt(child);
        this.log('info', `whisper-server restarted (pid ${child.pid})`);
      } else {
        child.kill('SIGKILL');
      }
    }, () => undefined);
  }

  private backoffMs(): number {
    return Math.min(this.opts.restartMaxMs, this.opts.restartBaseMs * 2 ** Math.max(0, this.failures - 1));
  }

  private spawn(): Promise<WhisperChild> {
    return startChild({
      serverBin: this.opts.serverBin,
      args: this.args(),
      startTimeoutMs: this.opts.startTimeoutMs,
      signal: this.lifetime.signal,
      onLine: (line) => this.onLine(line),
      note: (msg) => this.log('debug', msg),
    });
  }

  private args(): string[] {
    const decision = this.decision ?? { device: 'cpu' as const, gpuIndex: 0 };
    const args = [
      '--model', this.opts.modelPath,
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

  /** Passes the child's output on; notices a GPU fallback. */
  private onLine(line: string): void {
    this.opts.onOutput?.(line);
    if (this.decision && this.decision.device !== 'cpu' && line.includes('no GPU found')) {
      this.log('warn', `whisper.cpp found no ${this.decision.device} device and runs on the CPU`);
      this.decision = { device: 'cpu', gpuIndex: 0, reason: 'whisper.cpp found no GPU' };
    }
  }
}
