/**
 * Trains the built-in speaker encoder's projection on the LibriSpeech cohort only
 * (`../shared/corpus/librispeech-cohort`, 150 speakers × 8 s, none of them in the dev
 * conversations) and writes `models/builtin/speaker-lda.json`. Deterministic: same data,
 * options and ffmpeg → same file.
 *
 *   npx tsx scripts/research/train-speaker.ts            # train, calibrate, write the model
 *   npx tsx scripts/research/train-speaker.ts --dry-run  # print cross-validated numbers only
 *   options: --dim=K --ceps=N --reg=R --drop-db=D --near=N --far=N --topk=K --no-codec
 *
 * Recipe: each cohort clip gets `near` copies as a laptop would hear an enrollment (mild
 * room, 20–35 dB SNR) and `far` copies as it would hear a conversation (synthetic room RT60
 * 0.2–0.8 s, pink noise and/or babble of three other cohort speakers at 5–25 dB SNR, a band
 * limit one time in three, Opus at 12–32 kbit/s one time in two, level −20…+2 dB), all seeded
 * (`src/speaker/augment.ts`). The clean clip and its copies are cut into 1.5 s and 3 s windows
 * (hop 0.5 s) as same-speaker samples; their statistics are standardised, the within-speaker
 * scatter (which now holds the room, noise and codec variation) is whitened and the
 * between-speaker scatter diagonalised (LDA); the top K directions are kept.
 *
 * Score normalisation and calibration: the model stores cohort embeddings (each speaker's
 * clean clip and one far copy) for AS-norm (`src/speaker/snorm.ts`). 5-fold cross-validation
 * over cohort speakers scores held-out trials the way the server does: a profile from a near
 * copy's first part (whole + 2.5 s sub-windows) against 1, 1.5 and 3 s pieces of the last 3 s
 * of far copies, AS-normalised against the training folds' cohort. The equal-error point of
 * those scores is mapped to the configured threshold 0.6 (the tanh scale of the AS-norm).
 * The dev speakers (`corpus/librispeech`) are only reported, never fitted.
 *
 * The codec pass runs ffmpeg (libopus); without ffmpeg on PATH, or with --no-codec, copies skip
 * it (a different, still deterministic model: the info block records which).
 */
import { parseFlags } from '../bench/lib/args.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { join, dirname } from 'node:path';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { applyCondition, drawCondition, type ConditionKind } from '../../src/speaker/augment.js';
import { BuiltinProjector, BUILTIN_MODEL_PATH, type BuiltinModel } from '../../src/speaker/builtin.js';
import { profileSimilarity, profilesSimilarity } from '../../src/speaker/matcher.js';
import { subWindowStarts } from '../../src/speaker/profile.js';
import { ScoreNormalizer } from '../../src/speaker/snorm.js';
import type { SpeakerProfile } from '../../src/speaker/types.js';
import { DEFAULT_FRONT_END, FrontEnd, StatsPool, energeticFrames, type FrameFeatures, type FrontEndOptions } from '../../src/speaker/features.js';
import { symmetricEigen, dot } from '../../src/speaker/linalg.js';
import { fromRoot } from '../../src/paths.js';
import { COHORT_VOICES_PATH } from '../../src/speaker/index.js';
import { CORPUS_DIR } from '../../src/testing/paths.js';
import { seededRandom } from '../../src/testing/signals.js';

const args = new Map(Object.entries(parseFlags()));
const K = Number(args.get('dim') ?? 24);
const REG = Number(args.get('reg') ?? 0.02);
const TARGET_THRESHOLD = 0.6;
const frontEndOptions: FrontEndOptions = {
  ...DEFAULT_FRONT_END,
  numCeps: Number(args.get('ceps') ?? DEFAULT_FRONT_END.numCeps),
  energyDropDb: Number(args.get('drop-db') ?? DEFAULT_FRONT_END.energyDropDb),
  floorMarginDb: Number(args.get('floor-db') ?? DEFAULT_FRONT_END.floorMarginDb),
};
const SR = 16_000;
const NEAR = Number(args.get('near') ?? 2);
const FAR = Number(args.get('far') ?? 4);
/** Highest cohort scores per side used by AS-norm. */
const TOP_K = Number(args.get('topk') ?? 60);
const WINDOWS_S = [1.5, 3];
const HOP_S = 0.5;

