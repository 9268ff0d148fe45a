/**
 * Reassembly of PCM16 byte chunks, split anywhere, into fixed analysis frames. Pure (holds
 * only its own carry-over state).
 */
import { FRAME_SAMPLES } from './constants.js';

/** One analysis frame. */
export interface AudioFrame {
  /** Exactly `frameSamples` float samples in [-1, 1). */
  samples: Float32Array;
  /** Index of `samples[0]` counted from the last reset, at 16 kHz. */
  startSample: number;
}

/** The last, partial frame returned by {@link FrameAssembler.flush}. */
export interface PartialFrame extends AudioFrame {
  /** How many leading samples are real audio; the rest of `samples` is zero padding. */
  validSamples: number;
}

/**
 * Turns a stream of PCM16 little-endian mono chunks into frames of `frameSamples` floats,
 * each with its absolute start sample. Chunks may have any length and split samples anywhere;
 * an odd trailing byte is kept and joined with the next chunk's first byte, so even an
 * odd-length chunk (a protocol error the caller should reject) loses nothing.
 */
export class FrameAssembler {
  private readonly pending: Float32Array;
  private pendingCount = 0;
  /** Low byte of a sample whose high byte has not arrived yet, or −1. */
  private oddByte = -1;
  private emittedSamples = 0;

  /** @param frameSamples Frame length in samples (default {@link FRAME_SAMPLES}, 512). */
  constructor(readonly frameSamples: number = FRAME_SAMPLES) {
    if (!Number.isInteger(frameSamples) || frameSamples < 1) throw new Error('frameSamples must be a positive integer');
    this.pending = new Float32Array(frameSamples);
  }

  /** Samples received so far (whole samples only), counted from the last reset. */
  get receivedSamples(): number {
    return this.emittedSamples + this.pendingCount;
  }

  /** Appends one chunk and returns the frames it completed, in order (fresh arrays). */
  push(chunk: Uint8Array): AudioFrame[] {
    const frames: AudioFrame[] = [];
    let i = 0;
    if (this.oddByte >= 0 && chunk.length > 0) {
      this.append(toFloat(this.oddByte, chunk[0]!), frames);
      this.oddByte = -1;
      i = 1;
    }
    const n = chunk.length;
    for (; i + 1 < n; i += 2) this.append(toFloat(chunk[i]!, chunk[i + 1]!), frames);
    if (i < n) this.oddByte = chunk[i]!;
    return frames;
  }

  /**
   * Returns the samples not yet in a frame as one zero-padded frame, with its real sample
   * count, or null when there are none; then starts a new frame at the following index. An
   * unmatched odd byte is dropped.
   */
  flush(): PartialFrame | null {
    this.oddByte = -1;
    if (this.pendingCount === 0) return null;
    const samples = new Float32Array(this.frameSamples);
    samples.set(this.pending.subarray(0, this.pendingCount));
    const frame = { samples, startSample: this.emittedSamples, validSamples: this.pendingCount };
    this.emittedSamples += this.pendingCount;
    this.pendingCount = 0;
    return frame;
  }

  /** Drops buffered audio and restarts sample indices at 0. */
  reset(): void {
    this.pendingCount = 0;
    this.oddByte = -1;
    this.emittedSamples = 0;
  }

  private append(sample: number, frames: AudioFrame[]): void {
    this.pending[this.pendingCount++] = sample;
    if (this.pendingCount === this.frameSamples) {
      frames.push({ samples: this.pending.slice(), startSample: this.emittedSamples });
      this.emittedSamples += this.frameSamples;
      this.pendingCount = 0;
    }
  }
}

/** One PCM16 little-endian sample (low byte, high byte) as a float in [-1, 1). */
export function toFloat(lo: number, hi: number): number {
  const v = lo | (hi << 8);
  return (v >= 0x8000 ? v - 0x10000 : v) / 32768;
}
