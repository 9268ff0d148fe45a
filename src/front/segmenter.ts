/**
 * Speech segmenter: the timing state machine, from judged frames (samples, speech probability,
 * and the room's verdict and levels from room-levels.ts) to closed speech segments. No model,
 * no level tracking, no I/O: the caller runs the VAD and the room tracker and hands the results
 * in, so every timing rule here is testable with synthetic input.
 *
 * Rules (all durations converted to samples at 16 kHz):
 * - A frame is speech when it passed the gates and its probability reaches `threshold`, or,
 *   while a segment is open, `negativeThreshold` (hysteresis). The hysteresis also runs
 *   backwards: when a segment opens, the frames just before it (at most `onsetLookBackMs`)
 *   that passed the gates and reach `negativeThreshold` join it, because the model is often
 *   slow to rise on a soft onset (0.15–0.3 for the first 0.2–0.3 s of a turn, measured on
 *   real and read speech). This is the one hysteresis of the code base: enrollment runs the
 *   same segmenter (see `collectSpeech`).
 * - Energy onset (`onsetEnergyMs`, off by default; the live front turns it on): before the
 *   hysteresis's start, the start moves back over contiguous frames clearly over the room's
 *   floor (breath, soft consonant), except in a room known to be noisy. Those frames move the
 *   bound only; they are not speech frames.
 * - A segment opens at its first speech frame and closes once `silenceMs` have passed since
 *   the end of its last speech frame. It is kept only if its speech frames add up to at least
 *   `minSpeechMs` (a 0.3 s "Yes." is far above that; isolated 32–64 ms clicks are not).
 * - A segment reaching `maxSegmentMs` (from its start to the current frame's end) is cut in the
 *   middle of the quietest frame of its last `cutSearchMs` (lowest RMS; ties: lowest speech
 *   probability, then latest). A pause of `earlyCutPauseMs` within its last `earlyCutWindowMs`
 *   before the limit cuts it earlier, in that pause. The remainder continues at once as the next segment: the first
 *   segment's audio ends exactly where the next one's begins, so no sample is lost or
 *   duplicated, and its `minSpeechMs` check is waived (it is the rest of real speech).
 * - `startSample`/`endSample` are speech bounds: start of the first speech frame and end of
 *   the last one (or the cut point). `audio` covers `preRollMs` before the start (clamped to
 *   what was received, and never before a preceding cut) up to `tailMs` after the end (clamped
 *   to what was received; no tail at a cut).
 * - Level rule (`quietBelowSegmentDb`): a speech frame whose level, smoothed over the room
 *   tracker's `levelSmoothingMs` (`FrameLevels.smoothDbfs`), is more than `quietBelowSegmentDb` below the
 *   open segment's reference level does not extend the segment; it counts as a pause for the
 *   `silenceMs` rule. The reference is the loudest smoothed level of the segment's speech,
 *   decaying by `quietReleaseDbPerS` while the speech is quieter (so a quieter voice that goes on
 *   speaking becomes the reference within a second or two, instead of being cut off).
 * - The caller may cut the open segment where it found a speaker change ({@link Segmenter.cutNear}):
 *   the same cut as at `maxSegmentMs` (quietest frame of a window, the rest continues at once),
 *   with the reason `speaker_change`.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import type { FrameLevels, RoomView } from './room-levels.js';
import { FRONT_DEFAULTS as F } from './defaults.js';

/**
 * Segmenter settings; every duration carries its unit. An option not given takes its value from
 * FRONT_DEFAULTS (defaults.ts), what ships; the "Default" each names below is that value.
 */
