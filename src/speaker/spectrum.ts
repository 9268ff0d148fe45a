/**
 * Power spectrum of one real frame (radix-2, in place on scratch buffers). Kept local to the
 * speaker front end so its numbers do not move when other modules change their FFT.
 */

const tables = new Map<number, { cos: Float64Array; sin: Float64Array; rev: Uint32Array }>();

function tableFor(n: number) {
  let t = tables.get(n);
  if (!t) {
    const bits = Math.log2(n);
    const cos = new Float64Array(n / 2);
    const sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / n);
      sin[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    const rev = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev[i] = r;
    }
    t = { cos, sin, rev };
    tables.set(n, t);
  }
  return t;
}

const scratch = new Map<number, { re: Float64Array; im: Float64Array }>();

/**
 * |X[k]|² for k = 0…n/2 of the real frame `x` (length n, a power of two), written to `out`
 * (length n/2+1).
 */
export function powerSpectrum(x: Float64Array, out: Float64Array): void {
  const n = x.length;
  if (n < 2 || (n & (n - 1)) !== 0) throw new Error('frame length must be a power of two');
  const { cos, sin, rev } = tableFor(n);
  let s = scratch.get(n);
  if (!s) {
    s = { re: new Float64Array(n), im: new Float64Array(n) };
    scratch.set(n, s);
  }
  const { re, im } = s;
  for (let i = 0; i < n; i++) {
    re[rev[i]!] = x[i]!;
    im[rev[i]!] = 0;
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let j = 0; j < half; j++) {
        const wr = cos[j * step]!;
        const wi = sin[j * step]!;
        const a = start + j;
        const b = a + half;
        const tr = re[b]! * wr - im[b]! * wi;
        const ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
  for (let k = 0; k <= n / 2; k++) out[k] = re[k]! * re[k]! + im[k]! * im[k]!;
}
