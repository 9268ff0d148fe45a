/**
 * The measures the frame gates judge by (RMS level, log-spectral variance) and the gates'
 * settings and reasons. The gates themselves, with the levels they track, are part of the one
 * room-level tracker (room-levels.ts), which gives each frame its verdict. Pure.
 *
 * The spectral measure, exactly: the frame (512 samples at 16 kHz; other lengths are
 * zero-padded to a power of two) is multiplied by a periodic Hann window and transformed with
 * a real FFT (31.25 Hz per bin at 512). The speech band 125–4125 Hz is split into 16 bands of
 * 250 Hz (8 bins each at 512); each band's level is 10·log10 of its mean normalised bin power
 * (|X|²/Σw², floored at 1e-10, about the PCM16 quantisation noise). The measure is the
 * population variance of those 16 band levels, in dB². It does not depend on the frame's
 * level, only on its spectral shape. Averaging 8 bins per band keeps the periodogram's own
 * scatter small (white noise ≈ 3–5 dB², pink noise ≈ 12–16 dB²), while voiced speech, with
 * its harmonics, formants and spectral tilt, is far above 20 dB². A pure tone concentrates its
 * power in one band and so has a very high variance: tones PASS this gate (rejecting them is
 * the VAD model's job), as do strongly coloured noises (brown noise, hum).
 */
import { hannWindow, realPowerSpectrum } from '../audio/fft.js';
import { SAMPLE_RATE } from '../audio/constants.js';
import { FRONT_DEFAULTS as F } from './defaults.js';

/** dBFS reported for a frame of digital silence (instead of −Infinity). */
export const SILENCE_DBFS = -120;
/** Default absolute floor: quieter frames are digital silence (a muted or absent signal). */
export const DEFAULT_SILENCE_FLOOR_DBFS: number = F.silenceFloorDbfs;

/** Lower edge of the speech band used by {@link spectralVarianceDb2}, in Hz. */
export const SPEECH_BAND_LOW_HZ = 125;
/** Width of one band, in Hz. */
export const SPEECH_BAND_WIDTH_HZ = 250;
/** Number of bands (125–4125 Hz). */
export const SPEECH_BAND_COUNT = 16;
/** Floor on the normalised bin power before taking logs (≈ PCM16 quantisation noise, −100 dB). */
const POWER_FLOOR = 1e-10;

/** RMS level of a frame in dBFS (a full-scale square wave is 0 dBFS); {@link SILENCE_DBFS} for all zeros. */
export function rmsDbfs(frame: ArrayLike<number>): number {
  const n = frame.length;
  if (n === 0) return SILENCE_DBFS;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += frame[i]! * frame[i]!;
  const meanSquare = sum / n;
  if (meanSquare <= 0) return SILENCE_DBFS;
  return Math.max(SILENCE_DBFS, 10 * Math.log10(meanSquare));
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/**
 * Variance (dB²) of the band levels of the frame's log-power spectrum over 125–4125 Hz, in 16
 * bands of 250 Hz — see the module comment for the exact definition. Flat (noise-like or
 * silent) frames give a low value, voiced speech a high one.
 */
export function spectralVarianceDb2(frame: ArrayLike<number>, sampleRateHz = SAMPLE_RATE): number {
  const n = nextPowerOfTwo(Math.max(2, frame.length));
  const x = new Float64Array(n);
  for (let i = 0; i < frame.length; i++) x[i] = frame[i]!;
  const window = hannWindow(n);
  let windowEnergy = 0;
  for (let i = 0; i < n; i++) windowEnergy += window[i]! * window[i]!;
  const power = realPowerSpectrum(x, window);
  const binHz = sampleRateHz / n;
  const levels = new Float64Array(SPEECH_BAND_COUNT);
  for (let b = 0; b < SPEECH_BAND_COUNT; b++) {
    const lowHz = SPEECH_BAND_LOW_HZ + b * SPEECH_BAND_WIDTH_HZ;
    const from = Math.round(lowHz / binHz);
    const to = Math.max(from + 1, Math.min(power.length, Math.round((lowHz + SPEECH_BAND_WIDTH_HZ) / binHz)));
    let sum = 0;
    for (let k = from; k < to; k++) sum += power[k] ?? 0;
    const mean = sum / (to - from) / windowEnergy;
    levels[b] = 10 * Math.log10(mean + POWER_FLOOR);
  }
  let mean = 0;
  for (const l of levels) mean += l;
  mean /= levels.length;
  let variance = 0;
  for (const l of levels) variance += (l - mean) * (l - mean);
  return variance / levels.length;
}

/** Why a frame may not count as speech; null when it may. */
export type GateReason =
  /** Below the absolute digital-silence floor (`silenceFloorDbfs`). */
  | 'silence'
  /** Not clearly above the stream's tracked noise floor (`noiseMarginDb`). */
  | 'noise_floor'
  /** Far below the conversation's own speech level (`farBelowSpeechDb`): distant babble, reverberation tails. */
  | 'far'
  /** Spectrum too flat to be voiced speech (`varianceGateDb2`): steady broadband noise. */
  | 'flat';

/** Gate settings; every level carries its unit. An option not given takes its value from FRONT_DEFAULTS (defaults.ts). */
export interface GateOptions {
  /** Absolute floor: frames quieter than this are digital silence, whatever the model says. Default −80 dBFS. */
  silenceFloorDbfs?: number;
  /** A frame must be this far above the tracked noise floor. Default 5 dB. */
  noiseMarginDb?: number;
  /** Frames more than this below the tracked speech level are far voices, not the conversation. Default 0: off (docs/tuning-log.md, "Silero on every frame", says why). */
  farBelowSpeechDb?: number;
  /** Frames whose {@link spectralVarianceDb2} is below this (dB²) are too flat to be speech. Default 8 dB². */
  varianceGateDb2?: number;
  /** VAD probability from which a passed frame updates the speech level. Default 0.9. */
  confidentProbability?: number;
  /** The noise floor is the quietest frame of this much recent audio. Default 3000 ms. */
  noiseFloorWindowMs?: number;
  /** Time constant of the speech-level tracker, seconds. Default 3. */
  speechLevelTimeS?: number;
  /** Sample rate of the frames. Default 16 000 Hz. */
  sampleRateHz?: number;
}

/** Outcome of one frame's gates. */
export interface GateResult {
  /** True when nothing vetoes the frame: its VAD probability decides. */
  pass: boolean;
  /** The named reason of a veto; null when it passed. */
  reason: GateReason | null;
  rmsDbfs: number;
  /** Spectral variance in dB². */
  variance: number;
}
