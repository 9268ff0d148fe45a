/**
 * The room's levels, tracked once per stream, and each frame's verdict from them. Pure: state
 * in, verdict out; no I/O. The one place that knows how loud the room, its floor and its
 * speech are; the segmenter only reads the verdicts (see segmenter.ts).
 *
 * Verdicts, in the order they are checked (the first that applies is the frame's):
 * - `silence`: RMS below the absolute floor (`silenceFloorDbfs`): digital silence, a muted
 *   microphone.
 * - `noise_floor`: RMS less than `noiseMarginDb` above the stream's noise floor, the quietest
 *   frame of the last `noiseFloorWindowMs` (minimum statistics; digital silence counts as the
 *   silence floor). Speech has quieter frames between syllables every few hundred ms, steady
 *   noise of any colour has none, so after one window a steady noise, hum or tone is at the
 *   floor and vetoed.
 * - `far`: RMS more than `farBelowSpeechDb` below the speech level tracked over the frames
 *   judged speech with confidence (`confidentProbability`; time constant `speechLevelTimeS`):
 *   distant voices and reverberation tails are much quieter than the two people at the
 *   microphone. Off by default (0).
 * - `flat`: spectral variance below `varianceGateDb2`: broadband noise. The threshold was 20 dB²
 *   in the first design; measured on real meeting audio, 1 % of the frames the model scores as
 *   speech are below 15 dB² (far-field speech is flatter than close speech) and 5 % of read
 *   speech frames below 19 dB², while white noise stays at 3–5 dB²: 8 dB² rejects the flat
 *   noise and almost no speech.
 * - `noisy_room` (the conversation rule, `quietBelowConversationDb`): the frame's level,
 *   smoothed over `conversationSmoothingMs`, is more than `quietBelowConversationDb` below the
 *   conversation's speech level (the `conversationPercentile` of the smoothed levels of the
 *   frames that passed and reached `threshold` in the last `conversationWindowMs`) AND within
 *   `conversationFloorMarginDb` of the room's floor (the `conversationFloorPercentile` of every
 *   frame's smoothed level in that window): distant babble between turns. A room whose speech
 *   is less than `noisyRoomSnrDb` over its floor is noisy, and there the floor margin widens by
 *   `noisyRoomMarginPerDb` per dB under it (after `noisyRoomMinSpeechMs` of confident speech).
 *   Inactive until `conversationMinSpeechMs` of confident speech were heard.
 *
 * The first four are the gates (`gate`): they veto a frame whatever the model says. The last is
 * the conversation's (`levels`), which the segmenter reads as "neither opens nor extends a
 * segment, never joins an onset". Every option not given takes its value from FRONT_DEFAULTS.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { FRONT_DEFAULTS as F } from './defaults.js';
import { DEFAULT_SILENCE_FLOOR_DBFS, rmsDbfs, SILENCE_DBFS, spectralVarianceDb2, type GateOptions, type GateReason, type GateResult } from './gates.js';

/** A frame's verdict: why it may not count as speech, or null when it may. */
export type FrameVerdict = GateReason | 'noisy_room';

/** Settings of the conversation's level tracking; levels in dB, durations in ms. */
export interface RoomLevelOptions extends GateOptions {
  /** Probability that makes a passed frame confident speech for the conversation level. Default 0.5 (the VAD threshold). */
  threshold?: number;
  /** Window of the smoothed level the segment rule reads (`FrameLevels.smoothDbfs`). Default 320 ms. */
  levelSmoothingMs?: number;
  /**
   * The conversation rule (0: off); see the module comment. Unlike the segmenter's segment
   * rule, it also holds when a segment is all distant babble (its own loudest frame is the
   * babble), and it does not drift down during a pause. Default 12 dB.
   */
  quietBelowConversationDb?: number;
  /**
   * Its floor condition (0: none): in a quiet room even very soft speech is far above the floor
   * and is kept; in a noisy one the babble is what lies just above it. Default 7 dB.
   */
  conversationFloorMarginDb?: number;
  /**
   * Speech over floor under which the room is noisy (0: off): there babble that rises well over
   * the floor (it comes and goes with its talkers) is still far. In a quiet room (real meetings:
   * 31–48 dB, the clean sets: 39–47 dB) nothing changes. Default 32 dB.
   */
  noisyRoomSnrDb?: number;
  /** Widening of the floor margin per dB under `noisyRoomSnrDb`. Default 2. */
  noisyRoomMarginPerDb?: number;
  /** Confident frames heard before the noisy-room widening acts. Default 10 000 ms. */
  noisyRoomMinSpeechMs?: number;
  /** Percentile (0–100) of all recent frames' smoothed levels that is the floor. Default 2. */
  conversationFloorPercentile?: number;
  /** Window of the smoothed level the conversation rule judges. Default 320 ms. */
  conversationSmoothingMs?: number;
  /** History of the conversation's levels. Default 30 000 ms. */
  conversationWindowMs?: number;
  /** Percentile (0–100) of the confident levels that is the speech level. Default 90. */
  conversationPercentile?: number;
  /** Confident frames needed before the conversation rule acts. Default 2000 ms. */
  conversationMinSpeechMs?: number;
  /** The segmenter's energy onset (0: off): the room's floor is tracked for it. Default 300 ms. */
  onsetEnergyMs?: number;
}