export interface SegmenterOptions {
  /** Speech probability a frame needs to open a segment. Default 0.5. */
  threshold?: number;
  /** Probability that keeps an open segment's frames speech. Default 0.06 (or `threshold` if lower). */
  negativeThreshold?: number;
  /** Non-speech after the last speech frame that closes a segment. Default 500 ms. */
  silenceMs?: number;
  /** Longest segment, start to cut. Default 7000 ms. */
  maxSegmentMs?: number;
  /**
   * Window at the end of a segment that reached `maxSegmentMs`, searched for the quietest cut
   * point. Default 500 ms: the part before the cut waits at most this long to be sent.
   */
  cutSearchMs?: number;
  /**
   * The last stretch before `maxSegmentMs` in which a pause cuts at once. Default 1000 ms (a
   * pause after 6 s of a 7 s limit).
   */
  earlyCutWindowMs?: number;
  /**
   * Inside that window, a pause (non-speech run) this long cuts at once, in the pause, instead
   * of waiting for `maxSegmentMs`. Default 96 ms.
   */
  earlyCutPauseMs?: number;
  /** Frames before an opening frame that may join it by the hysteresis. Default 300 ms. */
  onsetLookBackMs?: number;
  /**
   * Energy onset (0: off). When a segment opens, its start moves back a further at most this
   * long (before the backward hysteresis's start, after the last cut) through the contiguous
   * frames whose own level is at least `onsetAboveFloorDb` over the conversation's floor and
   * that the conversation rule does not call far: the breath, the soft consonant and the
   * rising first syllable that Silero scores 0.01–0.3 for up to half a second before it is
   * sure (measured on the clean and real sets). They move the start only; they are not speech
   * frames (they do not count towards `minSpeechMs`). Default 300 ms.
   */
  onsetEnergyMs?: number;
  /** Level over the conversation's floor (its own 32 ms level, not smoothed) that an energy-onset frame needs, dB. Default 8. */
  onsetAboveFloorDb?: number;
  /** Audio kept before the first speech frame. Default 200 ms. */
  preRollMs?: number;
  /** Audio kept after the last speech frame (at most; none at a cut). Default 100 ms. */
  tailMs?: number;
  /** Segments with less speech than this in total are discarded as noise. Default 96 ms. */
  minSpeechMs?: number;
  /**
   * Level rule (0: off). A speech frame whose smoothed level is more than this many dB below
   * the open segment's reference level does not extend the segment (see the module comment).
   * The end of a turn trails off, and a reverberation tail decays (60 dB in one RT60, 0.3–0.7 s
   * in a room), far below the voice that made them, while Silero, and the hysteresis down to
   * `negativeThreshold`, often still call them speech. Default 25.
   */
  quietBelowSegmentDb?: number;
  /** How fast the reference level of the level rule decays while the speech is quieter, dB/s. Default 10. */
  quietReleaseDbPerS?: number;
  /** Sample rate of the frames. Default 16 000 Hz. */
  sampleRateHz?: number;
}

/** Why a segment closed. */
export type SegmentEndReason = 'silence' | 'max_length' | 'speaker_change' | 'flush';

/** Speech has started and is long enough to be kept (a segment with this start will follow). */
export interface SpeechStartEvent {
  kind: 'speech_start';
  startSample: number;
}

/** A closed segment. Sample indices count from the stream's start at 16 kHz. */
export interface SegmentEvent {
  kind: 'segment';
  /** Start of the first speech frame (or the cut point, for the rest of a cut segment). */
  startSample: number;
  /** End (exclusive) of the last speech frame, or the cut point. */
  endSample: number;
  /** Samples from `audioStartSample` to at most `endSample + tailMs`. */
  audio: Float32Array;
  audioStartSample: number;
  endReason: SegmentEndReason;
  /** True when this segment is the rest of one cut at `maxSegmentMs` (starts at the cut). */
  continued: boolean;
}

/** Everything the segmenter emits, in stream order. */
export type SegmenterEvent = SpeechStartEvent | SegmentEvent;

interface FrameRecord {
  startSample: number;
  endSample: number;
  samples: Float32Array;
  rmsDbfs: number;
  /** Mean power of the last `levelSmoothingMs` of frames, this one included, in dBFS. */
  smoothDbfs: number;
  prob: number;
  gatePass: boolean;
  /** Vetoed by the conversation level rule (distant babble): never speech, never joins an onset. */
  far: boolean;
  speech: boolean;
}

