/**
 * Power spectrum of one real frame for the speaker front end, on reused scratch buffers (the
 * front end calls it ~100 times per second of audio, so it avoids allocating per frame).
 */
import { fftInPlace } from '../audio/fft.js';

const scratch = new Map<number, { re: Float64Array; im: Float64Array }>();

/**
 * |X[k]|² for k = 0…n/2 of the real frame `x` (length n, a power of two), written to `out`
 * (length n/2+1).
 */
export function powerSpectrum(x: Float64Array, out: Float64Array): void {
  const n = x.length;
  if (n < 2 || (n & (n - 1)) !== 0) throw new Error('frame length must be a power of two');
  let s = scratch.get(n);
  if (!s) {
    s = { re: new Float64Array(n), im: new Float64Array(n) };
    scratch.set(n, s);
  }
  const { re, im } = s;
  re.set(x);
  im.fill(0);
  fftInPlace(re, im);
  for (let k = 0; k <= n / 2; k++) out[k] = re[k]! * re[k]! + im[k]! * im[k]!;
}
