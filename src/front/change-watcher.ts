/**
 * Online speaker-change watch over the open segment — pure: the window scorer is passed in.
 *
 * While a kept segment is open, every `hopMs` of new audio the last `windowMs` of it are
 * scored against both enrolled voices. The segment's speaker is the label of its first
 * decisive window (the better of the two similarities by at least `marginMin`); a later
 * decisive window with the other label is a change. Its point is taken midway between the
 * centres of the last window with the old label and the first with the new one (the new
 * voice fills most of that window), and the caller cuts the open segment there, so the part
 * before the change is sent about `windowMs / 2 + hopMs / 2` after it ends instead of when
 * the segment closes (up to `maxSegmentMs` later). The rest goes on as a new segment, whose
 * speaker is that of the change. Each part is still assigned whole afterwards; the watch only
 * decides where and when to cut.
 */
import { FRONT_DEFAULTS as F } from './defaults.js';

/**
 * Similarity of a window to speaker 0 and to speaker 1, or null when it cannot be scored.
 * `startSample` is the window's first sample in the stream (windows only move forward), for a
 * scorer that keeps work between overlapping windows.
 */
export type WindowScorer = (samples: Float32Array, startSample: number) => Promise<readonly [number, number] | null>;

/** Watch settings; durations carry their unit. An option not given takes its value from FRONT_DEFAULTS (defaults.ts). */
export interface ChangeWatchOptions {
  /** Window scored, ending at the newest audio. Default 1000 ms. */
  windowMs?: number;
  /** Audio between two scorings. Default 250 ms. */
  hopMs?: number;
  /** A window is decisive when its two similarities differ by at least this. Default 0.3. */
  marginMin?: number;
  /** Consecutive decisive windows of the other voice that confirm a change. Default 3. */
  confirmWindows?: number;
  /** No part shorter than this is cut off (either side of the change). Default 600 ms. */
  minPartMs?: number;
  /** Half-width of the window in which the cut looks for the quietest frame. Default 160 ms. */
  cutRadiusMs?: number;
  sampleRateHz?: number;
}

/** What the watch needs of the front: the open segment and a way to cut it. */
export interface WatchedFront {
  /** Start sample of the open kept segment, null when none is open. */
  readonly openStartSample: number | null;
  /** Samples received so far. */
  readonly receivedSamples: number;
  /** Audio of the open segment from `fromSample` to the newest sample. */
  openAudio(fromSample: number): Float32Array;
  /** Cuts the open segment near `centreSample`; returns what the cut emitted. */
  cutNear(centreSample: number, radiusSamples: number): unknown[];
}

interface Window {
  centreSample: number;
  label: 0 | 1;
}

/** The watch for one conversation; call {@link check} after each push of audio. */
export class SpeakerChangeWatcher {
  private readonly windowSamples: number;
  private readonly hopSamples: number;
  private readonly marginMin: number;
  private readonly confirmWindows: number;
  /** Decisive windows of the other voice since the last of the current one. */
  private pending: Window[] = [];
  private readonly minPartSamples: number;
  private readonly cutRadiusSamples: number;
  /** Start of the segment being watched (changes when a cut starts a new one). */
  private segmentStart: number | null = null;
  private nextCheckSample = 0;
  /** Last decisive window of the current speaker. */
  private current: Window | null = null;
  /** Decisive windows in a row with one label while no speaker is established yet. */
  private opening: Window[] = [];
  /** Frames cut by the watch, for logs and tests. */
  cuts = 0;

  constructor(
    private readonly score: WindowScorer,
    options: ChangeWatchOptions = {},
  ) {
    const rate = options.sampleRateHz ?? 16_000;
    const ms = (v: number | undefined, d: number, name: string) => {
      const x = v ?? d;
      if (!Number.isFinite(x) || x <= 0) throw new Error(`change watch: ${name} must be > 0`);
      return Math.round((x * rate) / 1000);
    };
    this.windowSamples = ms(options.windowMs, F.watchWindowMs, 'windowMs');
    this.hopSamples = ms(options.hopMs, F.watchHopMs, 'hopMs');
    this.minPartSamples = ms(options.minPartMs, F.watchMinPartMs, 'minPartMs');
    this.cutRadiusSamples = ms(options.cutRadiusMs, F.watchCutRadiusMs, 'cutRadiusMs');
    this.marginMin = options.marginMin ?? F.watchMargin;
    this.confirmWindows = options.confirmWindows ?? F.watchConfirm;
    if (!(Number.isInteger(this.confirmWindows) && this.confirmWindows >= 1)) throw new Error('change watch: confirmWindows must be an integer ≥ 1');
    if (!(this.marginMin >= 0)) throw new Error('change watch: marginMin must be ≥ 0');
  }