interface Clip { speaker: string; pool: StatsPool; near: StatsPool[]; far: StatsPool[] }

/** Whether `ffmpeg` with libopus can be run here (the codec pass is skipped otherwise). */
const CODEC = args.get('no-codec') !== 'true' && spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout?.includes('libopus') === true;

/** A round trip through Opus at `kbps` (ffmpeg), same length as the input. */
function opusRoundTrip(x: Float32Array, kbps: number): Float32Array {
  const raw = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const enc = spawnSync('ffmpeg', ['-v', 'error', '-f', 'f32le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-c:a', 'libopus', '-b:a', `${kbps}k`, '-f', 'ogg', 'pipe:1'], { input: raw, maxBuffer: 1 << 28 });
  if (enc.status !== 0) throw new Error(`ffmpeg opus encode failed: ${enc.stderr.toString()}`);
  const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'f32le', '-ar', '16000', '-ac', '1', 'pipe:1'], { input: enc.stdout, maxBuffer: 1 << 28 });
  if (dec.status !== 0) throw new Error(`ffmpeg opus decode failed: ${dec.stderr.toString()}`);
  const y = new Float32Array(dec.stdout.buffer, dec.stdout.byteOffset, Math.floor(dec.stdout.byteLength / 4));
  const out = new Float32Array(x.length);
  out.set(y.subarray(0, x.length));
  return out;
}

/** A copy of `x` under a random condition of `kind`, babble from `others`. */
function augmentedCopy(x: Float32Array, kind: ConditionKind, others: Float32Array[], rand: () => number): Float32Array {
  const c = drawCondition(kind, rand);
  const y = applyCondition(x, c, others, rand);
  return c.codecKbps !== null && CODEC ? opusRoundTrip(y, c.codecKbps) : y;
}

function loadDir(dir: string, files: string[]): Array<{ speaker: string; samples: Float32Array; file: string }> {
  return files.map((f) => ({ speaker: f.split('-')[0]!, samples: decodeWav(readFileSync(join(dir, f))).samples, file: f }));
}

function poolOf(fe: FrontEnd, samples: Float32Array): StatsPool {
  const f = fe.compute(samples);
  return new StatsPool(f, energeticFrames(f.energyDb, fe.options.energyDropDb, fe.options.floorMarginDb));
}

/** Frame range of samples [s, e). */
function frames(fe: FrontEnd, s: number, e: number, total: number): [number, number] {
  const { hopSamples, frameSamples } = fe.options;
  const from = Math.floor(s / hopSamples);
  const to = Math.min(total, Math.max(from + 1, Math.floor((e - frameSamples) / hopSamples) + 1));
  return [from, to];
}

function statIndices(dim: number, nc: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < nc; i++) idx.push(i); // cepstral means
  for (let i = 0; i < dim; i++) idx.push(dim + i); // std of cepstra and of deltas
  return idx;
}

function windowStats(fe: FrontEnd, clip: Clip, idx: number[]): Float64Array[] {
  return [clip.pool, ...clip.near, ...clip.far].flatMap((pool) => poolWindowStats(fe, pool, idx));
}

function poolWindowStats(fe: FrontEnd, pool: StatsPool, idx: number[]): Float64Array[] {
  const out: Float64Array[] = [];
  const n = pool.numFrames;
  const hop = Math.round(HOP_S * SR);
  const nSamples = (n - 1) * fe.options.hopSamples + fe.options.frameSamples;
  for (const w of WINDOWS_S) {
    const ws = Math.round(w * SR);
    for (let s = 0; s + ws <= nSamples; s += hop) {
      const [a, b] = frames(fe, s, s + ws, n);
      const st = pool.stats(a, b);
      out.push(Float64Array.from(idx, (i) => st[i]!));
    }
  }
  return out;
}

