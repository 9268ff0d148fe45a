/**
 * The newest audio of one stream, kept on the main thread beside a front that runs in a
 * worker, so the open segment's audio (for partials) needs no round trip. It keeps the PCM16
 * bytes as received (a copy, no conversion: most of it is never asked for) and turns samples
 * into floats only when asked, exactly as the front's FrameAssembler does (the same `toFloat`;
 * a sample split across two chunks is whole here because the bytes are contiguous). Bounded:
 * the last `capacitySamples`, growing to that only as audio arrives.
 */
import { toFloat } from '../audio/frames.js';

const FIRST_BYTES = 32_768;

export class RecentAudio {
  private buf = new Uint8Array(0);
  /** Bytes appended since the start. */
  private totalBytes = 0;
  private readonly capacityBytes: number;

  constructor(readonly capacitySamples: number) {
    if (!Number.isInteger(capacitySamples) || capacitySamples < 1) throw new Error('capacitySamples must be a positive integer');
    this.capacityBytes = 2 * capacitySamples;
  }

  /** Whole samples appended so far. */
  get receivedSamples(): number {
    return this.totalBytes >> 1;
  }

  /** Appends PCM16 LE bytes (any length; an odd byte pairs with the next chunk's first). */
  append(pcm16: Uint8Array): void {
    const n = pcm16.length;
    // Only the newest `capacity` bytes of a long chunk can stay.
    const skip = Math.max(0, n - this.capacityBytes);
    this.totalBytes += skip;
    this.reserve(n - skip);
    const len = this.buf.length;
    for (let i = skip; i < n; ) {
      const at = this.totalBytes % len;
      const run = Math.min(n - i, len - at);
      this.buf.set(pcm16.subarray(i, i + run), at);
      this.totalBytes += run;
      i += run;
    }
  }

  /**
   * Samples [`from`, `to`) as floats; samples no longer (or not yet) held are zeros. Within the
   * bound, this is exactly the audio the front received there.
   */
  slice(from: number, to: number): Float32Array {
    const out = new Float32Array(Math.max(0, to - from));
    const len = this.buf.length;
    const oldestByte = this.totalBytes - Math.min(this.totalBytes, len);
    // A sample is held when both its bytes are.
    const a = Math.max(from, Math.ceil(oldestByte / 2));
    const b = Math.min(to, this.totalBytes >> 1);
    for (let s = a; s < b; s++) {
      const lo = (2 * s) % len;
      out[s - from] = toFloat(this.buf[lo]!, this.buf[(lo + 1) % len]!);
    }
    return out;
  }

  /** Grows the buffer (before it first wraps) so `more` bytes fit, up to the capacity. */
  private reserve(more: number): void {
    const len = this.buf.length;
    if (len === this.capacityBytes || this.totalBytes + more <= len) return;
    const size = Math.min(this.capacityBytes, Math.max(FIRST_BYTES, 2 * len, this.totalBytes + more));
    const next = new Uint8Array(size);
    // Not wrapped yet (it grows only while everything fits): byte i is at index i. After a
    // skip, what was kept is older than the window and is overwritten by the chunk itself.
    next.set(this.buf.subarray(0, Math.min(len, this.totalBytes)));
    this.buf = next;
  }
}