interface OpenSegment {
  startSample: number;
  lastSpeechEndSample: number;
  speechSamples: number;
  /** Enough speech to be kept; `speech_start` has been emitted. */
  confirmed: boolean;
  continued: boolean;
  /** For the rest of a cut segment: its audio starts at the cut point, without pre-roll. */
  audioStartSample: number | null;
  /** Reference level of the level rule, dBFS (loudest smoothed speech, decaying). */
  referenceDbfs: number;
}

interface Resolved {
  threshold: number;
  negativeThreshold: number;
  silenceSamples: number;
  maxSegmentSamples: number;
  cutSearchSamples: number;
  earlyCutWindowSamples: number;
  earlyCutPauseSamples: number;
  onsetLookBackSamples: number;
  onsetEnergySamples: number;
  onsetAboveFloorDb: number;
  preRollSamples: number;
  tailSamples: number;
  minSpeechSamples: number;
  quietBelowSegmentDb: number;
  quietReleaseDbPerS: number;
  sampleRateHz: number;
}

function resolve(o: SegmenterOptions): Resolved {
  const rate = o.sampleRateHz ?? SAMPLE_RATE;
  const ms = (value: number | undefined, def: number, name: string) => {
    const v = value ?? def;
    if (!Number.isFinite(v) || v < 0) throw new Error(`segmenter: ${name} must be a finite number ≥ 0`);
    return Math.round((v * rate) / 1000);
  };
  const threshold = o.threshold ?? F.threshold;
  if (!(threshold > 0 && threshold <= 1)) throw new Error('segmenter: threshold must be in (0, 1]');
  const negativeThreshold = o.negativeThreshold ?? Math.min(threshold, F.negativeThreshold);
  if (!(negativeThreshold > 0 && negativeThreshold <= threshold)) {
    throw new Error('segmenter: negativeThreshold must be in (0, threshold]');
  }
  const r: Resolved = {
    threshold,
    negativeThreshold,
    silenceSamples: ms(o.silenceMs, F.silenceMs, 'silenceMs'),
    maxSegmentSamples: ms(o.maxSegmentMs, F.maxSegmentMs, 'maxSegmentMs'),
    cutSearchSamples: ms(o.cutSearchMs, F.cutSearchMs, 'cutSearchMs'),
    earlyCutWindowSamples: ms(o.earlyCutWindowMs, F.earlyCutWindowMs, 'earlyCutWindowMs'),
    earlyCutPauseSamples: ms(o.earlyCutPauseMs, F.earlyCutPauseMs, 'earlyCutPauseMs'),
    onsetLookBackSamples: ms(o.onsetLookBackMs, F.onsetLookBackMs, 'onsetLookBackMs'),
    onsetEnergySamples: ms(o.onsetEnergyMs, F.onsetEnergyMs, 'onsetEnergyMs'),
    onsetAboveFloorDb: o.onsetAboveFloorDb ?? F.onsetAboveFloorDb,
    preRollSamples: ms(o.preRollMs, F.preRollMs, 'preRollMs'),
    tailSamples: ms(o.tailMs, F.tailMs, 'tailMs'),
    minSpeechSamples: ms(o.minSpeechMs, F.minSpeechMs, 'minSpeechMs'),
    quietBelowSegmentDb: o.quietBelowSegmentDb ?? F.quietBelowSegmentDb,
    quietReleaseDbPerS: o.quietReleaseDbPerS ?? F.quietReleaseDbPerS,
    sampleRateHz: rate,
  };
  for (const [k, v] of [['quietBelowSegmentDb', r.quietBelowSegmentDb], ['quietReleaseDbPerS', r.quietReleaseDbPerS], ['onsetAboveFloorDb', r.onsetAboveFloorDb]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`segmenter: ${k} must be a finite number ≥ 0`);
  }
  if (r.maxSegmentSamples < 2) throw new Error('segmenter: maxSegmentMs is too small');
  return r;
}

/**
 * Streaming segmenter for one conversation. Feed every frame in order with {@link push};
 * call {@link flush} at the end. Memory is bounded by `preRollMs + maxSegmentMs` of frames.
 */