/** LDA with within-class whitening; returns standardisation and the K × D projection. */
function trainLda(samples: Float64Array[], labels: number[], k: number, reg: number) {
  const d = samples[0]!.length;
  const n = samples.length;
  const mean = new Float64Array(d);
  for (const x of samples) for (let i = 0; i < d; i++) mean[i] += x[i]! / n;
  const scale = new Float64Array(d);
  for (const x of samples) for (let i = 0; i < d; i++) scale[i] += (x[i]! - mean[i]!) ** 2 / n;
  for (let i = 0; i < d; i++) scale[i] = Math.sqrt(scale[i]!) || 1;
  const z = samples.map((x) => Float64Array.from(x, (v, i) => (v - mean[i]!) / scale[i]!));
  const classes = new Map<number, number[]>();
  labels.forEach((l, i) => { const c = classes.get(l) ?? []; c.push(i); classes.set(l, c); });
  const sw = new Float64Array(d * d);
  const sb = new Float64Array(d * d);
  for (const members of classes.values()) {
    const mu = new Float64Array(d);
    for (const i of members) for (let a = 0; a < d; a++) mu[a] += z[i]![a]! / members.length;
    for (const i of members) {
      const x = z[i]!;
      for (let a = 0; a < d; a++) {
        const da = x[a]! - mu[a]!;
        for (let b = 0; b < d; b++) sw[a * d + b] += (da * (x[b]! - mu[b]!)) / n;
      }
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) sb[a * d + b] += (members.length * mu[a]! * mu[b]!) / n;
  }
  // Shrink the within-class scatter toward its average variance: 150 speakers × 8 s is little data.
  let tr = 0;
  for (let a = 0; a < d; a++) tr += sw[a * d + a]!;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) sw[a * d + b] = (1 - reg) * sw[a * d + b]! + (a === b ? (reg * tr) / d : 0);
  }
  const ew = symmetricEigen(sw, d);
  // W = Λ^{-1/2} Uᵀ (rows = whitened directions).
  const w = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    const inv = 1 / Math.sqrt(Math.max(ew.values[r]!, 1e-12));
    for (let c = 0; c < d; c++) w[r * d + c] = ew.vectors[r * d + c]! * inv;
  }
  // B' = W Sb Wᵀ
  const wsb = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) { let s = 0; for (let t = 0; t < d; t++) s += w[r * d + t]! * sb[t * d + c]!; wsb[r * d + c] = s; }
  const bprime = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) { let s = 0; for (let t = 0; t < d; t++) s += wsb[r * d + t]! * w[c * d + t]!; bprime[r * d + c] = s; }
  const eb = symmetricEigen(bprime, d);
  const kk = Math.min(k, d);
  const projection = new Float64Array(kk * d);
  for (let r = 0; r < kk; r++) {
    // Deterministic sign: largest-magnitude coefficient positive.
    let big = 0;
    for (let c = 0; c < d; c++) if (Math.abs(eb.vectors[r * d + c]!) > Math.abs(big)) big = eb.vectors[r * d + c]!;
    const sign = big < 0 ? -1 : 1;
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += eb.vectors[r * d + t]! * w[t * d + c]!;
      projection[r * d + c] = sign * s;
    }
  }
  return { mean, scale, projection, k: kk, eigen: eb.values.slice(0, kk) };
}

