/**
 * Trains the built-in speaker encoder's projection on the LibriSpeech cohort only
 * (`../shared/corpus/librispeech-cohort`, 150 speakers × 8 s, none of them in the dev
 * conversations) and writes `models/builtin/speaker-lda.json`. Deterministic: same data and
 * options → same file.
 *
 *   npx tsx scripts/train-speaker.ts            # train, calibrate, write the model
 *   npx tsx scripts/train-speaker.ts --dry-run  # print cross-validated numbers only
 *   options: --dim=K --ceps=N --reg=R --drop-db=D
 *
 * Recipe: each cohort clip and two noisy copies of it (level −10…+2 dB, white noise floor
 * −70…−54 dBFS, seeded) are cut into 1.5 s and 3 s windows (hop 0.5 s) as same-speaker
 * samples; their statistics are standardised, the within-speaker scatter is whitened and the
 * between-speaker scatter diagonalised (LDA); the top K directions are kept. Cosine
 * calibration: 5-fold cross-validation over cohort speakers gives held-out enrollment (all but
 * the last 3 s) vs test-window (last 3 s and its halves) scores; the equal-error threshold t of those scores is mapped
 * to 0.6 by the constant-coordinate trick described in `BuiltinModel.calibration`.
 * The dev speakers (`corpus/librispeech`) are only reported, never fitted.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { decodeWav } from '../src/audio/wav.js';
import { BuiltinProjector, BUILTIN_MODEL_PATH, type BuiltinModel } from '../src/speaker/builtin.js';
import { DEFAULT_FRONT_END, FrontEnd, StatsPool, energeticFrames, type FrontEndOptions } from '../src/speaker/features.js';
import { symmetricEigen, dot } from '../src/speaker/linalg.js';
import { fromRoot } from '../src/paths.js';
import { CORPUS_DIR } from '../src/testing/paths.js';
import { seededRandom } from '../src/testing/signals.js';

const args = new Map(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k!, v ?? 'true']; }));
const K = Number(args.get('dim') ?? 32);
const REG = Number(args.get('reg') ?? 0.02);
const TARGET_THRESHOLD = 0.6;
const frontEndOptions: FrontEndOptions = {
  ...DEFAULT_FRONT_END,
  numCeps: Number(args.get('ceps') ?? DEFAULT_FRONT_END.numCeps),
  energyDropDb: Number(args.get('drop-db') ?? DEFAULT_FRONT_END.energyDropDb),
  floorMarginDb: Number(args.get('floor-db') ?? DEFAULT_FRONT_END.floorMarginDb),
};
const SR = 16_000;
/** Noisy copies per cohort clip (white noise floor + level change), besides the clean one. */
const AUGMENT = Number(args.get('augment') ?? 2);
/** Noise floor RMS range, dBFS, and speech gain range, dB, of the noisy copies. */
const NOISE_DBFS: [number, number] = [-70, -54];
const GAIN_DB: [number, number] = [-10, 2];
const WINDOWS_S = [1.5, 3];
const HOP_S = 0.5;

interface Clip { speaker: string; pool: StatsPool; noisy: StatsPool[] }

/** A copy with its level changed and a white noise floor added (the conversations' condition). */
function noisyCopy(x: Float32Array, rand: () => number): Float32Array {
  const gain = 10 ** ((GAIN_DB[0] + rand() * (GAIN_DB[1] - GAIN_DB[0])) / 20);
  const noise = 10 ** ((NOISE_DBFS[0] + rand() * (NOISE_DBFS[1] - NOISE_DBFS[0])) / 20);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += 2) {
    // Box–Muller: two Gaussian samples per pair of uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const th = 2 * Math.PI * rand();
    out[i] = x[i]! * gain + noise * r * Math.cos(th);
    if (i + 1 < x.length) out[i + 1] = x[i + 1]! * gain + noise * r * Math.sin(th);
  }
  return out;
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
  return [clip.pool, ...clip.noisy].flatMap((pool) => poolWindowStats(fe, pool, idx));
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

