/**
 * Who is who without enrollment — pure. Embeddings of a recording's speech (whole segments
 * and windows of long ones) are clustered into at most two speakers by average-linkage
 * agglomerative clustering on cosine similarity, refined by re-assigning every item to the
 * nearer centroid, and relabelled so that speaker 0 is the first to speak. Two clusters whose
 * split explains too little (or whose centroids are nearly the same voice) are one speaker;
 * that decision is made on the encoder's normalised similarity when it has one.
 */
import { cosine } from './matcher.js';

/** One embedded stretch of speech. */
export interface ClusterItem {
  embedding: Float32Array;
  /** Start of the stretch (any monotonic unit, e.g. samples): speaker 0 is the earliest. */
  start: number;
  /** Seconds of speech it stands for (weights the centroids). */
  weightS: number;
}

export interface ClusterOptions {
  /** 1 forces one speaker; 2 (default) allows two. */
  maxSpeakers: 1 | 2;
  /**
   * Two clusters are one voice when their centroids are at least this similar, or when
   * splitting explains too little: the weighted mean similarity of the items to their own
   * cluster's centroid gains less than `minSplitGain` over their similarity to the one global
   * centroid. Both on the scale of `similarity` (see `clusterOptionsFor`).
   */
  sameSpeakerSimilarity: number;
  minSplitGain: number;
  /** Items clustered directly at most; the rest are only assigned (bounds time to O(n²)). */
  maxLinkageItems: number;
  /** Nearest-centroid refinement rounds. */
  refineRounds: number;
  /** A cluster with less than this share of the speech is noise, not a second person. */
  minSpeakerShare: number;
  /**
   * When the split found such a small cluster, its items are set aside as outliers (babble,
   * a cough, a door) and the rest is clustered again, at most this many times; the items set
   * aside are then given to the nearer centroid. Average linkage isolates a few odd items
   * before it splits two similar voices, so without this a recording with a little noise is
   * called one speaker. Default 2.
   */
  outlierRounds: number;
  /**
   * Similarity used for the one-speaker decision (centroid similarity and split gain); the
   * clustering itself always uses cosine. Default cosine.
   */
  similarity?: (a: Float32Array, b: Float32Array) => number;
  /** Which scale the thresholds are for (documentation; the file path picks `similarity` from it). */
  decisionScale: 'cosine' | 'normalised';
}

/**
 * Raw-cosine decision: the values calibrated on the first built-in encoder. With today's
 * encoders raw cosine does not separate one voice from two on the dev data (centroid
 * similarity overlaps by 0.12, gain by 0.045: `scripts/research/calibrate-cluster.ts`), so it is only
 * the fallback for an encoder without score normalisation.
 */
export const DEFAULT_CLUSTER: Readonly<ClusterOptions> = Object.freeze({
  maxSpeakers: 2,
  sameSpeakerSimilarity: 0.85,
  minSplitGain: 0.02,
  maxLinkageItems: 600,
  refineRounds: 5,
  minSpeakerShare: 0.05,
  outlierRounds: 2,
  decisionScale: 'cosine',
});

/**
 * Decision on the encoder's AS-normalised similarity (`encoder.scoreNorm`), the scale the
 * live matcher uses. Measured with `npx tsx scripts/research/calibrate-cluster.ts` (docs/tuning-log.md,
 * "The file path"): the split gain of one-speaker recordings (jfk.wav, each LibriSpeech dev speaker's
 * utterances joined, the 8 field enrollment clips) is 0.001–0.012, of the 12 two-speaker dev
 * conversations (clean and field) 0.031–0.111: 0.02 sits in the gap. The normalised centroid
 * similarity does not separate them (one voice 0.79–0.99, two voices up to 0.96), so it takes
 * no part (1 is never reached by tanh).
 */
export const NORMALISED_CLUSTER: Readonly<Omit<ClusterOptions, 'similarity'>> = Object.freeze({
  ...DEFAULT_CLUSTER,
  sameSpeakerSimilarity: 1,
  minSplitGain: 0.02,
  decisionScale: 'normalised',
});

