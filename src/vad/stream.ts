/**
 * The front of one connection's pipeline: PCM16 chunks → fixed frames → gates → VAD stream →
 * segmenter. Only the composition and ordering live here; each stage is its own module, and
 * the model is behind {@link VadStream} so tests can pass a fake.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/constants.js';
import { FrameAssembler } from '../audio/frames.js';
import { gateFrame, type GateOptions } from '../audio/gates.js';
import type { Config } from '../config.js';
import { Segmenter, type SegmenterEvent, type SegmenterOptions } from '../segmenter/segmenter.js';
import type { VadStream } from './types.js';

/** Gate and segmenter settings of one front. */
export interface SpeechFrontOptions extends GateOptions, SegmenterOptions {}

/** The front's settings from the server configuration. */
export function speechFrontOptionsFromConfig(config: Config): SpeechFrontOptions {
  return {
    rmsGateDbfs: config.RMS_GATE_DBFS,
    varianceGate: config.VARIANCE_GATE,
    threshold: config.VAD_THRESHOLD,
    silenceMs: config.SILENCE_MS,
    maxSegmentMs: config.MAX_SEGMENT_MS,
    preRollMs: config.PRE_ROLL_MS,
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
  private chain: Promise<unknown> = Promise.resolve();
  private generation = 0;

  constructor(
    private readonly vad: VadStream,
    private readonly options: SpeechFrontOptions = {},
  ) {
    this.segmenter = new Segmenter(options);
  }

  /** True while a kept segment is open (see {@link Segmenter.speechActive}). */
  get speechActive(): boolean {
    return this.segmenter.speechActive;
  }

  /** Start sample of the open kept segment, else null. */
  get openStartSample(): number | null {
    return this.segmenter.openStartSample;
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
    const gate = gateFrame(padded, this.options);
    // Gated frames never reach the model: that is the gates' purpose (CPU per stream).
    const prob = gate.pass ? await this.vad.process(padded) : 0;
    events.push(...this.segmenter.push(real, startSample, prob, gate.pass));
  }
}

/** Options of {@link collectSpeech}. */
export interface CollectSpeechOptions extends GateOptions {
  /** Probability that makes a frame speech. Default 0.5; `threshold − 0.15` keeps a run going. */
  threshold?: number;
  /** Audio kept on each side of every speech run so words are not chopped. Default 100 ms. */
  hangoverMs?: number;
  /** Speech runs shorter than this are dropped as clicks. Default 96 ms. */
  minSpeechMs?: number;
}

/** Speech-only audio of a recording, and how much speech it holds. */
export interface CollectedSpeech {
  /** The kept audio: speech runs with their hangover, concatenated. */
  speech: Float32Array;
  /** Seconds of frames the gates and VAD judged speech (without the hangover). */
  speechSeconds: number;
}

/**
 * Keeps only the speech of a recording (e.g. enrollment audio): frames that pass the gates
 * and the VAD, with `hangoverMs` on each side of every speech run, concatenated in order.
 * Resets `vad` before and after, so it may be a stream shared with nothing else running.
 */
export async function collectSpeech(
  vad: VadStream,
  samples: Float32Array,
  options: CollectSpeechOptions = {},
): Promise<CollectedSpeech> {
  const threshold = options.threshold ?? 0.5;
  const negative = Math.max(0.01, threshold - 0.15);
  const frameCount = Math.ceil(samples.length / FRAME_SAMPLES);
  const hangoverFrames = Math.round(((options.hangoverMs ?? 100) * SAMPLE_RATE) / 1000 / FRAME_SAMPLES);
  const minRunFrames = Math.max(1, Math.ceil(((options.minSpeechMs ?? 96) * SAMPLE_RATE) / 1000 / FRAME_SAMPLES));

  vad.reset();
  const speech = new Uint8Array(frameCount);
  let inRun = false;
  try {
    for (let f = 0; f < frameCount; f++) {
      const from = f * FRAME_SAMPLES;
      let frame = samples.subarray(from, from + FRAME_SAMPLES);
      if (frame.length < FRAME_SAMPLES) {
        const padded = new Float32Array(FRAME_SAMPLES);
        padded.set(frame);
        frame = padded;
      }
      const gate = gateFrame(frame, options);
      const prob = gate.pass ? await vad.process(frame) : 0;
      inRun = gate.pass && prob >= (inRun ? negative : threshold);
      speech[f] = inRun ? 1 : 0;
    }
  } finally {
    vad.reset();
  }

  // Drop runs too short to be speech, then widen the rest by the hangover.
  const keep = new Uint8Array(frameCount);
  let speechSamples = 0;
  for (let f = 0; f < frameCount; ) {
    if (!speech[f]) {
      f++;
      continue;
    }
    let end = f;
    while (end < frameCount && speech[end]) end++;
    if (end - f >= minRunFrames) {
      for (let k = f; k < end; k++) speechSamples += Math.min(FRAME_SAMPLES, samples.length - k * FRAME_SAMPLES);
      for (let k = Math.max(0, f - hangoverFrames); k < Math.min(frameCount, end + hangoverFrames); k++) keep[k] = 1;
    }
    f = end;
  }
  let kept = 0;
  for (let f = 0; f < frameCount; f++) if (keep[f]) kept += Math.min(FRAME_SAMPLES, samples.length - f * FRAME_SAMPLES);
  const out = new Float32Array(kept);
  let at = 0;
  for (let f = 0; f < frameCount; f++) {
    if (!keep[f]) continue;
    const part = samples.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES);
    out.set(part, at);
    at += part.length;
  }
  return { speech: out, speechSeconds: speechSamples / SAMPLE_RATE };
}