function modelFrom(lda: ReturnType<typeof trainLda>, idx: number[], c: number, info: Record<string, unknown>): BuiltinModel {
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

/** Enrollment (all but the last 3 s) vs test (last 3 s, and its 1.5 s halves) scores of held-out cohort clips. */
function heldOutScores(projector: BuiltinProjector, clips: Clip[]) {
  const fe = projector.frontEnd;
  const enr: Float32Array[] = [];
  const tests: Float32Array[][] = [];
  // Clips shorter than 6.5 s cannot give a 3.5 s enrollment and a 3 s test.
  const usable = clips.filter((c) => c.pool.numFrames >= 650);
  for (const clip of usable) {
    const n = clip.pool.numFrames;
    const end = (n - 1) * fe.options.hopSamples + fe.options.frameSamples;
    const [a, b] = frames(fe, 0, end - 3 * SR, n);
    enr.push(projector.embedRange(clip.pool, a, b));
    const t: Float32Array[] = [];
    // Tests from the clean clip and from its noisy copies: enrollment is usually cleaner than the conversation.
    for (const pool of [clip.pool, ...clip.noisy]) {
      for (const [s, e] of [[3, 0], [3, 1.5], [1.5, 0]] as const) {
        const [x, y] = frames(fe, end - s * SR, end - e * SR, n);
        t.push(projector.embedRange(pool, x, y));
      }
    }
    tests.push(t);
  }
  const target: number[] = [];
  const nontarget: number[] = [];
  for (let i = 0; i < usable.length; i++) {
    for (let j = 0; j < usable.length; j++) {
      for (const t of tests[j]!) (i === j ? target : nontarget).push(dot(enr[i]!, t));
    }
  }
  return { target, nontarget };
}

async function main() {
  const cohortDir = join(CORPUS_DIR, 'librispeech-cohort');
  const files = readdirSync(cohortDir).filter((f) => f.endsWith('.wav')).sort();
  const fe = new FrontEnd(frontEndOptions);
  const t0 = performance.now();
  const clips: Clip[] = loadDir(cohortDir, files).map((c, i) => {
    const rand = seededRandom(1000 + i);
    const noisy = Array.from({ length: AUGMENT }, () => poolOf(fe, noisyCopy(c.samples, rand)));
    return { speaker: c.speaker, pool: poolOf(fe, c.samples), noisy };
  });
  const idx = statIndices(fe.dim, frontEndOptions.numCeps);
  const speakerIds = [...new Set(clips.map((c) => c.speaker))].sort();
  const perClip = clips.map((c) => windowStats(fe, c, idx));
  console.log(`cohort: ${clips.length} clips, ${speakerIds.length} speakers, ${perClip.flat().length} windows, D=${idx.length}, features ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 5-fold cross-validation over speakers: held-out EER and the calibration threshold.
  const folds = 5;
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
    const s = heldOutScores(proj, testIdx.map((i) => clips[i]!));
    target.push(...s.target);
    nontarget.push(...s.nontarget);
  }
  const cv = eer(target, nontarget);
  console.log(`cross-validated cohort: EER ${(100 * cv.eer).toFixed(2)} % at cosine ${cv.threshold.toFixed(3)}`);
  console.log(`  same-speaker  ${summary(target)}`);
  console.log(`  diff-speaker  ${summary(nontarget)}`);

  const xs: Float64Array[] = [];
  const ls: number[] = [];
  perClip.forEach((ws, i) => ws.forEach((x) => (xs.push(x), ls.push(i))));
  const lda = trainLda(xs, ls, K, REG);
  const a = Math.max(0, (TARGET_THRESHOLD - cv.threshold) / (1 - TARGET_THRESHOLD));
  const c = Math.sqrt(a);
  const info = {
    trainedOn: 'librispeech-cohort (150 train-clean-100 speakers × 8 s)',
    windowsS: WINDOWS_S,
    augmentation: { copies: AUGMENT, noiseDbfs: NOISE_DBFS, gainDb: GAIN_DB },
    hopS: HOP_S,
    regularisation: REG,
    cvEer: Number(cv.eer.toFixed(4)),
    cvThresholdRaw: Number(cv.threshold.toFixed(4)),
    calibratedThreshold: TARGET_THRESHOLD,
  };
  const model = modelFrom(lda, idx, c, info);
  const projector = new BuiltinProjector(model);

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
  for (let i = 0; i < dev.length; i++) for (let j = 0; j < dev.length; j++) if (i !== j) (dev[i]!.speaker === dev[j]!.speaker ? dt : dn).push(dot(dev[i]!.emb, dev[j]!.short));
  const de = eer(dt, dn);
  console.log(`dev speakers (utterance vs 2 s, calibrated): EER ${(100 * de.eer).toFixed(2)} % at ${de.threshold.toFixed(3)}`);
  console.log(`  same-speaker  ${summary(dt)}`);
  console.log(`  diff-speaker  ${summary(dn)}`);
  console.log(`calibration c=${c.toFixed(4)} (raw EER threshold ${cv.threshold.toFixed(3)} → ${TARGET_THRESHOLD})`);

  if (args.get('dry-run') === 'true') return;
  const out = fromRoot(BUILTIN_MODEL_PATH);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(model) + '\n');
  console.log(`wrote ${out} (${(JSON.stringify(model).length / 1024).toFixed(0)} KiB)`);
}

await main();
