/**
 * The front of one connection's pipeline: PCM16 chunks → fixed frames → VAD stream → room
 * levels (each frame's verdict: gates and the conversation rule) → segmenter (timing). Only the composition and ordering live here; each stage is its own module, and
 * the model is behind {@link VadStream} so tests can pass a fake.
 *
 * The model sees every frame, in order: its recurrent state must live through the pauses
 * between syllables, or it scores the next word as the start of a new utterance (measured on
 * a real recording: 0.75–0.88 inside words when fed every frame, 0.05–0.25 when fed only the
 * frames that passed the gates). The gates then veto frames only for a reason they can name.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/constants.js';
import { FrameAssembler } from '../audio/frames.js';
import { floatToPcm16 } from '../audio/wav.js';
import { DEFAULT_SILENCE_FLOOR_DBFS, rmsDbfs } from './gates.js';
import { RoomLevels, type FrameVerdict, type RoomLevelOptions } from './room-levels.js';
import type { Config } from '../config.js';
import { Segmenter, type SegmenterEvent, type SegmenterOptions } from './segmenter.js';
import type { VadStream } from '../vad/types.js';

/** Gate, room-level and segmenter settings of one front. */
export interface SpeechFrontOptions extends RoomLevelOptions, SegmenterOptions {}

/**
 * The front's settings from the server configuration; the options that are not settings take
 * their values from FRONT_DEFAULTS (defaults.ts), as every stage does.
 */
export function speechFrontOptionsFromConfig(config: Config): SpeechFrontOptions {
  return {
    silenceFloorDbfs: config.RMS_GATE_DBFS,
    varianceGateDb2: config.VARIANCE_GATE,
    noiseMarginDb: config.NOISE_MARGIN_DB,
    farBelowSpeechDb: config.FAR_BELOW_SPEECH_DB,
    quietBelowSegmentDb: config.QUIET_BELOW_SEGMENT_DB,
    quietBelowConversationDb: config.QUIET_BELOW_CONVERSATION_DB,
    conversationFloorMarginDb: config.CONVERSATION_FLOOR_MARGIN_DB,
    noisyRoomSnrDb: config.NOISY_ROOM_SNR_DB,
    threshold: config.VAD_THRESHOLD,
    negativeThreshold: config.VAD_NEGATIVE_THRESHOLD,
    silenceMs: config.SILENCE_MS,
    maxSegmentMs: config.MAX_SEGMENT_MS,
    preRollMs: config.PRE_ROLL_MS,
    onsetEnergyMs: config.ONSET_ENERGY_MS,
    onsetAboveFloorDb: config.ONSET_ABOVE_FLOOR_DB,
    minSpeechMs: config.MIN_SPEECH_MS,
  };
}

/**
 * One conversation's front. Calls to {@link push} and {@link flush} may overlap: they are
 * processed strictly in call order, each promise resolving with the events its own audio
 * caused.
 */
export class SpeechFront {
  private readonly frames = new FrameAssembler(FRAME_SAMPLES);
  private readonly segmenter: Segmenter;
  private readonly room: RoomLevels;
  private readonly vetoes: Record<FrameVerdict, number> = { silence: 0, noise_floor: 0, far: 0, flat: 0, noisy_room: 0 };
  private chain: Promise<unknown> = Promise.resolve();
  private generation = 0;
  /** Frames in a row under the digital-silence floor. */
  private silentFrames = 0;

  constructor(
    private readonly vad: VadStream,
    private readonly options: SpeechFrontOptions = {},
  ) {
    this.room = new RoomLevels(options, FRAME_SAMPLES);
    this.segmenter = new Segmenter(options, this.room);
  }

  /** Frames of each verdict since the last reset (for logs and benchmarks; no audio in it). */
  get vetoCounts(): Readonly<Record<FrameVerdict, number>> {
    return this.vetoes;
  }

  /** True while a kept segment is open (see {@link Segmenter.speechActive}). */
  get speechActive(): boolean {
    return this.segmenter.speechActive;
  }

  /** Start sample of the open kept segment, else null. */
  get openStartSample(): number | null {
    return this.segmenter.openStartSample;
  }

  /** Audio of the open kept segment from `fromSample` to the newest processed frame. */
  openAudio(fromSample: number): Float32Array {
    return this.segmenter.openAudio(fromSample);
  }

  /**
   * Cuts the open kept segment near `centreSample` (see {@link Segmenter.cutNear}). Call it
   * between pushes (after one resolved), never while one is running.
   */
  cutNear(centreSample: number, radiusSamples: number): SegmenterEvent[] {
    return this.segmenter.cutNear(centreSample, radiusSamples);
  }

  /** End of the newest frame processed (the open segment's audio ends here). */
  get processedSamples(): number {
    return this.segmenter.receivedSamples;
  }

  /** Whole samples received since the last reset. */
  get receivedSamples(): number {
    return this.frames.receivedSamples;
  }

  /** Feeds PCM16 LE bytes (any even length); resolves with the events they caused. */
  push(pcm16: Uint8Array): Promise<SegmenterEvent[]> {
    const bytes = pcm16.slice();
    return this.enqueue(async (gen) => {
      const events: SegmenterEvent[] = [];
      for (const frame of this.frames.push(bytes)) {
        await this.processFrame(frame.samples, frame.samples, frame.startSample, events);
        if (gen !== this.generation) return [];
      }
      return events;
    });
  }