/** What the segmenter reads of one frame. */
export interface FrameLevels {
  /** The frame's received samples. */
  samples: Float32Array;
  startSample: number;
  /** The VAD's probability. */
  prob: number;
  /** Whether the gates let it through (its verdict was not a gate's). */
  gatePass: boolean;
  /** Vetoed by the conversation rule (`noisy_room`): never speech, never joins an onset. */
  far: boolean;
  /** RMS level of the received samples, dBFS. */
  rmsDbfs: number;
  /** Mean power of the last `levelSmoothingMs` of frames, this one included, dBFS. */
  smoothDbfs: number;
}

/** A frame with its verdict. */
export interface JudgedFrame extends FrameLevels {
  verdict: FrameVerdict | null;
  /** Spectral variance of the (padded) frame, dB². */
  variance: number;
}

/** What the segmenter asks of the room when a segment opens (its energy onset). */
export interface RoomView {
  /** The floor an energy-onset frame is measured against, dBFS. */
  onsetFloorDbfs(): number;
  /** True once the conversation's speech is known to be under `noisyRoomSnrDb` over its floor. */
  noisyRoom(): boolean;
}

interface Resolved {
  silenceFloorDbfs: number;
  noiseMarginDb: number;
  farBelowSpeechDb: number;
  varianceGateDb2: number;
  confidentProbability: number;
  noiseFloorWindowMs: number;
  speechLevelTimeS: number;
  sampleRateHz: number;
  threshold: number;
  levelSmoothingSamples: number;
  quietBelowConversationDb: number;
  conversationFloorMarginDb: number;
  conversationFloorPercentile: number;
  conversationSmoothingSamples: number;
  conversationWindowSamples: number;
  conversationPercentile: number;
  conversationMinSpeechSamples: number;
  noisyRoomSnrDb: number;
  noisyRoomMarginPerDb: number;
  noisyRoomMinSpeechSamples: number;
  onsetEnergySamples: number;
}