export class Segmenter {
  private readonly o: Resolved;
  /** Idle: the recent frames kept for pre-roll. Open: every frame since the pre-roll began. */
  private frames: FrameRecord[] = [];
  /** No segment's audio starts before this sample (the last cut point). */
  private floorSample = 0;
  private open: OpenSegment | null = null;

  /**
   * @param room The room tracker the frames were judged by: asked for its floor and whether it
   *   is noisy when a segment opens (the energy onset). Without one, the energy onset never moves
   *   a start.
   */
  constructor(
    options: SegmenterOptions = {},
    private readonly room: RoomView = NO_ROOM,
  ) {
    this.o = resolve(options);
  }

  /** True while a segment with enough speech to be kept is open. */
  get speechActive(): boolean {
    return this.open?.confirmed ?? false;
  }

  /** Start sample of the open segment once it is kept (`speechActive`), else null. */
  get openStartSample(): number | null {
    return this.open?.confirmed ? this.open.startSample : null;
  }

  /**
   * Feeds one judged frame (see `RoomLevels`). Frames must be contiguous and in order; the
   * last one may be shorter (only its real samples). The samples are copied.
   * @returns The events this frame caused, in order.
   */
  push(frame: FrameLevels): SegmenterEvent[] {
    const events: SegmenterEvent[] = [];
    const { samples, startSample } = frame;
    if (samples.length === 0) return events;
    const o = this.o;
    const threshold = this.open ? o.negativeThreshold : o.threshold;
    const rec: FrameRecord = {
      startSample,
      endSample: startSample + samples.length,
      samples: samples.slice(),
      rmsDbfs: frame.rmsDbfs,
      smoothDbfs: frame.smoothDbfs,
      prob: frame.prob,
      gatePass: frame.gatePass,
      far: frame.far,
      speech: frame.gatePass && frame.prob >= threshold && !frame.far,
    };
    this.frames.push(rec);

    if (!this.open) {
      if (!rec.speech) {
        this.trimHistory();
        return events;
      }
      this.open = {
        startSample: this.lookBack(rec),
        lastSpeechEndSample: rec.endSample,
        speechSamples: 0,
        confirmed: false,
        continued: false,
        audioStartSample: null,
        referenceDbfs: rec.smoothDbfs,
      };
      for (const f of this.frames) {
        if (f !== rec && f.speech) {
          this.open.speechSamples += f.samples.length;
          this.open.referenceDbfs = Math.max(this.open.referenceDbfs, f.smoothDbfs);
        }
      }
    } else if (rec.speech) {
      const seg = this.open;
      seg.referenceDbfs = Math.max(seg.referenceDbfs - (o.quietReleaseDbPerS * samples.length) / o.sampleRateHz, rec.smoothDbfs);
      if (o.quietBelowSegmentDb <= 0 || rec.smoothDbfs >= seg.referenceDbfs - o.quietBelowSegmentDb) seg.lastSpeechEndSample = rec.endSample;
    }
    const seg = this.open;
    if (rec.speech) seg.speechSamples += samples.length;
    if (!seg.confirmed && seg.speechSamples >= o.minSpeechSamples) {
      seg.confirmed = true;
      events.push({ kind: 'speech_start', startSample: seg.startSample });
    }
    if (rec.endSample - seg.lastSpeechEndSample >= o.silenceSamples) {
      this.close('silence', events);
    } else if (rec.endSample - seg.startSample >= o.maxSegmentSamples) {
      this.cut(events);
    } else if (seg.confirmed && rec.endSample - seg.startSample > o.maxSegmentSamples - o.earlyCutWindowSamples) {
      // Inside the last `earlyCutWindowMs` before the limit: a clear pause there is the cut.
      const windowStart = seg.startSample + o.maxSegmentSamples - o.earlyCutWindowSamples;
      const pause = this.trailingPauseSamples(windowStart);
      if (pause >= Math.max(1, o.earlyCutPauseSamples)) this.cut(events, rec.endSample - pause);
    }
    return events;
  }

  /** Samples received so far (end of the newest frame). */
  get receivedSamples(): number {
    return this.receivedEndSample;
  }