  /**
   * Scores the open segment's newest window when a hop has passed; cuts at a confirmed
   * change. Returns what the cut emitted (empty when nothing was cut).
   */
  async check(front: WatchedFront): Promise<unknown[]> {
    const start = front.openStartSample;
    if (start === null) {
      this.segmentStart = null;
      this.current = null;
      this.pending = [];
      this.opening = [];
      return [];
    }
    if (start !== this.segmentStart) {
      // A new segment (or the rest of a cut one, whose speaker `current` already is).
      if (this.segmentStart === null || (this.current && start - this.current.centreSample > this.windowSamples)) this.current = null;
      this.pending = [];
      this.opening = [];
      this.segmentStart = start;
      this.nextCheckSample = start + this.windowSamples;
    }
    // Windows end on a fixed grid (segment start + window + k hops), whatever the size of the
    // chunks the audio arrived in, so the same audio always gets the same decisions; a chunk
    // that crosses several grid points has each of those windows scored, in order.
    const received = front.receivedSamples;
    while (this.nextCheckSample <= received && front.openStartSample === start) {
      const end = this.nextCheckSample;
      this.nextCheckSample += this.hopSamples;
      const out = await this.judge(front, start, end);
      if (out.length > 0) return out;
    }
    return [];
  }

  /** Scores the window ending at `end` and cuts at a confirmed change. */
  private async judge(front: WatchedFront, start: number, now: number): Promise<unknown[]> {
    const from = Math.max(start, now - this.windowSamples);
    const audio = front.openAudio(from);
    const s = await this.score(audio.subarray(0, Math.min(audio.length, now - from)), from);
    if (!s || Math.abs(s[0] - s[1]) < this.marginMin) return [];
    const w: Window = { centreSample: now - this.windowSamples / 2, label: s[0] >= s[1] ? 0 : 1 };
    const last = this.current;
    if (!last) {
      // A segment's speaker is established like a change is confirmed: by `confirmWindows`
      // decisive windows in a row. The first second of a turn often still sounds like the
      // other person (measured: [0.54, 0.91] on a clean turn start), and taking one window
      // as the speaker turned the next, right windows into a false "change".
      this.opening = this.opening.length && this.opening[0]!.label !== w.label ? [w] : [...this.opening, w];
      if (this.opening.length >= this.confirmWindows) {
        this.current = w;
        this.opening = [];
      }
      return [];
    }
    if (last.label === w.label) {
      this.current = w;
      this.pending = [];
      return [];
    }
    this.pending.push(w);
    if (this.pending.length < this.confirmWindows) return [];
    const first = this.pending[0]!;
    this.current = w;
    this.pending = [];
    const changeSample = Math.round((last.centreSample + first.centreSample) / 2);
    if (changeSample - start < this.minPartSamples || now - changeSample < this.minPartSamples / 2) return [];
    const out = front.cutNear(changeSample, this.cutRadiusSamples);
    if (out.length > 0) {
      this.cuts++;
      this.segmentStart = front.openStartSample;
    }
    return out;
  }

  /** The open segment's speaker as the watch has established it; null while undecided or none is open. */
  get speakerGuess(): 0 | 1 | null {
    return this.segmentStart !== null ? (this.current?.label ?? null) : null;
  }

  /** Forgets the watched segment (a new conversation). */
  reset(): void {
    this.segmentStart = null;
    this.current = null;
    this.pending = [];
    this.opening = [];
    this.nextCheckSample = 0;
    this.cuts = 0;
  }
}