/** Options for an encoder: the normalised decision when it has score normalisation, else raw cosine. */
export function clusterOptionsFor(scoreNorm: { similarity(a: Float32Array, b: Float32Array): number } | null | undefined): Partial<ClusterOptions> {
  if (!scoreNorm) return { ...DEFAULT_CLUSTER };
  return { ...NORMALISED_CLUSTER, similarity: (a, b) => scoreNorm.similarity(a, b) };
}

export interface ClusterResult {
  /** Speakers found: 0 (no items), 1 or 2. */
  speakers: number;
  /** Per item: its speaker (0 or 1), in the input order. */
  labels: number[];
  /** Unit-length centroid of each speaker. */
  centroids: Float32Array[];
  /** Similarity of the two centroids before the one-speaker decision (null with < 2 clusters). */
  centroidSimilarity: number | null;
  /** Split gain and the smaller cluster's share of the speech, before the decision (null with < 2 clusters). */
  splitGain: number | null;
  minorShare: number | null;
}

function normalised(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const s = n > 0 ? 1 / Math.sqrt(n) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * s;
  return out;
}

/** Weighted mean of unit vectors, made unit length again. */
function centroid(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const dim = vectors[0]?.length ?? 0;
  const sum = new Float32Array(dim);
  vectors.forEach((v, k) => {
    const w = weights[k]!;
    for (let i = 0; i < dim; i++) sum[i]! += w * v[i]!;
  });
  return normalised(sum);
}

/**
 * Average-linkage agglomerative clustering down to two clusters (Lance–Williams update on a
 * similarity matrix). Returns each item's cluster, 0 or 1.
 */
export function agglomerate2(vectors: readonly Float32Array[], weights: readonly number[]): number[] {
  const n = vectors.length;
  if (n < 2) return vectors.map(() => 0);
  const sim = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sim[i * n + j] = sim[j * n + i] = cosine(vectors[i]!, vectors[j]!);
  const size = weights.map((w) => Math.max(1e-6, w));
  const alive = new Uint8Array(n).fill(1);
  const parent = Array.from({ length: n }, (_, i) => i);
  // Best partner of each live cluster, recomputed only when stale (keeps merges near O(n)).
  const best = new Int32Array(n);
  const bestOf = (i: number) => {
    let b = -1;
    let bs = -Infinity;
    for (let j = 0; j < n; j++) if (j !== i && alive[j] && sim[i * n + j]! > bs) (bs = sim[i * n + j]!), (b = j);
    return b;
  };
  for (let i = 0; i < n; i++) best[i] = bestOf(i);
  for (let clusters = n; clusters > 2; clusters--) {
    let a = -1;
    let as = -Infinity;
    for (let i = 0; i < n; i++) if (alive[i] && sim[i * n + best[i]!]! > as) (as = sim[i * n + best[i]!]!), (a = i);
    const b = best[a]!;
    // Merge b into a: average linkage, weighted by the clusters' speech.
    const wa = size[a]!;
    const wb = size[b]!;
    for (let k = 0; k < n; k++) {
      if (!alive[k] || k === a || k === b) continue;
      const s = (wa * sim[a * n + k]! + wb * sim[b * n + k]!) / (wa + wb);
      sim[a * n + k] = sim[k * n + a] = s;
    }
    size[a] = wa + wb;
    alive[b] = 0;
    parent[b] = a;
    for (let i = 0; i < n; i++) if (alive[i] && (i === a || best[i] === a || best[i] === b)) best[i] = bestOf(i);
    // A merge can only lower similarities to `a`; others whose best was `a` were refreshed above.
    for (let i = 0; i < n; i++) if (alive[i] && i !== a && sim[i * n + a]! > sim[i * n + best[i]!]!) best[i] = a;
  }
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const roots = [...new Set(Array.from({ length: n }, (_, i) => root(i)))];
  return Array.from({ length: n }, (_, i) => (root(i) === roots[0] ? 0 : 1));
}

