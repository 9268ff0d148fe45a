/**
 * The newest audio of one stream as floats, kept on the main thread beside a front that runs
 * in a worker, so the open segment's audio (for partials) needs no round trip. Bytes become
 * floats exactly as the front's FrameAssembler makes them (the same `toFloat`, the same odd-byte
 * carry). Bounded: it keeps the last `capacitySamples`, growing to that only as audio arrives.
 */
import { toFloat } from '../audio/frames.js';

const FIRST_SAMPLES = 16_384;

export class RecentAudio {
  private buf = new Float32Array(0);
  /** Samples appended since the start (index of the next one). */
  private total = 0;
  /** Low byte of a sample whose high byte has not arrived yet, or −1. */
  private oddByte = -1;

  constructor(readonly capacitySamples: number) {
    if (!Number.isInteger(capacitySamples) || capacitySamples < 1) throw new Error('capacitySamples must be a positive integer');
  }

  /** Samples appended so far. */
  get receivedSamples(): number {
    return this.total;
  }

  /** Appends PCM16 LE bytes (any length; an odd byte waits for the next chunk). */
  append(pcm16: Uint8Array): void {
    let i = 0;
    const n = pcm16.length;
    if (this.oddByte >= 0 && n > 0) {
      this.put(toFloat(this.oddByte, pcm16[0]!));
      this.oddByte = -1;
      i = 1;
    }
    // Only the newest `capacity` samples of a long chunk can stay: skip the rest unconverted.
    const whole = (n - i) >> 1;
    const skip = Math.max(0, whole - this.capacitySamples);
    this.total += skip;
    i += 2 * skip;
    this.reserve(whole - skip);
    for (; i + 1 < n; i += 2) this.put(toFloat(pcm16[i]!, pcm16[i + 1]!));
    if (i < n) this.oddByte = pcm16[i]!;
  }

  /**
   * A copy of samples [`from`, `to`); samples no longer (or not yet) held are zeros. Within the
   * bound, this is exactly the audio the front received there.
   */
  slice(from: number, to: number): Float32Array {
    const out = new Float32Array(Math.max(0, to - from));
    const oldest = this.total - Math.min(this.total, this.buf.length);
    const a = Math.max(from, oldest);
    const b = Math.min(to, this.total);
    const len = this.buf.length;
    for (let s = a; s < b; ) {
      const at = s % len;
      const run = Math.min(b - s, len - at);
      out.set(this.buf.subarray(at, at + run), s - from);
      s += run;
    }
    return out;
  }

  /** Grows the buffer (before it first wraps) so `more` samples fit, up to the capacity. */
  private reserve(more: number): void {
    const len = this.buf.length;
    if (len === this.capacitySamples || this.total + more <= len) return;
    const size = Math.min(this.capacitySamples, Math.max(FIRST_SAMPLES, 2 * len, this.total + more));
    const next = new Float32Array(size);
    // Not wrapped yet (it grows only while total ≤ length): sample s is at index s.
    next.set(this.buf.subarray(0, this.total));
    this.buf = next;
  }

  private put(v: number): void {
    if (this.total >= this.buf.length) this.reserve(1);
    this.buf[this.total % this.buf.length] = v;
    this.total++;
  }
}
