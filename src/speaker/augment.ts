/**
 * Audio augmentation for training the built-in encoder on the conditions of real use — pure
 * and seeded (every random draw comes from the `rand` passed in, so the same seed gives the
 * same audio): synthetic rooms, pink and babble noise at a given SNR, band limits and level.
 * The low-bit-rate codec pass needs ffmpeg and lives in `scripts/research/train-speaker.ts`.
 */
import { fftInPlace } from '../audio/fft.js';
import { SAMPLE_RATE } from '../audio/constants.js';

/** A uniform draw in [lo, hi). */
export function uniform(rand: () => number, lo: number, hi: number): number {
  return lo + rand() * (hi - lo);
}

/** A standard normal draw (Box–Muller). */
export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export interface RoomOptions {
  /** Reverberation time (−60 dB decay), seconds. */
  rt60S: number;
  /** Direct-to-reverberant energy ratio, dB (lower = further from the microphone). */
  drrDb: number;
}

/**
 * A synthetic room impulse response: a unit direct path, then (after 2–6 ms) Gaussian noise
 * under an exponential envelope that falls 60 dB in `rt60S`, scaled to the requested
 * direct-to-reverberant ratio. Length 1.2 × RT60 (the tail below −70 dB is dropped).
 */
export function syntheticRir(opts: RoomOptions, rand: () => number): Float32Array {
  const n = Math.max(2, Math.round(1.2 * opts.rt60S * SAMPLE_RATE));
  const h = new Float32Array(n);
  const start = Math.round(uniform(rand, 0.002, 0.006) * SAMPLE_RATE);
  const decayPerSample = (3 * Math.LN10) / (opts.rt60S * SAMPLE_RATE); // amplitude e-folding for −60 dB at rt60
  let tail = 0;
  for (let i = start; i < n; i++) {
    h[i] = gaussian(rand) * Math.exp(-decayPerSample * (i - start));
    tail += h[i]! * h[i]!;
  }
  const g = Math.sqrt(10 ** (-opts.drrDb / 10) / Math.max(tail, 1e-12));
  for (let i = start; i < n; i++) h[i] = h[i]! * g;
  h[0] = 1;
  return h;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Linear convolution of `x` with `h` by FFT, truncated to `x.length` (a room adds a tail, not a delay). */
export function convolve(x: Float32Array, h: Float32Array): Float32Array {
  const n = nextPow2(x.length + h.length - 1);
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  ar.set(x);
  br.set(h);
  fftInPlace(ar, ai);
  fftInPlace(br, bi);
  // Product, conjugated, so that a forward FFT gives the inverse (conjugated back below).
  for (let k = 0; k < n; k++) {
    const r = ar[k]! * br[k]! - ai[k]! * bi[k]!;
    const i = ar[k]! * bi[k]! + ai[k]! * br[k]!;
    ar[k] = r;
    ai[k] = -i;
  }
  fftInPlace(ar, ai);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = ar[i]! / n;
  return out;
}

/** Passes `x` through a synthetic room. */
export function reverberate(x: Float32Array, opts: RoomOptions, rand: () => number): Float32Array {
  return convolve(x, syntheticRir(opts, rand));
}

/** Pink (1/f) noise of unit RMS (white noise through Kellet's three-pole filter). */
export function pinkNoise(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = gaussian(rand);
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    out[i] = b0 + b1 + b2 + w * 0.1848;
    sum += out[i]! * out[i]!;
  }
  const g = 1 / Math.sqrt(sum / Math.max(1, n) || 1);
  for (let i = 0; i < n; i++) out[i] = out[i]! * g;
  return out;
}

/**
 * Babble: the sum of other voices, each started at a random offset and looped to length `n`,
 * scaled to unit RMS.
 */
export function babble(voices: readonly Float32Array[], n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (const v of voices) {
    if (!v.length) continue;
    const off = Math.floor(rand() * v.length);
    for (let i = 0; i < n; i++) out[i] += v[(off + i) % v.length]!;
  }
  const r = rms(out);
  if (r > 0) for (let i = 0; i < n; i++) out[i] = out[i]! / r;
  return out;
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}

/**
 * RMS of the speech in `x`: over the 20 ms blocks within 30 dB of the loudest one, so that the
 * pauses of a clip do not lower it (SNR is defined against the speech, not the clip).
 */
export function speechRms(x: Float32Array): number {
  const block = 320;
  const e: number[] = [];
  for (let s = 0; s + block <= x.length; s += block) {
    let acc = 0;
    for (let i = s; i < s + block; i++) acc += x[i]! * x[i]!;
    e.push(acc / block);
  }
  if (!e.length) return rms(x);
  const top = Math.max(...e);
  const kept = e.filter((v) => v >= top * 1e-3);
  return Math.sqrt(kept.reduce((a, b) => a + b, 0) / kept.length);
}

