import { describe, expect, it } from 'vitest';
import { utterance } from '../testing/dev-utterances.js';
import { FrontEnd } from './features.js';
import { AdaptiveVoiceFrames, fitVoiceFrames, fitVoiceFramesYielding, gmmFromJson, gmmLogLikelihood, gmmToJson, mapAdapt, meanFrameLlr, newMapStats, StreamFrameScorer, trainDiagGmm, trainDiagGmmYielding, type DiagGmm } from './gmm.js';

const RATE = 16_000;

/** `n` rows of `dim` values drawn around `centre` (seeded, roughly Gaussian). */
function cloud(n: number, dim: number, centre: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const out = new Float64Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = centre + (u() + u() + u() + u() - 2) * 1.7;
  return out;
}

const meanLl = (g: DiagGmm, rows: Float64Array) => {
  let s = 0;
  const n = rows.length / g.dim;
  for (let t = 0; t < n; t++) s += gmmLogLikelihood(g, rows, t * g.dim);
  return s / n;
};

const concat = (...xs: Float32Array[]) => {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) (out.set(x, at), (at += x.length));
  return out;
};

describe('trainDiagGmm', () => {
  it('fits a mixture under which its own kind of data is likelier than another', () => {
    const a = trainDiagGmm(cloud(800, 4, 0, 1), 4, { components: 4 })!;
    const b = trainDiagGmm(cloud(800, 4, 2, 2), 4, { components: 4 })!;
    const heldA = cloud(200, 4, 0, 3);
    const heldB = cloud(200, 4, 2, 4);
    expect(meanLl(a, heldA)).toBeGreaterThan(meanLl(b, heldA) + 1);
    expect(meanLl(b, heldB)).toBeGreaterThan(meanLl(a, heldB) + 1);
    expect([...a.logWeight].every(Number.isFinite) && [...a.precision].every((p) => p > 0 && Number.isFinite(p))).toBe(true);
  });

  it('is deterministic, and refuses too few frames instead of fitting noise', () => {
    const data = cloud(400, 3, 0, 5);
    expect(trainDiagGmm(data, 3, { components: 4, seed: 9 })!.mean).toEqual(trainDiagGmm(data, 3, { components: 4, seed: 9 })!.mean);
    expect(trainDiagGmm(cloud(20, 3, 0, 6), 3, { components: 8 })).toBeNull();
    // Identical frames: the variance floor keeps every precision finite.
    const flat = trainDiagGmm(new Float64Array(300).fill(1), 3, { components: 2 })!;
    expect([...flat.precision].every(Number.isFinite)).toBe(true);
  });
});

describe('frame models of real voices', () => {
  const fe = new FrontEnd();
  // Registration speech: two utterances per voice; judged on a third, unseen one.
  const voices = ['1688', '2033'].map((s) => fitVoiceFrames(fe, concat(utterance(s, 0), utterance(s, 1)), { components: 8 })!) as [DiagGmm, DiagGmm];

  it('name the right voice from 0.3 s windows of unseen speech', () => {
    let right = 0;
    let judged = 0;
    for (const [speaker, sign] of [['1688', -1], ['2033', 1]] as const) {
      const x = utterance(speaker, 3);
      for (let at = 0; at + 0.3 * RATE <= x.length; at += 0.3 * RATE) {
        const r = meanFrameLlr(fe, voices, x.subarray(at, at + 0.3 * RATE));
        if (!r || r.frames < 10) continue;
        judged++;
        if (Math.sign(r.llr) === sign) right++;
      }
    }
    expect(judged).toBeGreaterThan(30);
    expect(right / judged).toBeGreaterThan(0.85);
  });

  it('judge a stream of overlapping windows as the windows alone, computing each frame about once', () => {
    const x = concat(utterance('1688', 4), utterance('2033', 4));
    const stream = new StreamFrameScorer(fe);
    const computed: number[] = [];
    const compute = fe.compute.bind(fe);
    fe.compute = (s) => {
      const f = compute(s);
      computed.push(f.numFrames);
      return f;
    };
    let windows = 0;
    const diffs: number[] = [];
    try {
      for (let end = 0.4 * RATE; end <= x.length; end += 0.1 * RATE) {
        const start = end - 0.4 * RATE;
        const w = x.subarray(start, end);
        const a = stream.score(voices, w, start);
        fe.compute = compute;
        const b = meanFrameLlr(fe, voices, w);
        fe.compute = (s) => {
          const f = compute(s);
          computed.push(f.numFrames);
          return f;
        };
        windows++;
        expect(a === null).toBe(b === null);
        if (!a || !b) continue;
        // Only the window's first frames differ: here their deltas see the stream before the window.
        diffs.push(Math.abs(a.llr - b.llr));
        if (Math.abs(b.llr) > 1) expect(Math.sign(a.llr)).toBe(Math.sign(b.llr));
      }
    } finally {
      fe.compute = compute;
    }
    expect(diffs.length).toBeGreaterThan(40);
    expect(diffs.reduce((s, d) => s + d, 0) / diffs.length).toBeLessThan(0.15);
    expect(Math.max(...diffs)).toBeLessThan(0.6);
    // 38 frames a window alone; with the cache ~10 new ones plus 4 of context.
    expect(computed.reduce((s, n) => s + n, 0) / windows).toBeLessThan(16);
    // Other models drop what was kept: the voices swapped give exactly the opposite of a fresh
    // scorer's judgement (a kept ratio of the old models would break the symmetry).
    const from = x.length - 0.4 * RATE;
    const fresh = new StreamFrameScorer(fe).score(voices, x.subarray(from), from)!;
    const swapped = stream.score([voices[1], voices[0]], x.subarray(from), from)!;
    expect(swapped.llr).toBeCloseTo(-fresh.llr, 9);
  });

  it('gives silence nothing to judge', () => {
    expect(meanFrameLlr(fe, voices, new Float32Array(100))).toBeNull();
  });
});