function resolve(o: RoomLevelOptions): Resolved {
  const rate = o.sampleRateHz ?? SAMPLE_RATE;
  const ms = (value: number | undefined, def: number, name: string) => {
    const v = value ?? def;
    if (!Number.isFinite(v) || v < 0) throw new Error(`segmenter: ${name} must be a finite number ≥ 0`);
    return Math.round((v * rate) / 1000);
  };
  const r: Resolved = {
    silenceFloorDbfs: o.silenceFloorDbfs ?? DEFAULT_SILENCE_FLOOR_DBFS,
    noiseMarginDb: o.noiseMarginDb ?? F.noiseMarginDb,
    farBelowSpeechDb: o.farBelowSpeechDb ?? F.farBelowSpeechDb,
    varianceGateDb2: o.varianceGateDb2 ?? F.varianceGateDb2,
    confidentProbability: o.confidentProbability ?? F.confidentProbability,
    noiseFloorWindowMs: o.noiseFloorWindowMs ?? F.noiseFloorWindowMs,
    speechLevelTimeS: o.speechLevelTimeS ?? F.speechLevelTimeS,
    sampleRateHz: rate,
    threshold: o.threshold ?? F.threshold,
    levelSmoothingSamples: ms(o.levelSmoothingMs, F.levelSmoothingMs, 'levelSmoothingMs'),
    quietBelowConversationDb: o.quietBelowConversationDb ?? F.quietBelowConversationDb,
    conversationFloorMarginDb: o.conversationFloorMarginDb ?? F.conversationFloorMarginDb,
    conversationFloorPercentile: o.conversationFloorPercentile ?? F.conversationFloorPercentile,
    conversationSmoothingSamples: ms(o.conversationSmoothingMs, F.conversationSmoothingMs, 'conversationSmoothingMs'),
    conversationWindowSamples: ms(o.conversationWindowMs, F.conversationWindowMs, 'conversationWindowMs'),
    conversationPercentile: o.conversationPercentile ?? F.conversationPercentile,
    conversationMinSpeechSamples: ms(o.conversationMinSpeechMs, F.conversationMinSpeechMs, 'conversationMinSpeechMs'),
    noisyRoomSnrDb: o.noisyRoomSnrDb ?? F.noisyRoomSnrDb,
    noisyRoomMarginPerDb: o.noisyRoomMarginPerDb ?? F.noisyRoomMarginPerDb,
    noisyRoomMinSpeechSamples: ms(o.noisyRoomMinSpeechMs, F.noisyRoomMinSpeechMs, 'noisyRoomMinSpeechMs'),
    onsetEnergySamples: ms(o.onsetEnergyMs, F.onsetEnergyMs, 'onsetEnergyMs'),
  };
  if (!(r.silenceFloorDbfs <= 0 && r.silenceFloorDbfs >= SILENCE_DBFS)) throw new Error('gates: silenceFloorDbfs must be in [−120, 0]');
  for (const [k, v] of [['noiseMarginDb', r.noiseMarginDb], ['farBelowSpeechDb', r.farBelowSpeechDb], ['varianceGateDb2', r.varianceGateDb2], ['noiseFloorWindowMs', r.noiseFloorWindowMs]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`gates: ${k} must be a finite number ≥ 0`);
  }
  if (!(r.confidentProbability > 0 && r.confidentProbability <= 1)) throw new Error('gates: confidentProbability must be in (0, 1]');
  if (!(r.speechLevelTimeS > 0)) throw new Error('gates: speechLevelTimeS must be > 0');
  for (const [k, v] of [['conversationPercentile', r.conversationPercentile], ['conversationFloorPercentile', r.conversationFloorPercentile]] as const) {
    if (!(v >= 0 && v <= 100)) throw new Error(`segmenter: ${k} must be in [0, 100]`);
  }
  for (const [k, v] of [['quietBelowConversationDb', r.quietBelowConversationDb], ['conversationFloorMarginDb', r.conversationFloorMarginDb], ['noisyRoomSnrDb', r.noisyRoomSnrDb], ['noisyRoomMarginPerDb', r.noisyRoomMarginPerDb]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`segmenter: ${k} must be a finite number ≥ 0`);
  }
  return r;
}

/**
 * The levels of one stream's room. Feed every frame in order: `judge` (gates and conversation
 * together, as the live front does), or `gate` and then `levels` for a caller that decides the
 * gates itself.
 */
export class RoomLevels implements RoomView {
  private readonly o: Resolved;
  private readonly frameS: number;
  // Gates: the noise floor (minimum statistics) and the speech level (exponential average).
  /** Levels (dBFS) of the last `noiseFloorWindowMs` of frames, a ring. */
  private readonly recentLevels: Float64Array;
  private recentCount = 0;
  private recentAt = 0;
  private speechLevelDbfs: number | null = null;
  // Conversation: smoothed levels, the speech level percentile and the floor percentile.
  /** Power (mean square) and length of the most recent frames, for the smoothed level. */
  private recentPower: Array<{ power: number; samples: number }> = [];
  /** Smoothed levels of recent frames at `threshold`, for the conversation level rule. */
  private speechLevels: Array<{ endSample: number; dbfs: number; samples: number }> = [];
  /** Smoothed levels of all recent frames, for the floor of the conversation level rule. */
  private allLevels: Array<{ endSample: number; dbfs: number }> = [];
  private conversationFloorDbfs = -Infinity;
  /** Whether every frame's smoothed level is kept for the floor (`allLevels`). */
  private readonly tracksFloor: boolean;
  /** Whether the level smoothed over `conversationSmoothingMs` is needed (conversation rule or floor). */
  private readonly tracksRoomLevel: boolean;
  private speechLevelSamples = 0;
  /** The conversation speech level (dBFS), recomputed every few frames; null until known. */
  private conversationDbfs: number | null = null;
  private framesSinceLevel = 0;