  /**
   * The received audio of the open kept segment from `fromSample` (clamped to its start) to
   * the newest frame; empty when no kept segment is open.
   */
  openAudio(fromSample: number): Float32Array {
    if (!this.open?.confirmed) return new Float32Array(0);
    return this.collect(Math.max(fromSample, this.open.startSample), this.receivedEndSample);
  }

  /**
   * Cuts the open kept segment at the quietest frame whose middle lies in
   * [`centreSample − radiusSamples`, `centreSample + radiusSamples`] (and after the segment's
   * start), e.g. at a speaker change found while it is open. The first part is emitted with
   * the reason `speaker_change`; the rest continues as a `continued` segment. Does nothing
   * when no kept segment is open or no frame lies in the window.
   */
  cutNear(centreSample: number, radiusSamples: number): SegmenterEvent[] {
    const events: SegmenterEvent[] = [];
    const seg = this.open;
    if (!seg?.confirmed) return events;
    const from = Math.max(seg.startSample, centreSample - radiusSamples);
    const to = Math.min(this.receivedEndSample, centreSample + radiusSamples);
    if (to - from < 1) return events;
    this.cut(events, from, to, 'speaker_change');
    return events;
  }

  /** Closes the open segment (end of stream); returns it when it is kept. */
  flush(): SegmenterEvent[] {
    const events: SegmenterEvent[] = [];
    if (this.open) this.close('flush', events);
    return events;
  }

  /** Forgets everything (a new stream starting at sample 0). */
  reset(): void {
    this.frames = [];
    this.floorSample = 0;
    this.open = null;
  }

  private get receivedEndSample(): number {
    return this.frames.length > 0 ? this.frames[this.frames.length - 1]!.endSample : this.floorSample;
  }

  private audioStartFor(seg: OpenSegment): number {
    if (seg.audioStartSample !== null) return seg.audioStartSample;
    const startSample = seg.startSample;
    const first = this.frames.length > 0 ? this.frames[0]!.startSample : startSample;
    return Math.max(startSample - this.o.preRollSamples, this.floorSample, first);
  }

  private close(reason: SegmentEndReason, events: SegmenterEvent[]): void {
    const seg = this.open!;
    this.open = null;
    if (seg.confirmed) {
      const audioStart = this.audioStartFor(seg);
      const audioEnd = Math.min(seg.lastSpeechEndSample + this.o.tailSamples, this.receivedEndSample);
      events.push({
        kind: 'segment',
        startSample: seg.startSample,
        endSample: seg.lastSpeechEndSample,
        audio: this.collect(audioStart, audioEnd),
        audioStartSample: audioStart,
        endReason: reason,
        continued: seg.continued,
      });
    }
    this.trimHistory();
  }