/** `speech` plus unit-RMS `noise` scaled so that the speech-to-noise ratio is `snrDb`. */
export function addAtSnr(speech: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  const g = speechRms(speech) / 10 ** (snrDb / 20) / Math.max(rms(noise), 1e-12);
  const out = new Float32Array(speech.length);
  for (let i = 0; i < out.length; i++) out[i] = speech[i]! + g * noise[i % noise.length]!;
  return out;
}

/**
 * Band limit by an FFT mask with 100 Hz cosine skirts: keeps [lowHz, highHz] (a telephone
 * line, a cheap microphone, a codec's low-pass).
 */
export function bandLimit(x: Float32Array, lowHz: number, highHz: number): Float32Array {
  const n = nextPow2(x.length);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(x);
  fftInPlace(re, im);
  const skirt = 100;
  for (let k = 0; k <= n / 2; k++) {
    const f = (k * SAMPLE_RATE) / n;
    let g = 1;
    if (f < lowHz - skirt) g = 0;
    else if (f < lowHz) g = 0.5 - 0.5 * Math.cos((Math.PI * (f - lowHz + skirt)) / skirt);
    if (f > highHz + skirt) g = 0;
    else if (f > highHz) g *= 0.5 + 0.5 * Math.cos((Math.PI * (f - highHz)) / skirt);
    re[k] = re[k]! * g;
    im[k] = -im[k]! * g; // conjugate for the inverse by a forward FFT
    if (k > 0 && k < n / 2) {
      re[n - k] = re[n - k]! * g;
      im[n - k] = -im[n - k]! * g;
    }
  }
  fftInPlace(re, im);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = re[i]! / n;
  return out;
}

/** `x` scaled by `gainDb`, clipped to [−1, 1]. */
export function applyGain(x: Float32Array, gainDb: number): Float32Array {
  const g = 10 ** (gainDb / 20);
  return Float32Array.from(x, (v) => Math.max(-1, Math.min(1, v * g)));
}

/** One draw of the conditions a copy goes through (see {@link drawCondition}). */
export interface Condition {
  room: RoomOptions | null;
  noise: { kind: 'pink' | 'babble' | 'both'; snrDb: number } | null;
  band: { lowHz: number; highHz: number } | null;
  /** Opus bit rate, kbit/s, or null for no codec. */
  codecKbps: number | null;
  gainDb: number;
}

/** Ranges of {@link drawCondition}: `near` = an enrollment at the laptop, `far` = the conversation. */
export type ConditionKind = 'near' | 'far';

/**
 * A random condition of the given kind. Near: mild room (RT60 0.15–0.35 s, DRR 6–14 dB), noise
 * at 20–35 dB SNR. Far: RT60 0.2–0.8 s with DRR −3…+8 dB, pink/babble noise at 5–25 dB SNR,
 * a band limit one time in three, an Opus pass (12–32 kbit/s) one time in two.
 */
export function drawCondition(kind: ConditionKind, rand: () => number): Condition {
  const pickNoise = () => (['pink', 'babble', 'both'] as const)[Math.min(2, Math.floor(rand() * 3))]!;
  if (kind === 'near') {
    return {
      room: rand() < 0.8 ? { rt60S: uniform(rand, 0.15, 0.35), drrDb: uniform(rand, 6, 14) } : null,
      noise: { kind: pickNoise(), snrDb: uniform(rand, 20, 35) },
      band: null,
      codecKbps: null,
      gainDb: uniform(rand, -12, 2),
    };
  }
  return {
    room: rand() < 0.9 ? { rt60S: uniform(rand, 0.2, 0.8), drrDb: uniform(rand, -3, 8) } : null,
    noise: rand() < 0.95 ? { kind: pickNoise(), snrDb: uniform(rand, 5, 25) } : null,
    band: rand() < 1 / 3 ? { lowHz: uniform(rand, 80, 300), highHz: uniform(rand, 3400, 7000) } : null,
    codecKbps: rand() < 0.5 ? Math.round(uniform(rand, 12, 32)) : null,
    gainDb: uniform(rand, -20, 2),
  };
}

/**
 * Applies a condition except the codec: room, then noise (babble from `others`), band limit,
 * level. Deterministic for a given `rand` state.
 */
export function applyCondition(x: Float32Array, c: Condition, others: readonly Float32Array[], rand: () => number): Float32Array {
  let y = c.room ? reverberate(x, c.room, rand) : Float32Array.from(x);
  if (c.noise) {
    const n = y.length;
    let noise: Float32Array;
    if (c.noise.kind === 'pink') noise = pinkNoise(n, rand);
    else {
      const b = babble(others, n, rand);
      if (c.noise.kind === 'babble') noise = b;
      else {
        const p = pinkNoise(n, rand);
        noise = Float32Array.from(b, (v, i) => (v + p[i]!) / Math.SQRT2);
      }
    }
    y = addAtSnr(y, noise, c.noise.snrDb);
  }
  if (c.band) y = bandLimit(y, c.band.lowHz, c.band.highHz);
  return applyGain(y, c.gainDb);
}
