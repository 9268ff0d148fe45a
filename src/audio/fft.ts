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

interface RealScratch {
  re: Float64Array;
  im: Float64Array;
  /** cos and sin of 2πk/n for k = 0…n/2. */
  cos: Float64Array;
  sin: Float64Array;
}

const realScratchBySize = new Map<number, RealScratch>();

function realScratchFor(n: number): RealScratch {
  let s = realScratchBySize.get(n);
  if (!s) {
    const half = n >> 1;
    s = { re: new Float64Array(half), im: new Float64Array(half), cos: new Float64Array(half + 1), sin: new Float64Array(half + 1) };
    for (let k = 0; k <= half; k++) {
      s.cos[k] = Math.cos((2 * Math.PI * k) / n);
      s.sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    realScratchBySize.set(n, s);
  }
  return s;
}

/**
 * Power spectrum `|X[k]|²`, k = 0…n/2, of a real signal of power-of-two length n, optionally
 * multiplied sample by sample by `window` (same length) first, written to `out` (length
 * n/2+1). Unnormalised. The signal is transformed as a complex one of n/2 (even samples as the
 * real part, odd ones as the imaginary part) and the two interleaved halves are separated
 * after: the same spectrum as an n-point transform for about half the work, on scratch
 * buffers kept per size (the speech gates and the speaker front end call it for every frame;
 * the speaker front end's spectra were ~38 % of the live pipeline's CPU on the field set).
 */
export function realPowerSpectrumInto(x: ArrayLike<number>, out: Float64Array, window?: ArrayLike<number>): void {
  const n = x.length;
  if (!isPowerOfTwo(n)) throw new Error(`realPowerSpectrum: length ${n} is not a power of two`);
  if (window && window.length !== n) throw new Error('realPowerSpectrum: window length differs from the signal');
  if (out.length !== (n >> 1) + 1) throw new Error('realPowerSpectrum: out must hold n/2 + 1 values');
  const at = (i: number) => (window ? x[i]! * window[i]! : x[i]!);
  if (n === 1) {
    out[0] = at(0) ** 2;
    return;
  }
  const half = n >> 1;
  const { re, im, cos, sin } = realScratchFor(n);
  for (let j = 0; j < half; j++) {
    re[j] = at(2 * j);
    im[j] = at(2 * j + 1);
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

/** {@link realPowerSpectrumInto} into a new array. */
export function realPowerSpectrum(x: ArrayLike<number>, window?: ArrayLike<number>): Float64Array {
  const out = new Float64Array((x.length >> 1) + 1);
  realPowerSpectrumInto(x, out, window);
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