  /** Processes the last partial frame and closes the open segment. */
  flush(): Promise<SegmenterEvent[]> {
    return this.enqueue(async (gen) => {
      const events: SegmenterEvent[] = [];
      const last = this.frames.flush();
      if (last) {
        await this.processFrame(last.samples, last.samples.subarray(0, last.validSamples), last.startSample, events);
        if (gen !== this.generation) return [];
      }
      events.push(...this.segmenter.flush());
      return events;
    });
  }

  /**
   * Drops all buffered audio and state, restarting sample indices at 0. Work already queued
   * resolves with no events.
   */
  reset(): void {
    this.generation++;
    this.frames.reset();
    this.segmenter.reset();
    this.room.reset();
    this.silentFrames = 0;
    for (const k of Object.keys(this.vetoes) as FrameVerdict[]) this.vetoes[k] = 0;
    this.vad.reset();
  }

  private enqueue(work: (generation: number) => Promise<SegmenterEvent[]>): Promise<SegmenterEvent[]> {
    const gen = this.generation;
    const run = this.chain.then(() => (gen === this.generation ? work(gen) : []));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** `padded` is the full frame for the gates and model; `real` its received samples. */
  private async processFrame(padded: Float32Array, real: Float32Array, startSample: number, events: SegmenterEvent[]) {
    // The model sees every frame, pauses included, so its recurrent state follows the speech.
    // Only a long stretch of digital silence (a muted mic, hours of nothing in a file) is not
    // fed: after a second of it the state is reset once and frames are scored 0 until sound
    // returns, which costs nothing and loses nothing (the gate vetoes such frames anyway).
    const silent = rmsDbfs(padded) < (this.options.silenceFloorDbfs ?? DEFAULT_SILENCE_FLOOR_DBFS);
    this.silentFrames = silent ? this.silentFrames + 1 : 0;
    if (this.silentFrames === SILENCE_RESET_FRAMES) this.vad.reset();
    const prob = this.silentFrames >= SILENCE_RESET_FRAMES ? 0 : await this.vad.process(padded);
    // One verdict per frame from the room's levels; the segmenter only times what it is given.
    const judged = this.room.judge(padded, real, startSample, prob);
    if (judged.verdict) this.vetoes[judged.verdict]++;
    events.push(...this.segmenter.push(judged));
  }
}

/** Frames of digital silence (~1 s) after which the VAD model is reset and no longer fed. */
const SILENCE_RESET_FRAMES = Math.round(SAMPLE_RATE / FRAME_SAMPLES);

/** Options of {@link collectSpeech}: the live front's settings, plus the enrollment margins. */
export interface CollectSpeechOptions extends RoomLevelOptions, Pick<SegmenterOptions, 'threshold' | 'negativeThreshold' | 'onsetLookBackMs' | 'minSpeechMs'> {
  /** Audio kept on each side of every speech run so words are not chopped. Default 100 ms. */
  hangoverMs?: number;
  /** Pauses shorter than this stay inside one speech run. Default 300 ms. */
  silenceMs?: number;
}

/** Speech-only audio of a recording, and how much speech it holds. */
export interface CollectedSpeech {
  /** The kept audio: speech runs with their hangover, concatenated, no sample twice. */
  speech: Float32Array;
  /** Seconds of speech (speech bounds of the runs, without the hangover). */
  speechSeconds: number;
}

/**
 * Keeps only the speech of a recording (e.g. enrollment audio): it runs the live front itself
 * (every frame through the VAD, the same gates and the same segmenter with its hysteresis, but
 * never the energy onset: a voice's registration should hold the voice, not the breath or
 * room sound before it), then keeps each segment with `hangoverMs` on each side, concatenated in order. Resets `vad`
 * before and after, so it may be a stream shared with nothing else running.
 */
export async function collectSpeech(
  vad: VadStream,
  samples: Float32Array,
  options: CollectSpeechOptions = {},
): Promise<CollectedSpeech> {
  const hangoverMs = options.hangoverMs ?? 100;
  const front = new SpeechFront(vad, { ...options, silenceMs: options.silenceMs ?? 300, preRollMs: hangoverMs, tailMs: hangoverMs, onsetEnergyMs: 0 });
  front.reset();
  const segments: Array<{ from: number; to: number; speech: number }> = [];
  try {
    const pcm = floatToPcm16(samples);
    const events = [...(await front.push(pcm)), ...(await front.flush())];
    for (const e of events) {
      if (e.kind !== 'segment') continue;
      segments.push({ from: e.audioStartSample, to: e.audioStartSample + e.audio.length, speech: e.endSample - e.startSample });
    }
  } finally {
    vad.reset();
  }
  // Hangovers of neighbouring runs may overlap: keep every sample once, in order.
  const parts: Float32Array[] = [];
  let keptTo = 0;
  let speechSamples = 0;
  for (const seg of segments) {
    const from = Math.max(seg.from, keptTo);
    if (seg.to > from) parts.push(samples.subarray(from, Math.min(samples.length, seg.to)));
    keptTo = Math.max(keptTo, seg.to);
    speechSamples += seg.speech;
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { speech: out, speechSeconds: speechSamples / SAMPLE_RATE };
}