describe('MAP adaptation', () => {
  it('moves the means toward new speech of the voice, in proportion to how much there is', () => {
    const fe = new FrontEnd();
    const speech = concat(utterance('1998', 0), utterance('1998', 1));
    const prior = fitVoiceFrames(fe, speech, { components: 8 })!;
    // The same voice through another channel: a gentle tilt of the spectrum (first difference).
    const tilted = utterance('1998', 2).map((v, i, a) => v - 0.6 * (a[i - 1] ?? 0));
    const held = utterance('1998', 5).map((v, i, a) => v - 0.6 * (a[i - 1] ?? 0));
    const rowsOf = (x: Float32Array) => {
      const f = fe.compute(x);
      return new Float64Array(f.data);
    };
    const model = new AdaptiveVoiceFrames(prior);
    const before = meanLl(model.model, rowsOf(held));
    model.adapt(fe, tilted);
    const after = meanLl(model.model, rowsOf(held));
    expect(after).toBeGreaterThan(before);
    expect(model.prior).toBe(prior);
    // All the evidence so far, from the registration model each time: the second half moves
    // the means further than the first half alone, about as far as the whole at once.
    const half = Math.floor(tilted.length / 2);
    const shift = (g: DiagGmm) => Math.hypot(...g.mean.map((m, i) => m - prior.mean[i]!));
    const stats = newMapStats(prior);
    const firstHalf = shift(mapAdapt(prior, stats, fe, tilted.subarray(0, half)));
    const bothHalves = shift(mapAdapt(prior, stats, fe, tilted.subarray(half)));
    const whole = shift(mapAdapt(prior, newMapStats(prior), fe, tilted));
    expect(firstHalf).toBeGreaterThan(0);
    expect(bothHalves).toBeGreaterThan(firstHalf);
    expect(Math.abs(bothHalves - whole) / whole).toBeLessThan(0.1);
  });
});

describe('saved frame models', () => {
  const g = trainDiagGmm(cloud(400, 3, 0, 7), 3, { components: 4 })!;

  it('come back from JSON as the same model', () => {
    const back = gmmFromJson(JSON.parse(JSON.stringify(gmmToJson(g))), 3)!;
    const x = cloud(5, 3, 0.5, 8);
    for (let t = 0; t < 5; t++) expect(gmmLogLikelihood(back, x, t * 3)).toBeCloseTo(gmmLogLikelihood(g, x, t * 3), 9);
  });

  it('are refused, not trusted, when malformed', () => {
    const good = gmmToJson(g);
    for (const bad of [
      null,
      'frames',
      { ...good, format: 'other' },
      { ...good, dim: 40 },
      { ...good, k: 0 },
      { ...good, k: 1e6 },
      { ...good, k: 2.5 },
      { ...good, mean: good.mean.slice(1) },
      { ...good, precision: good.precision.map((p, i) => (i === 3 ? 0 : p)) },
      { ...good, precision: good.precision.map((p, i) => (i === 3 ? Number.NaN : p)) },
      { ...good, logWeight: good.logWeight.map(() => 1) },
      { ...good, mean: good.mean.map((m, i) => (i === 0 ? '1' : m)) },
    ]) {
      expect(gmmFromJson(bad, 3)).toBeNull();
    }
    expect(gmmFromJson(good, 3)).not.toBeNull();
  });
});

describe('fitting without holding up the server', () => {
  it('gives the same model in turns as at once, and lets other work run between its iterations', async () => {
    const fe = new FrontEnd();
    const speech = concat(utterance('3080', 0), utterance('3080', 1));
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const inTurns = await fitVoiceFramesYielding(fe, speech, { components: 8 });
    clearInterval(ticker);
    const atOnce = fitVoiceFrames(fe, speech, { components: 8 });
    expect(inTurns!.mean).toEqual(atOnce!.mean);
    expect(inTurns!.precision).toEqual(atOnce!.precision);
    expect(turns).toBeGreaterThan(0);
    expect(await trainDiagGmmYielding(cloud(10, 3, 0, 1), 3, { components: 8 })).toBeNull();
  });
});