function modelFrom(lda: ReturnType<typeof trainLda>, idx: number[], c: number, info: Record<string, unknown>, norm?: { cohort: Float32Array[]; scale: number; offset: number }): BuiltinModel {
  const r = (x: number) => Number(x.toPrecision(7));
  return {
    format: 'duet-builtin-speaker',
    version: 1,
    name: 'builtin-mfcc-lda',
    frontEnd: frontEndOptions,
    statIndices: idx,
    mean: Array.from(lda.mean, r),
    scale: Array.from(lda.scale, r),
    dim: lda.k,
    projection: Array.from(lda.projection, r),
    calibration: { c: r(c) },
    ...(norm ? { cohort: norm.cohort.map((e) => Array.from(e, (v) => Number(v.toPrecision(5)))), scoreNorm: { topK: TOP_K, scale: r(norm.scale), offset: r(norm.offset) } } : {}),
    info,
  };
}

/** Equal-error rate and its threshold from target and non-target scores. */
export function eer(target: number[], nontarget: number[]): { eer: number; threshold: number } {
  const all = [...target.map((s) => [s, 1] as const), ...nontarget.map((s) => [s, 0] as const)].sort((a, b) => a[0] - b[0]);
  let fn = 0;
  let fp = nontarget.length;
  let best = { eer: 1, threshold: 0 };
  let bestGap = Infinity;
  for (let i = 0; i < all.length; i++) {
    if (all[i]![1] === 1) fn++;
    else fp--;
    const frr = fn / target.length;
    const far = fp / nontarget.length;
    if (Math.abs(frr - far) < bestGap) {
      bestGap = Math.abs(frr - far);
      const next = all[i + 1]?.[0] ?? all[i]![0];
      best = { eer: (frr + far) / 2, threshold: (all[i]![0] + next) / 2 };
    }
  }
  return best;
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.max(0, Math.floor(p * s.length)))]!; };
const summary = (xs: number[]) => `n=${xs.length} p5=${pct(xs, 0.05).toFixed(3)} p50=${pct(xs, 0.5).toFixed(3)} p95=${pct(xs, 0.95).toFixed(3)}`;

/** Cohort embeddings of clips for AS-norm: each clip whole, clean and its first far copy. */
function cohortOf(projector: BuiltinProjector, clips: Clip[]): Float32Array[] {
  return clips.flatMap((c) => [c.pool, c.far[0] ?? c.pool].map((p) => projector.embedRange(p, 0, p.numFrames)));
}

interface Trials {
  /** Per held-out clip: its enrollment profile and its test embeddings. */
  profiles: SpeakerProfile[];
  tests: Float32Array[][];
}

/**
 * Held-out trials the way the server scores: a profile from the first part (all but the last
 * 3 s) of a near copy — whole plus 2.5 s sub-windows every 1.25 s — against 3, 1.5 and 1 s
 * pieces of the last 3 s of every far copy (and of the clean clip).
 */
function heldOutTrials(projector: BuiltinProjector, clips: Clip[]): Trials {
  const fe = projector.frontEnd;
  const hop = fe.options.hopSamples;
  // Clips shorter than 6.5 s cannot give a 3.5 s enrollment and a 3 s test.
  const usable = clips.filter((c) => c.pool.numFrames >= 650);
  const profiles: SpeakerProfile[] = [];
  const tests: Float32Array[][] = [];
  for (const clip of usable) {
    const n = clip.pool.numFrames;
    const end = (n - 1) * hop + fe.options.frameSamples;
    const enrolEnd = end - 3 * SR;
    const enrolPool = clip.near[0] ?? clip.pool;
    const [a, b] = frames(fe, 0, enrolEnd, n);
    const embeddings = subWindowStarts(enrolEnd, Math.round(2.5 * SR), Math.round(1.25 * SR)).map((s) => {
      const [x, y] = frames(fe, s, Math.min(enrolEnd, s + 2.5 * SR), n);
      return projector.embedRange(enrolPool, x, y);
    });
    profiles.push({ encoder: 'train', mean: projector.embedRange(enrolPool, a, b), embeddings, speechSeconds: enrolEnd / SR, adaptedSegments: 0 });
    const t: Float32Array[] = [];
    for (const pool of [clip.pool, ...clip.far]) {
      for (const [s, e] of [[3, 0], [3, 1.5], [1.5, 0], [1, 0], [2, 1]] as const) {
        const [x, y] = frames(fe, end - s * SR, end - e * SR, n);
        t.push(projector.embedRange(pool, x, y));
      }
    }
    tests.push(t);
  }
  return { profiles, tests };
}