  constructor(options: RoomLevelOptions = {}, frameSamples = 512) {
    this.o = resolve(options);
    this.frameS = frameSamples / this.o.sampleRateHz;
    this.recentLevels = new Float64Array(Math.max(1, Math.round(this.o.noiseFloorWindowMs / 1000 / this.frameS)));
    this.tracksFloor = (this.o.quietBelowConversationDb > 0 && this.o.conversationFloorMarginDb > 0) || this.o.onsetEnergySamples > 0;
    this.tracksRoomLevel = this.tracksFloor || this.o.quietBelowConversationDb > 0;
  }

  /** The gates' noise floor (dBFS), null before the first frame. */
  get noiseFloor(): number | null {
    if (this.recentCount === 0) return null;
    let min = Infinity;
    for (let i = 0; i < this.recentCount; i++) min = Math.min(min, this.recentLevels[i]!);
    return min;
  }

  /** The gates' speech level (dBFS), null before the first confident speech frame. */
  get speechLevel(): number | null {
    return this.speechLevelDbfs;
  }

  /**
   * The whole verdict of one frame, as the live front asks it.
   * @param padded The full frame (the gates and the model see it).
   * @param real Its received samples (the last frame of a stream may be shorter).
   */
  judge(padded: Float32Array, real: Float32Array, startSample: number, speechProbability: number): JudgedFrame {
    const g = this.gate(padded, speechProbability);
    const l = this.levels(real, startSample, speechProbability, g.pass);
    return { ...l, verdict: g.reason ?? (l.far ? 'noisy_room' : null), variance: g.variance };
  }

  /** The gates' verdict of one frame (updates the noise floor and the gates' speech level). */
  gate(frame: ArrayLike<number>, speechProbability: number): GateResult {
    return this.gateMeasured(rmsDbfs(frame), spectralVarianceDb2(frame, this.o.sampleRateHz), speechProbability);
  }

  /** {@link gate} for a frame already measured: its RMS level (dBFS) and spectral variance (dB²). */
  gateMeasured(level: number, variance: number, speechProbability: number): GateResult {
    const o = this.o;
    let reason: GateReason | null = null;
    this.recentLevels[this.recentAt] = Math.max(level, o.silenceFloorDbfs);
    this.recentAt = (this.recentAt + 1) % this.recentLevels.length;
    this.recentCount = Math.min(this.recentCount + 1, this.recentLevels.length);
    if (level < o.silenceFloorDbfs) reason = 'silence';
    else {
      if (level < this.noiseFloor! + o.noiseMarginDb) reason = 'noise_floor';
      else if (o.farBelowSpeechDb > 0 && this.speechLevelDbfs !== null && level < this.speechLevelDbfs - o.farBelowSpeechDb) reason = 'far';
      else if (variance < o.varianceGateDb2) reason = 'flat';
    }
    if (reason === null && speechProbability >= o.confidentProbability) {
      const a = Math.min(1, this.frameS / o.speechLevelTimeS);
      this.speechLevelDbfs = this.speechLevelDbfs === null ? level : this.speechLevelDbfs + a * (level - this.speechLevelDbfs);
    }
    return { pass: reason === null, reason, rmsDbfs: level, variance };
  }

  /**
   * The conversation's levels for one frame's received samples, given the gates' verdict:
   * its own and smoothed level, and whether the conversation rule calls it far (`noisy_room`).
   * Frames must be contiguous and in order; an empty one changes nothing.
   */
  levels(samples: Float32Array, startSample: number, speechProbability: number, gatePass: boolean): FrameLevels {
    const o = this.o;
    const level = rmsDbfs(samples);
    if (samples.length === 0) return { samples, startSample, prob: speechProbability, gatePass, far: false, rmsDbfs: level, smoothDbfs: level };
    this.recordPower(level, samples.length);
    const smoothDbfs = this.smoothLevel(o.levelSmoothingSamples);
    let far = false;
    if (this.tracksRoomLevel) {
      const roomLevelDbfs = this.smoothLevel(o.conversationSmoothingSamples);
      if (this.tracksFloor) {
        this.allLevels.push({ endSample: startSample + samples.length, dbfs: roomLevelDbfs });
        while (this.allLevels[0]!.endSample <= startSample + samples.length - o.conversationWindowSamples) this.allLevels.shift();
      }
      far = o.quietBelowConversationDb > 0 && this.farBelowConversation(roomLevelDbfs, startSample + samples.length, samples.length, gatePass && speechProbability >= o.threshold);
    }
    return { samples, startSample, prob: speechProbability, gatePass, far, rmsDbfs: level, smoothDbfs };
  }

