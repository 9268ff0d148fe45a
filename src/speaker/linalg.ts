/**
 * The little linear algebra the built-in encoder's training needs (dense, row-major,
 * Float64Array, n ≤ a few hundred).
 */

/** Eigen-decomposition of a symmetric matrix. */
export interface Eigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Eigenvectors as rows, row i ↔ values[i]; row-major n × n. */
  vectors: Float64Array;
}

/** Cyclic Jacobi rotations on a copy of the symmetric n × n matrix `a`. */
export function symmetricEigen(a: Float64Array, n: number, maxSweeps = 100): Eigen {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = m[i * n + j]! * m[i * n + j]!;
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-22 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!;
          const akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!;
          const aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        // Columns of v accumulate the rotations: a = V diag V^T.
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[y * n + y]! - m[x * n + x]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = m[src * n + src]!;
    for (let k = 0; k < n; k++) vectors[dst * n + k] = v[k * n + src]!;
  });
  return { values, vectors };
}

/** C = A (r × k) · B (k × c). */
export function matMul(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < k; j++) {
      const x = a[i * k + j]!;
      if (x === 0) continue;
      for (let l = 0; l < c; l++) out[i * c + l] += x * b[j * c + l]!;
    }
  }
  return out;
}

/** Transpose of an r × c matrix. */
export function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j]!;
  return out;
}

/** y = M (r × c) · x. */
export function matVec(m: ArrayLike<number>, x: ArrayLike<number>, r: number, c: number, out = new Float64Array(r)): Float64Array {
  for (let i = 0; i < r; i++) {
    let s = 0;
    const row = i * c;
    for (let j = 0; j < c; j++) s += m[row + j]! * x[j]!;
    out[i] = s;
  }
  return out;
}

/** Scales `x` to unit Euclidean length in place (a zero vector stays zero). */
export function normalizeInPlace(x: Float32Array | Float64Array): void {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * inv;
}

/** Dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