/** A profile (whole + 2.5 s sub-windows) of samples [s, e) of a pool. */
function profileOf(projector: BuiltinProjector, pool: StatsPool, s: number, e: number): SpeakerProfile {
  const fe = projector.frontEnd;
  const [a, b] = frames(fe, s, e, pool.numFrames);
  const embeddings = subWindowStarts(e - s, Math.round(2.5 * SR), Math.round(1.25 * SR)).map((o) => {
    const [x, y] = frames(fe, s + o, Math.min(e, s + o + 2.5 * SR), pool.numFrames);
    return projector.embedRange(pool, x, y);
  });
  return { encoder: 'train', mean: projector.embedRange(pool, a, b), embeddings, speechSeconds: (e - s) / SR, adaptedSegments: 0 };
}

/**
 * Registration pairs of held-out clips: each speaker's first 4 s (one far copy) and last 4 s
 * (another far copy) — the same person twice — and those of two different speakers.
 */
function registrationPairs(projector: BuiltinProjector, clips: Clip[]): Array<[SpeakerProfile, SpeakerProfile]> {
  const usable = clips.filter((c) => c.pool.numFrames >= 790 && c.far.length >= 2);
  return usable.map((c) => [profileOf(projector, c.far[0]!, 0, 4 * SR), profileOf(projector, c.far[1]!, 4 * SR, 8 * SR - 400)]);
}

/**
 * Two different people registered at one far microphone: pairs of held-out speakers (each with
 * the next one) through the very same room, noise and band limit (one condition draw, babble
 * from the rest of the fold), 6 s each. No codec here (it would need ffmpeg per pair).
 */
function sameRoomPairs(projector: BuiltinProjector, fe: FrontEnd, voices: Float32Array[], seed: number): Array<[SpeakerProfile, SpeakerProfile]> {
  const rand = seededRandom(seed);
  const out: Array<[SpeakerProfile, SpeakerProfile]> = [];
  const n = 6 * SR;
  const usable = voices.filter((v) => v.length >= n);
  for (let i = 0; i + 1 < usable.length; i += 1) {
    const cond = { ...drawCondition('far', rand), codecKbps: null };
    const others = [usable[(i + 2) % usable.length]!, usable[(i + 3) % usable.length]!];
    const seedPair = Math.floor(rand() * 2 ** 31);
    const take = (x: Float32Array) => {
      const f = fe.compute(applyCondition(x.subarray(0, n), cond, others, seededRandom(seedPair)));
      const pool = new StatsPool(f, energeticFrames(f.energyDb, fe.options.energyDropDb, fe.options.floorMarginDb));
      return profileOf(projector, pool, 0, n - 400);
    };
    out.push([take(usable[i]!), take(usable[i + 1]!)]);
  }
  return out;
}

/** Target and non-target scores of trials under a normaliser. */
function trialScores(trials: Trials, norm: ScoreNormalizer | null) {
  const target: number[] = [];
  const nontarget: number[] = [];
  for (let i = 0; i < trials.profiles.length; i++) {
    for (let j = 0; j < trials.tests.length; j++) {
      for (const t of trials.tests[j]!) (i === j ? target : nontarget).push(profileSimilarity(t, trials.profiles[i]!, norm));
    }
  }
  return { target, nontarget };
}

/**
 * AS-norm mapping from cross-validated trials: scores are taken on a near-linear map (tanh with
 * a huge scale), then offset = the different-speaker median (→ similarity 0) and scale such
 * that the equal-error point lands on `threshold`.
 */
