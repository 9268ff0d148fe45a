/**
 * Power spectrum of one real frame for the speaker front end, on reused scratch buffers (the
 * front end calls it ~100 times per second of audio, so it avoids allocating per frame).
 *
 * A real frame of n samples is transformed as a complex one of n/2 (even samples as the real
 * part, odd ones as the imaginary part) and the two interleaved halves are separated after:
 * the same spectrum as a full n-point transform for about half the work. The speaker front end
 * was the largest share of the server's CPU after Silero (profiled on the field set: ~38 %).
 */
import { fftInPlace } from '../audio/fft.js';

interface Scratch {
  re: Float64Array;
  im: Float64Array;
  /** cos and sin of 2πk/n for k = 0…n/2. */
  cos: Float64Array;
  sin: Float64Array;
}

const scratch = new Map<number, Scratch>();

function scratchFor(n: number): Scratch {
  let s = scratch.get(n);
  if (!s) {
    const half = n / 2;
    s = { re: new Float64Array(half), im: new Float64Array(half), cos: new Float64Array(half + 1), sin: new Float64Array(half + 1) };
    for (let k = 0; k <= half; k++) {
      s.cos[k] = Math.cos((2 * Math.PI * k) / n);
      s.sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    scratch.set(n, s);
  }
  return s;
}

/**
 * |X[k]|² for k = 0…n/2 of the real frame `x` (length n, a power of two), written to `out`
 * (length n/2+1).
 */
export function powerSpectrum(x: Float64Array, out: Float64Array): void {
  const n = x.length;
  if (n < 2 || (n & (n - 1)) !== 0) throw new Error('frame length must be a power of two');
  const half = n / 2;
  const { re, im, cos, sin } = scratchFor(n);
  for (let j = 0; j < half; j++) {
    re[j] = x[2 * j]!;
    im[j] = x[2 * j + 1]!;
  }
  fftInPlace(re, im);
  // Z = FFT(z), z[j] = x[2j] + i·x[2j+1]. With M = conj(Z[(n/2 − k) mod n/2]):
  // even part E = (Z[k] + M)/2, odd part O = (Z[k] − M)/(2i), X[k] = E + e^(−2πik/n)·O.
  for (let k = 0; k <= half; k++) {
    const a = re[k % half]!;
    const b = im[k % half]!;
    const m = (half - k) % half;
    const c = re[m]!;
    const d = im[m]!;
    const er = (a + c) / 2;
    const ei = (b - d) / 2;
    const or = (b + d) / 2;
    const oi = (c - a) / 2;
    const xr = er + cos[k]! * or + sin[k]! * oi;
    const xi = ei + cos[k]! * oi - sin[k]! * or;
    out[k] = xr * xr + xi * xi;
  }
}