  /** The floor for the energy onset: the conversation rule's while it has one, else taken now. */
  onsetFloorDbfs(): number {
    return Number.isFinite(this.conversationFloorDbfs) ? this.conversationFloorDbfs : this.floorOfRecentLevels();
  }

  /** True once the conversation's speech level is known to be under `noisyRoomSnrDb` over its floor. */
  noisyRoom(): boolean {
    const o = this.o;
    if (o.noisyRoomSnrDb <= 0 || this.conversationDbfs === null || !Number.isFinite(this.conversationFloorDbfs)) return false;
    return this.conversationDbfs - this.conversationFloorDbfs < o.noisyRoomSnrDb;
  }

  /** Forgets every tracked level (a new stream). */
  reset(): void {
    this.recentCount = 0;
    this.recentAt = 0;
    this.speechLevelDbfs = null;
    this.recentPower = [];
    this.speechLevels = [];
    this.allLevels = [];
    this.conversationFloorDbfs = -Infinity;
    this.speechLevelSamples = 0;
    this.conversationDbfs = null;
    this.framesSinceLevel = 0;
  }

  /**
   * The conversation level rule for one frame (only called while the rule is on): records its
   * smoothed level when it reached `threshold`, and tells whether it is too far below the
   * conversation's speech level.
   */
  private farBelowConversation(smoothDbfs: number, endSample: number, samples: number, confident: boolean): boolean {
    const o = this.o;
    if (confident) {
      this.speechLevels.push({ endSample, dbfs: smoothDbfs, samples });
      this.speechLevelSamples += samples;
    }
    const from = endSample - o.conversationWindowSamples;
    while (this.speechLevels.length && this.speechLevels[0]!.endSample <= from) this.speechLevelSamples -= this.speechLevels.shift()!.samples;
    if (this.speechLevelSamples < o.conversationMinSpeechSamples) {
      this.conversationDbfs = null;
      return false;
    }
    // A percentile over up to a window of frames: recomputed every 8 frames (~0.25 s) is plenty.
    if (this.conversationDbfs === null || ++this.framesSinceLevel >= 8) {
      this.framesSinceLevel = 0;
      const sorted = this.speechLevels.map((x) => x.dbfs).sort((a, b) => a - b);
      this.conversationDbfs = percentileOf(sorted, o.conversationPercentile);
      if (o.conversationFloorMarginDb > 0) this.conversationFloorDbfs = this.floorOfRecentLevels();
    }
    if (smoothDbfs >= this.conversationDbfs - o.quietBelowConversationDb) return false;
    if (o.conversationFloorMarginDb <= 0) return true;
    let margin = o.conversationFloorMarginDb;
    if (o.noisyRoomSnrDb > 0 && this.speechLevelSamples >= o.noisyRoomMinSpeechSamples) {
      margin += o.noisyRoomMarginPerDb * Math.max(0, o.noisyRoomSnrDb - (this.conversationDbfs - this.conversationFloorDbfs));
    }
    return smoothDbfs < this.conversationFloorDbfs + margin;
  }

  /** The `conversationFloorPercentile` of the recent frames' smoothed levels (`allLevels`, not empty). */
  private floorOfRecentLevels(): number {
    return percentileOf(this.allLevels.map((x) => x.dbfs).sort((a, b) => a - b), this.o.conversationFloorPercentile);
  }

  /** Keeps the power of the newest frame, as much history as the longest smoothing window needs. */
  private recordPower(levelDbfs: number, samples: number): void {
    this.recentPower.push({ power: 10 ** (levelDbfs / 10), samples });
    const keep = Math.max(this.o.levelSmoothingSamples, this.tracksRoomLevel ? this.o.conversationSmoothingSamples : 0);
    let total = 0;
    for (const p of this.recentPower) total += p.samples;
    while (this.recentPower.length > 1 && total - this.recentPower[0]!.samples >= keep) total -= this.recentPower.shift()!.samples;
  }

  /** Smoothed level (dBFS): mean power of the newest frames covering `windowSamples` (at least the newest frame). */
  private smoothLevel(windowSamples: number): number {
    let energy = 0;
    let total = 0;
    for (let i = this.recentPower.length - 1; i >= 0; i--) {
      const p = this.recentPower[i]!;
      energy += p.power * p.samples;
      total += p.samples;
      if (total >= windowSamples) break;
    }
    return 10 * Math.log10(Math.max(energy / Math.max(1, total), 1e-12));
  }
}

/** The `p`-th percentile (0–100) of an ascending, non-empty array (nearest rank below). */
function percentileOf(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