function calibrateNorm(folds: Array<{ trials: Trials; cohort: Float32Array[] }>, threshold: number): { offset: number; scale: number } {
  const LINEAR = 1000;
  const target: number[] = [];
  const nontarget: number[] = [];
  for (const f of folds) {
    const s = trialScores(f.trials, new ScoreNormalizer(f.cohort, { topK: TOP_K, scale: LINEAR, offset: 0 }));
    target.push(...s.target.map((x) => LINEAR * Math.atanh(x)));
    nontarget.push(...s.nontarget.map((x) => LINEAR * Math.atanh(x)));
  }
  const offset = pct(nontarget, 0.5);
  const t = eer(target, nontarget).threshold;
  return { offset, scale: Math.max(1e-3, t - offset) / Math.atanh(threshold) };
}

async function main() {
  const cohortDir = join(CORPUS_DIR, 'librispeech-cohort');
  const files = readdirSync(cohortDir).filter((f) => f.endsWith('.wav')).sort();
  const fe = new FrontEnd(frontEndOptions);
  const t0 = performance.now();
  const raw = loadDir(cohortDir, files);
  // Frame features of every copy; --cache=FILE keeps them between runs (same options only).
  const cacheFile = args.get('cache');
  const cacheKey = JSON.stringify({ NEAR, FAR, CODEC, frontEndOptions, files });
  let features: FrameFeatures[][] | null = null;
  if (cacheFile && existsSync(cacheFile)) {
    const cached = deserialize(readFileSync(cacheFile)) as { key: string; features: FrameFeatures[][] };
    if (cached.key === cacheKey) features = cached.features;
  }
  if (!features) {
    features = raw.map((c, i) => {
      const rand = seededRandom(1000 + i);
      // Babble: three other cohort speakers, drawn per clip.
      const others = [1, 2, 3].map(() => raw[(i + 1 + Math.floor(rand() * (raw.length - 1))) % raw.length]!.samples);
      const near = Array.from({ length: NEAR }, () => fe.compute(augmentedCopy(c.samples, 'near', others, rand)));
      const far = Array.from({ length: FAR }, () => fe.compute(augmentedCopy(c.samples, 'far', others, rand)));
      return [fe.compute(c.samples), ...near, ...far];
    });
    if (cacheFile) writeFileSync(cacheFile, serialize({ key: cacheKey, features }));
  }
  const pool = (f: FrameFeatures) => new StatsPool(f, energeticFrames(f.energyDb, fe.options.energyDropDb, fe.options.floorMarginDb));
  const clips: Clip[] = raw.map((c, i) => {
    const [clean, ...copies] = features![i]!.map(pool);
    return { speaker: c.speaker, pool: clean!, near: copies.slice(0, NEAR), far: copies.slice(NEAR) };
  });
  const idx = statIndices(fe.dim, frontEndOptions.numCeps);
  const speakerIds = [...new Set(clips.map((c) => c.speaker))].sort();
  const perClip = clips.map((c) => windowStats(fe, c, idx));
  console.log(`cohort: ${clips.length} clips, ${speakerIds.length} speakers, ${NEAR} near + ${FAR} far copies each (codec ${CODEC ? 'opus via ffmpeg' : 'skipped'}), ${perClip.flat().length} windows, D=${idx.length}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 5-fold cross-validation over speakers: held-out trials, raw and AS-normalised.
  const folds = 5;
  const foldData: Array<{ trials: Trials; cohort: Float32Array[]; pairs: Array<[SpeakerProfile, SpeakerProfile]>; sameRoom: Array<[SpeakerProfile, SpeakerProfile]> }> = [];
  const target: number[] = [];
  const nontarget: number[] = [];
  for (let f = 0; f < folds; f++) {
    const trainIdx = clips.map((_, i) => i).filter((i) => i % folds !== f);
    const testIdx = clips.map((_, i) => i).filter((i) => i % folds === f);
    const xs: Float64Array[] = [];
    const ls: number[] = [];
    for (const i of trainIdx) for (const x of perClip[i]!) (xs.push(x), ls.push(i));
    const lda = trainLda(xs, ls, K, REG);
    const proj = new BuiltinProjector(modelFrom(lda, idx, 0, {}));
    const trials = heldOutTrials(proj, testIdx.map((i) => clips[i]!));
    foldData.push({ trials, cohort: cohortOf(proj, trainIdx.map((i) => clips[i]!)), pairs: registrationPairs(proj, testIdx.map((i) => clips[i]!)), sameRoom: sameRoomPairs(proj, fe, testIdx.map((i) => raw[i]!.samples), 7000 + f) });
    const s = trialScores(trials, null);
    target.push(...s.target);
    nontarget.push(...s.nontarget);
  }
  const cv = eer(target, nontarget);
  console.log(`cross-validated cohort trials (near enrollment vs far 1–3 s), raw cosine: EER ${(100 * cv.eer).toFixed(2)} % at ${cv.threshold.toFixed(3)}`);
  console.log(`  same-speaker  ${summary(target)}`);
  console.log(`  diff-speaker  ${summary(nontarget)}`);
  const cal = calibrateNorm(foldData, TARGET_THRESHOLD);
  const normed = { target: [] as number[], nontarget: [] as number[] };
  for (const f of foldData) {
    const s = trialScores(f.trials, new ScoreNormalizer(f.cohort, { topK: TOP_K, ...cal }));
    normed.target.push(...s.target);
    normed.nontarget.push(...s.nontarget);
  }
  const far = (t: number) => normed.nontarget.filter((x) => x >= t).length / normed.nontarget.length;
  const frr = (t: number) => normed.target.filter((x) => x < t).length / normed.target.length;
  const ne = eer(normed.target, normed.nontarget);
  console.log(`AS-norm (top ${TOP_K}), calibrated (offset ${cal.offset.toFixed(3)}, scale ${cal.scale.toFixed(3)}): EER ${(100 * ne.eer).toFixed(2)} % at ${ne.threshold.toFixed(3)}`);
  console.log(`  same-speaker  ${summary(normed.target)}`);
  console.log(`  diff-speaker  ${summary(normed.nontarget)}`);
  for (const t of [0.3, 0.4, 0.5, 0.6, 0.7]) console.log(`  at ${t.toFixed(1)}: false accept ${(100 * far(t)).toFixed(1)} %, false reject ${(100 * frr(t)).toFixed(1)} %`);

  // too_similar: profile similarity of the same person registered twice vs two different people.
  const samePerson: number[] = [];
  const twoPeople: number[] = [];
  const twoPeopleSameRoom: number[] = [];
  for (const f of foldData) {
    const norm = new ScoreNormalizer(f.cohort, { topK: TOP_K, ...cal });
    f.pairs.forEach(([a], i) => f.pairs.forEach(([, b], j) => (i === j ? samePerson : twoPeople).push(profilesSimilarity(a, b, norm))));
    for (const [a, b] of f.sameRoom) twoPeopleSameRoom.push(profilesSimilarity(a, b, norm));
  }
  // Refuse as little as one pair of different people in 200 (in different rooms, and at one
  // far microphone, where the shared room pulls two voices together); report how many
  // same-person pairs that still catches.
  const tooSimilarBound = Number(Math.max(pct(twoPeople, 0.995), pct(twoPeopleSameRoom, 0.995)).toFixed(3));
  console.log(`registration pairs (far copies, 4 s each): same person ${summary(samePerson)}; two people ${summary(twoPeople)}; two people in one room ${summary(twoPeopleSameRoom)}`);
  console.log(`  too_similar bound ${tooSimilarBound} (two people p99.5): refuses ${(100 * twoPeople.filter((x) => x > tooSimilarBound).length / twoPeople.length).toFixed(2)} % of different-people pairs, catches ${(100 * samePerson.filter((x) => x > tooSimilarBound).length / samePerson.length).toFixed(1)} % of same-person pairs`);

  const xs: Float64Array[] = [];
  const ls: number[] = [];
  perClip.forEach((ws, i) => ws.forEach((x) => (xs.push(x), ls.push(i))));
  const lda = trainLda(xs, ls, K, REG);
  const a = Math.max(0, (TARGET_THRESHOLD - cv.threshold) / (1 - TARGET_THRESHOLD));
  const c = Math.sqrt(a);
  const info = {
    trainedOn: 'librispeech-cohort (150 train-clean-100 speakers × 8 s)',
    windowsS: WINDOWS_S,
    augmentation: { near: NEAR, far: FAR, codec: CODEC ? 'opus (ffmpeg libopus)' : 'none', recipe: 'src/speaker/augment.ts drawCondition' },
    hopS: HOP_S,
    regularisation: REG,
    cvEerRaw: Number(cv.eer.toFixed(4)),
    cvThresholdRaw: Number(cv.threshold.toFixed(4)),
    cvEerAsNorm: Number(ne.eer.toFixed(4)),
    calibratedThreshold: TARGET_THRESHOLD,
  };
  const proj0 = new BuiltinProjector(modelFrom(lda, idx, c, {}));
  const model = { ...modelFrom(lda, idx, c, info, { cohort: cohortOf(proj0, clips), ...cal }), tooSimilarBound };
  const projector = new BuiltinProjector(model);
  const norm = new ScoreNormalizer(model.cohort!.map((e) => Float32Array.from(e)), model.scoreNorm!);

  // Dev speakers: reported only.
  const devDir = join(CORPUS_DIR, 'librispeech');
  const dev: Array<{ speaker: string; emb: Float32Array; short: Float32Array }> = [];
  for (const spk of readdirSync(devDir).filter((d) => /^\d+$/.test(d)).sort()) {
    const dir = join(devDir, spk);
    for (const u of loadDir(dir, readdirSync(dir).filter((f) => f.endsWith('.wav')).sort())) {
      const pool = poolOf(fe, u.samples);
      const [x, y] = frames(fe, 0, Math.min(u.samples.length, 2 * SR), pool.numFrames);
      dev.push({ speaker: spk, emb: projector.embedRange(pool, 0, pool.numFrames), short: projector.embedRange(pool, x, y) });
    }
  }
  const dt: number[] = [];
  const dn: number[] = [];
  for (let i = 0; i < dev.length; i++) for (let j = 0; j < dev.length; j++) if (i !== j) (dev[i]!.speaker === dev[j]!.speaker ? dt : dn).push(norm.similarity(dev[i]!.emb, dev[j]!.short));
  const de = eer(dt, dn);
  console.log(`dev speakers (utterance vs 2 s, AS-norm): EER ${(100 * de.eer).toFixed(2)} % at ${de.threshold.toFixed(3)}`);
  console.log(`  same-speaker  ${summary(dt)}`);
  console.log(`  diff-speaker  ${summary(dn)}`);
  console.log(`calibration c=${c.toFixed(4)} (raw EER threshold ${cv.threshold.toFixed(3)} → ${TARGET_THRESHOLD})`);

  if (args.get('dry-run') === 'true') return;
  const out = fromRoot(BUILTIN_MODEL_PATH);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(model) + '\n');
  console.log(`wrote ${out} (${(JSON.stringify(model).length / 1024).toFixed(0)} KiB)`);
  // Cohort voices for the neural encoder's AS-norm: every 7th cohort speaker, seconds 1–5.
  const voices = raw.filter((c) => c.samples.length >= 5 * SR).filter((_, i) => i % 7 === 0).slice(0, 20).map((c) => c.samples.subarray(SR, 5 * SR));
  const joined = new Float32Array(voices.length * 4 * SR);
  voices.forEach((v, i) => joined.set(v, i * 4 * SR));
  writeFileSync(fromRoot(COHORT_VOICES_PATH), encodeWav(joined));
  console.log(`wrote ${COHORT_VOICES_PATH} (${voices.length} voices × 4 s)`);
}

await main();
