/**
 * A {@link VadModel} fake for tests: the speech probability is a logistic function of the
 * frame's RMS level, so a −20 dBFS tone is "speech" (≈1) and silence or a −60 dBFS floor is not
 * (≈0). Counts the frames it was asked about. Tests only.
 */
import { rmsDbfs } from '../front/gates.js';
import type { VadModel, VadStream } from '../vad/types.js';

/** Options of {@link FakeVad}. */
export interface FakeVadOptions {
  /** RMS level at which the probability is 0.5. Default −40 dBFS. */
  midpointDbfs?: number;
  /** Logistic slope width in dB. Default 2 dB. */
  widthDb?: number;
  /** Replaces the RMS rule: probability of the `index`-th frame this stream saw. */
  probability?: (frame: Float32Array, index: number) => number;
}

/** Probability from RMS: `1 / (1 + e^(−(rms − midpoint)/width))`. */
export function probabilityFromRms(frame: Float32Array, midpointDbfs = -40, widthDb = 2): number {
  return 1 / (1 + Math.exp(-(rmsDbfs(frame) - midpointDbfs) / widthDb));
}

/** Fake VAD model; see the module comment. */
export class FakeVad implements VadModel {
  readonly name = 'fake-rms';
  /** Frames processed by all streams of this model. */
  framesProcessed = 0;
  loaded = false;
  closed = false;

  constructor(private readonly options: FakeVadOptions = {}) {}

  async load(): Promise<void> {
    this.loaded = true;
  }

  createStream(): VadStream {
    let index = 0;
    return {
      process: async (frame: Float32Array) => {
        this.framesProcessed++;
        const i = index++;
        if (this.options.probability) return this.options.probability(frame, i);
        return probabilityFromRms(frame, this.options.midpointDbfs, this.options.widthDb);
      },
      reset: () => {
        index = 0;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