/** Evenly spread indices, at most `max` of `n`. */
function spread(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, k) => Math.floor((k * n) / max));
}

/** Clusters the items into one or two speakers; see the module comment. */
export function clusterSpeakers(items: readonly ClusterItem[], options: Partial<ClusterOptions> = {}): ClusterResult {
  const o = { ...DEFAULT_CLUSTER, ...options };
  if (items.length === 0) return { speakers: 0, labels: [], centroids: [], centroidSimilarity: null, splitGain: null, minorShare: null };
  const vecs = items.map((it) => normalised(it.embedding));
  const weights = items.map((it) => it.weightS);
  const one = (sim: number | null, splitGain: number | null = null, minorShare: number | null = null): ClusterResult => ({
    speakers: 1,
    labels: items.map(() => 0),
    centroids: [centroid(vecs, weights)],
    centroidSimilarity: sim,
    splitGain,
    minorShare,
  });
  if (o.maxSpeakers === 1 || items.length < 2) return one(null);
  const similarity = o.similarity ?? cosine;

  const total = Math.max(1e-9, weights.reduce((a, w) => a + w, 0));
  const global = centroid(vecs, weights);
  const active = new Uint8Array(items.length).fill(1);
  let labels: number[] = [];
  let centroids: Float32Array[] = [];
  let sim = 0;
  let gain = 0;
  let minor = 0;
  for (let attempt = 0; ; attempt++) {
    const members = Array.from({ length: items.length }, (_, i) => i).filter((i) => active[i]);
    const picked = spread(members.length, o.maxLinkageItems).map((k) => members[k]!);
    const initial = agglomerate2(picked.map((i) => vecs[i]!), picked.map((i) => weights[i]!));
    centroids = [0, 1].map((c) => {
      const inC = picked.filter((_, k) => initial[k] === c);
      return centroid(inC.map((i) => vecs[i]!), inC.map((i) => weights[i]!));
    });
    labels = [];
    const hasMembers = (c: number) => members.some((i) => labels[i] === c);
    for (let round = 0; round < o.refineRounds; round++) {
      const next = vecs.map((v) => (cosine(v, centroids[0]!) >= cosine(v, centroids[1]!) ? 0 : 1));
      const same = next.every((l, i) => l === labels[i]);
      labels = next;
      if (!hasMembers(0) || !hasMembers(1)) break;
      centroids = [0, 1].map((c) => {
        const inC = members.filter((i) => labels[i] === c);
        return centroid(inC.map((i) => vecs[i]!), inC.map((i) => weights[i]!));
      });
      if (same) break;
    }
    if (!hasMembers(0) || !hasMembers(1)) return one(null);
    sim = similarity(centroids[0]!, centroids[1]!);
    const activeTotal = Math.max(1e-9, members.reduce((a, i) => a + weights[i]!, 0));
    const share = members.reduce((a, i) => a + (labels[i] === 1 ? weights[i]! : 0), 0) / activeTotal;
    gain = 0;
    vecs.forEach((v, i) => (gain += (weights[i]! * (similarity(v, centroids[labels[i]!]!) - similarity(v, global))) / total));
    minor = Math.min(share, 1 - share);
    if (minor >= o.minSpeakerShare || attempt >= o.outlierRounds) break;
    const small = share < 0.5 ? 1 : 0;
    const left = members.filter((i) => labels[i] !== small);
    if (left.length < 2) break;
    for (const i of members) if (labels[i] === small) active[i] = 0;
  }
  if (sim >= o.sameSpeakerSimilarity || gain < o.minSplitGain || minor < o.minSpeakerShare) return one(sim, gain, minor);
  // Speaker 0 = whoever speaks first.
  let first = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.start < items[first]!.start) first = i;
  if (labels[first] === 1) {
    labels = labels.map((l) => 1 - l);
    centroids = [centroids[1]!, centroids[0]!];
  }
  return { speakers: 2, labels, centroids, centroidSimilarity: sim, splitGain: gain, minorShare: minor };
}
