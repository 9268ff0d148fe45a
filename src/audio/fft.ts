/**
 * A small iterative radix-2 FFT — pure. Twiddle and bit-reversal tables are cached per size,
 * which changes no result, only the time to get it.
 */

interface Tables {
  cos: Float64Array;
  sin: Float64Array;
  bitReversed: Uint32Array;
}

const tablesBySize = new Map<number, Tables>();

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

function tablesFor(n: number): Tables {
  let t = tablesBySize.get(n);
  if (t) return t;
  const bits = Math.round(Math.log2(n));
  const half = n >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  const bitReversed = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitReversed[i] = r;
  }
  t = { cos, sin, bitReversed };
  tablesBySize.set(n, t);
  return t;
}

/**
 * Forward DFT `X[k] = Σ x[j]·e^(−2πi·jk/n)` in place on `re`/`im` (same length n, a power of
 * two). Unnormalised.
 */
export function fftInPlace(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (im.length !== n) throw new Error('fft: re and im must have the same length');
  if (!isPowerOfTwo(n)) throw new Error(`fft: length ${n} is not a power of two`);
  if (n === 1) return;
  const { cos, sin, bitReversed } = tablesFor(n);
  for (let i = 0; i < n; i++) {
    const j = bitReversed[i]!;
    if (j > i) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        // e^(−2πi·k/size) = cos − i·sin, taken from the size-n table at index k·step.
        const wr = cos[k * step]!;
        const wi = -sin[k * step]!;
        const a = start + k;
        const b = a + half;
        const br = re[b]! * wr - im[b]! * wi;
        const bi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - br;
        im[b] = im[a]! - bi;
        re[a] = re[a]! + br;
        im[a] = im[a]! + bi;
      }
    }
  }
}

/**
 * Power spectrum `|X[k]|²`, k = 0…n/2, of a real signal of power-of-two length n, optionally
 * multiplied sample by sample by `window` (same length) first. Unnormalised.
 */
export function realPowerSpectrum(x: ArrayLike<number>, window?: ArrayLike<number>): Float64Array {
  const n = x.length;
  if (window && window.length !== n) throw new Error('realPowerSpectrum: window length differs from the signal');
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = window ? x[i]! * window[i]! : x[i]!;
  fftInPlace(re, im);
  const out = new Float64Array((n >> 1) + 1);
  for (let k = 0; k < out.length; k++) out[k] = re[k]! * re[k]! + im[k]! * im[k]!;
  return out;
}

const hannBySize = new Map<number, Float64Array>();

/** Periodic Hann window of length n (cached; do not modify the returned array). */
export function hannWindow(n: number): Float64Array {
  let w = hannBySize.get(n);
  if (!w) {
    w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    hannBySize.set(n, w);
  }
  return w;
}