  /**
   * Cuts the open segment at the quietest point of its last `cutSearchMs` (or, for an early cut,
   * of what has arrived since `windowStart`).
   */
  private cut(events: SegmenterEvent[], windowStart = -Infinity, windowEnd = Infinity, reason: SegmentEndReason = 'max_length'): void {
    const seg = this.open!;
    const end = this.receivedEndSample;
    const searchFrom = Math.max(seg.startSample, reason === 'max_length' ? end - this.o.cutSearchSamples : -Infinity, windowStart);
    let q: FrameRecord | null = null;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.startSample + Math.floor(f.samples.length / 2) > windowEnd) continue;
      if (f.startSample < searchFrom) break;
      if (f.startSample + Math.floor(f.samples.length / 2) <= seg.startSample) continue;
      if (!q || f.rmsDbfs < q.rmsDbfs || (f.rmsDbfs === q.rmsDbfs && f.prob < q.prob)) q = f;
    }
    if (!q) {
      // Only reachable with a search window shorter than one frame: cut at the current end.
      q = this.frames[this.frames.length - 1]!;
    }
    const cutSample = q.startSample + Math.floor(q.samples.length / 2);

    // First part: speech bounds up to the cut; audio ends exactly at the cut.
    let firstEnd = cutSample;
    if (!q.speech) {
      firstEnd = seg.startSample;
      for (const f of this.frames) if (f.speech && f.endSample <= q.startSample) firstEnd = f.endSample;
    }
    if (seg.confirmed && firstEnd > seg.startSample) {
      const audioStart = this.audioStartFor(seg);
      events.push({
        kind: 'segment',
        startSample: seg.startSample,
        endSample: firstEnd,
        audio: this.collect(audioStart, cutSample),
        audioStartSample: audioStart,
        endReason: reason,
        continued: seg.continued,
      });
    }

    // The rest continues from the cut point.
    this.floorSample = cutSample;
    this.frames = this.frames.filter((f) => f.endSample > cutSample);
    let restStart = -1;
    let restLastEnd = -1;
    let restSpeech = 0;
    for (const f of this.frames) {
      if (!f.speech) continue;
      const from = Math.max(f.startSample, cutSample);
      if (restStart < 0) restStart = from;
      restLastEnd = f.endSample;
      restSpeech += f.endSample - from;
    }
    if (restStart < 0 || !seg.confirmed) {
      this.open = null;
      this.trimHistory();
      return;
    }
    this.open = {
      startSample: restStart,
      lastSpeechEndSample: restLastEnd,
      speechSamples: restSpeech,
      confirmed: true,
      continued: true,
      audioStartSample: cutSample,
      referenceDbfs: seg.referenceDbfs,
    };
    events.push({ kind: 'speech_start', startSample: restStart });
  }

  /** Length of the run of non-speech frames ending with the newest one, counting only frames from `fromSample` on. */
  private trailingPauseSamples(fromSample: number): number {
    let run = 0;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.speech || f.startSample < fromSample) break;
      run += f.samples.length;
    }
    return run;
  }

  /**
   * Backward hysteresis for a segment opening at `rec`: marks the contiguous frames before it
   * (within `onsetLookBackMs`, after the last cut) that passed the gates and reach
   * `negativeThreshold` as speech; then, with `onsetEnergyMs` and outside a known noisy room,
   * moves over the energy onset before those (not marked speech). Returns the segment's start.
   */
  private lookBack(rec: FrameRecord): number {
    let start = rec.startSample;
    const limit = Math.max(this.floorSample, rec.startSample - this.o.onsetLookBackSamples);
    let i = this.frames.length - 2;
    for (; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.startSample < limit || !f.gatePass || f.far || f.prob < this.o.negativeThreshold) break;
      f.speech = true;
      start = f.startSample;
    }
    if (this.o.onsetEnergySamples <= 0 || this.room.noisyRoom()) return start;
    // Energy onset: the loud-enough frames just before, which move the start but are not speech.
    // The floor is the room's (the conversation rule's while it has one, else taken now).
    const floor = this.room.onsetFloorDbfs();
    const energyLimit = Math.max(this.floorSample, start - this.o.onsetEnergySamples);
    for (; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.startSample < energyLimit || f.far || f.rmsDbfs < floor + this.o.onsetAboveFloorDb) break;
      start = f.startSample;
    }
    return start;
  }

  /** Keeps only the frames a future segment's look-back and pre-roll could need. */
  private trimHistory(): void {
    const keepFrom = Math.max(this.receivedEndSample - this.o.preRollSamples - this.o.onsetLookBackSamples - this.o.onsetEnergySamples, this.floorSample);
    let drop = 0;
    while (drop < this.frames.length && this.frames[drop]!.endSample <= keepFrom) drop++;
    if (drop > 0) this.frames = this.frames.slice(drop);
  }

  /** The received audio in [from, to), from the kept frames (zeros where none is kept). */
  private collect(from: number, to: number): Float32Array {
    const out = new Float32Array(Math.max(0, to - from));
    for (const f of this.frames) {
      const a = Math.max(from, f.startSample);
      const b = Math.min(to, f.endSample);
      if (b <= a) continue;
      out.set(f.samples.subarray(a - f.startSample, b - f.startSample), a - from);
    }
    return out;
  }
}

/** No room tracker: the energy onset never moves a start (no frame is over an infinite floor). */
const NO_ROOM: RoomView = { onsetFloorDbfs: () => Infinity, noisyRoom: () => false };
