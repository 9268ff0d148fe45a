/**
 * Adaptive symmetric score normalisation (AS-norm) against a cohort of embeddings — pure.
 *
 * A raw cosine between two embeddings depends on the recording conditions of both sides (a
 * reverberant, noisy, band-limited segment scores lower against everyone, and a voice near the
 * cohort's centre scores higher against everyone). Normalising each side against its own
 * scores to a cohort of other speakers removes most of that:
 *
 *   s_norm = ½ · ((s − μ_a)/σ_a + (s − μ_b)/σ_b)
 *
 * where μ, σ are the mean and deviation of a side's `topK` highest cosines to the cohort (the
 * cohort speakers most like it: "adaptive"). The result is in deviations (different speakers
 * ≈ 0 or below); `similarity()` maps it monotonically onto (−1, 1) with
 * tanh((s_norm − offset) / scale), `offset` and `scale` chosen at calibration so that
 * different speakers sit near 0 and the equal-error point lands where the configured threshold
 * is (0.6): the rest of the pipeline keeps thinking in "similarity".
 */
import { dot } from './linalg.js';

/** Cosine of two vectors (0 when either is all zeros). */
function cos(a: Float32Array, b: Float32Array): number {
  const n = Math.sqrt(dot(a, a) * dot(b, b));
  return n > 0 ? dot(a, b) / n : 0;
}

export interface ScoreNormOptions {
  /** How many of the highest cohort scores give μ and σ (0 or ≥ cohort size: all of them). */
  topK: number;
  /** Divisor before tanh, in deviations. */
  scale: number;
  /** Subtracted before dividing, in deviations (default 0). */
  offset?: number;
}

interface SideStats {
  mean: number;
  std: number;
}

/** Mean and deviation of the `k` largest values (all when k ≤ 0 or k ≥ n). */
export function topKStats(values: ArrayLike<number>, k: number): SideStats {
  const sorted = Array.from(values).sort((a, b) => b - a);
  const kept = k > 0 && k < sorted.length ? sorted.slice(0, k) : sorted;
  if (!kept.length) return { mean: 0, std: 1 };
  const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
  const variance = kept.reduce((a, b) => a + (b - mean) ** 2, 0) / kept.length;
  return { mean, std: Math.max(Math.sqrt(variance), 1e-3) };
}

export class ScoreNormalizer {
  readonly cohort: readonly Float32Array[];
  readonly options: Readonly<ScoreNormOptions>;
  /** Per-embedding cohort statistics; embeddings are immutable once made, so a weak cache is safe. */
  private readonly cache = new WeakMap<Float32Array, SideStats>();

  /** `cohort`: unit-length embeddings of other speakers, made by the same encoder. */
  constructor(cohort: readonly Float32Array[], options: ScoreNormOptions) {
    if (!cohort.length) throw new Error('score normalisation needs a non-empty cohort');
    if (!(options.scale > 0)) throw new Error('score normalisation scale must be positive');
    this.cohort = cohort;
    this.options = Object.freeze({ ...options });
  }

  /** μ and σ of one side's top-K cosines to the cohort. */
  stats(e: Float32Array): SideStats {
    let s = this.cache.get(e);
    if (!s) {
      s = topKStats(this.cohort.map((c) => cos(e, c)), this.options.topK);
      this.cache.set(e, s);
    }
    return s;
  }

  /** The AS-norm score of a raw cosine `raw` between `a` and `b`, in deviations. */
  normalize(raw: number, a: Float32Array, b: Float32Array): number {
    const sa = this.stats(a);
    const sb = this.stats(b);
    return 0.5 * ((raw - sa.mean) / sa.std + (raw - sb.mean) / sb.std);
  }

  /** AS-norm of the cosine of `a` and `b`, mapped onto (−1, 1). */
  similarity(a: Float32Array, b: Float32Array): number {
    return Math.tanh((this.normalize(cos(a, b), a, b) - (this.options.offset ?? 0)) / this.options.scale);
  }
}

/** The `scale` that maps the normalised decision point `atNorm` (after the offset) to the similarity `threshold`. */
export function scaleFor(atNorm: number, threshold: number): number {
  return atNorm / Math.atanh(threshold);
}

/** Threshold of equal false-accept and false-reject rates between two score lists. */
export function equalErrorThreshold(target: readonly number[], nontarget: readonly number[]): number {
  const all = [...target.map((s) => [s, 1] as const), ...nontarget.map((s) => [s, 0] as const)].sort((a, b) => a[0] - b[0]);
  let fn = 0;
  let fp = nontarget.length;
  let best = { gap: Infinity, threshold: 0 };
  for (let i = 0; i < all.length; i++) {
    if (all[i]![1] === 1) fn++;
    else fp--;
    const gap = Math.abs(fn / Math.max(1, target.length) - fp / Math.max(1, nontarget.length));
    if (gap < best.gap) best = { gap, threshold: (all[i]![0] + (all[i + 1]?.[0] ?? all[i]![0])) / 2 };
  }
  return best.threshold;
}

/**
 * A normaliser calibrated from the cohort itself, for an encoder with no stored calibration
 * (the neural path): each cohort speaker gives two embeddings (two halves of one clip); the
 * same-speaker pairs and the different-speaker pairs are AS-normalised against the rest of
 * the cohort (both speakers of a trial left out), and the scale puts their equal-error point
 * at `threshold`.
 */
export function calibratedFromHalves(halves: ReadonlyArray<readonly [Float32Array, Float32Array]>, topK: number, threshold: number): ScoreNormalizer {
  if (halves.length < 3) throw new Error('cohort calibration needs at least three speakers');
  const target: number[] = [];
  const nontarget: number[] = [];
  for (let i = 0; i < halves.length; i++) {
    for (let j = i; j < halves.length; j++) {
      const rest = halves.filter((_, k) => k !== i && k !== j).flatMap((h) => [h[0], h[1]]);
      const norm = new ScoreNormalizer(rest, { topK, scale: 1 });
      const a = halves[i]![0];
      const b = halves[j]![1];
      (i === j ? target : nontarget).push(norm.normalize(cos(a, b), a, b));
    }
  }
  const offset = [...nontarget].sort((x, y) => x - y)[Math.floor(nontarget.length / 2)]!;
  const atNorm = Math.max(offset + 0.1, equalErrorThreshold(target, nontarget));
  return new ScoreNormalizer(halves.flatMap((h) => [h[0], h[1]]), { topK, offset, scale: scaleFor(atNorm - offset, threshold) });
}
