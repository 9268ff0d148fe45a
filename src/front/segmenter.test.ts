import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../audio/constants.js';
import { rmsDbfs } from './gates.js';
import { probabilityFromRms } from '../testing/fake-vad.js';
import { concat, placeAt, scaleRange, secondsToSamples, silence, tone } from '../testing/signals.js';
import type { SpeechFrontOptions } from './front.js';
import { RoomLevels } from './room-levels.js';
import { Segmenter, type SegmentEvent, type SegmenterEvent } from './segmenter.js';
import { ORIGINAL_FRONT } from '../testing/front-original.js';

/**
 * The segmenter as the front runs it: each frame's levels from a room tracker with the same
 * options first (the tests hand in the gates' verdict themselves), then the timing.
 */
class JudgedSegmenter {
  private readonly room: RoomLevels;
  private readonly seg: Segmenter;
  constructor(options: SpeechFrontOptions = {}) {
    this.room = new RoomLevels(options);
    this.seg = new Segmenter(options, this.room);
  }
  push(samples: Float32Array, startSample: number, speechProbability: number, gatePass: boolean): SegmenterEvent[] {
    return this.seg.push(this.room.levels(samples, startSample, speechProbability, gatePass));
  }
  flush(): SegmenterEvent[] {
    return this.seg.flush();
  }
  reset(): void {
    this.room.reset();
    this.seg.reset();
  }
  cutNear(centreSample: number, radiusSamples: number): SegmenterEvent[] {
    return this.seg.cutNear(centreSample, radiusSamples);
  }
  openAudio(fromSample: number): Float32Array {
    return this.seg.openAudio(fromSample);
  }
  get speechActive(): boolean {
    return this.seg.speechActive;
  }
  get openStartSample(): number | null {
    return this.seg.openStartSample;
  }
  get receivedSamples(): number {
    return this.seg.receivedSamples;
  }
}


/**
 * Frames `x`, takes the fake (RMS) probability of each frame and a level gate, and runs the segmenter to the
 * end. `emittedAtSample[i]` is the stream position at which `segments[i]` came out.
 */
function run(
  x: Float32Array,
  options: SpeechFrontOptions = {},
): { events: SegmenterEvent[]; segments: SegmentEvent[]; emittedAtSample: number[] } {
  const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...options });
  const events: SegmenterEvent[] = [];
  const emittedAtSample: number[] = [];
  const take = (out: SegmenterEvent[], at: number) => {
    for (const e of out) if (e.kind === 'segment') emittedAtSample.push(at);
    events.push(...out);
  };
  for (let at = 0; at < x.length; at += FRAME_SAMPLES) {
    const real = x.subarray(at, at + FRAME_SAMPLES);
    const padded = new Float32Array(FRAME_SAMPLES);
    padded.set(real);
    // The segmenter alone: a plain level gate stands in for the gates (tested in gates.test.ts).
    take(s.push(real, at, probabilityFromRms(padded), rmsDbfs(padded) >= -50), at + real.length);
  }
  take(s.flush(), x.length);
  return { events, segments: events.filter((e): e is SegmentEvent => e.kind === 'segment'), emittedAtSample };
}

/** Runs stretches of [seconds, dBFS, VAD probability] (a tone at that level) through a segmenter. */
function stretches(parts: Array<[number, number, number]>, options: SpeechFrontOptions): SegmentEvent[] {
  const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...options });
  const out: SegmenterEvent[] = [];
  let at = 0;
  for (const [durationS, dbfs, prob] of parts) {
    const x = tone({ durationS, dbfs, frequencyHz: 300 });
    for (let i = 0; i + FRAME_SAMPLES <= x.length; i += FRAME_SAMPLES, at += FRAME_SAMPLES) out.push(...s.push(x.subarray(i, i + FRAME_SAMPLES), at, prob, true));
  }
  out.push(...s.flush());
  return out.filter((e): e is SegmentEvent => e.kind === 'segment');
}

const frameFloor = (sample: number) => Math.floor(sample / FRAME_SAMPLES) * FRAME_SAMPLES;
const frameCeil = (sample: number) => Math.ceil(sample / FRAME_SAMPLES) * FRAME_SAMPLES;
const S = secondsToSamples;

describe('Segmenter timing on tone bursts', () => {
  it('bounds a 1 s burst by the frames that contain its onset and offset', () => {
    const { events, segments } = run(concat(silence(0.5), tone({ durationS: 1 }), silence(1.5)));
    expect(segments).toHaveLength(1);
    const seg = segments[0]!;
    expect(seg.startSample).toBe(frameFloor(S(0.5))); // 7680: 0.48 s, within one frame of 0.5 s
    expect(seg.endSample).toBe(frameCeil(S(1.5))); // 24064: 1.504 s
    expect(seg.endReason).toBe('silence');
    expect(seg.continued).toBe(false);
    // Audio: 200 ms pre-roll and 100 ms tail around the speech bounds.
    expect(seg.audioStartSample).toBe(seg.startSample - S(0.2));
    expect(seg.audio.length).toBe(seg.endSample + S(0.1) - seg.audioStartSample);
    expect(events[0]).toEqual({ kind: 'speech_start', startSample: seg.startSample });
  });

  it('keeps a 0.3 s "Yes." like any other segment', () => {
    const { segments } = run(concat(silence(0.5), tone({ durationS: 0.3 }), silence(1)));
    expect(segments).toHaveLength(1);
    expect(segments[0]!.startSample).toBe(frameFloor(S(0.5)));
    expect(segments[0]!.endSample).toBe(frameCeil(S(0.8)));
  });

  it('drops blips shorter than minSpeechMs', () => {
    const blip = run(concat(silence(0.5), tone({ durationS: 0.04 }), silence(1)));
    expect(blip.segments).toHaveLength(0);
    expect(blip.events).toHaveLength(0);
    const longer = run(concat(silence(0.5), tone({ durationS: 0.04 }), silence(1)), { minSpeechMs: 32 });
    expect(longer.segments).toHaveLength(1);
  });

  it('merges bursts 0.4 s apart and splits bursts 0.6 s apart (silenceMs 500)', () => {
    const burst = tone({ durationS: 0.5 });
    const merged = run(concat(silence(0.5), burst, silence(0.4), burst, silence(1)));
    expect(merged.segments).toHaveLength(1);
    expect(merged.segments[0]!.startSample).toBe(frameFloor(S(0.5)));
    expect(merged.segments[0]!.endSample).toBe(frameCeil(S(1.9)));
    const split = run(concat(silence(0.5), burst, silence(0.6), burst, silence(1)));
    expect(split.segments.map((s) => [s.startSample, s.endSample])).toEqual([
      [frameFloor(S(0.5)), frameCeil(S(1.0))],
      [frameFloor(S(1.6)), frameCeil(S(2.1))],
    ]);
  });

  it('closes a segment exactly silenceMs after its last speech frame', () => {
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, silenceMs: 320 });
    const loud = tone({ durationS: 0.032 });
    const quiet = new Float32Array(FRAME_SAMPLES);
    const closedAt: number[] = [];
    for (let i = 0; i < 30; i++) {
      const speech = i >= 5 && i < 10;
      const ev = s.push(speech ? loud : quiet, i * FRAME_SAMPLES, speech ? 0.9 : 0, true);
      if (ev.some((e) => e.kind === 'segment')) closedAt.push(i);
    }
    // Last speech frame 9 ends at 10·512; 320 ms = 5120 samples = 10 frames later → frame 19.
    expect(closedAt).toEqual([19]);
  });

  it('clamps the pre-roll at the stream start and cuts the audio tail at what was received', () => {
    const { segments } = run(concat(silence(0.1), tone({ durationS: 1 }), silence(0.05)));
    expect(segments).toHaveLength(1);
    expect(segments[0]!.audioStartSample).toBe(0);
    expect(segments[0]!.endReason).toBe('flush');
    expect(segments[0]!.audioStartSample + segments[0]!.audio.length).toBe(S(1.15));
  });

  it('flush closes an open segment at the last real sample', () => {
    const x = concat(silence(0.5), tone({ durationS: 1 }), tone({ durationS: 100 / 16000 }));
    const { segments } = run(x);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.endSample).toBe(x.length);
    expect(segments[0]!.audioStartSample + segments[0]!.audio.length).toBe(x.length);
    expect(segments[0]!.endReason).toBe('flush');
  });
});

describe('Segmenter hysteresis', () => {
  it('opens at threshold and keeps going, forwards and backwards, down to negativeThreshold (0.1)', () => {
    const probs = [0.05, 0.12, 0.3, 0.6, 0.3, 0.2, 0.11, 0.05, ...Array<number>(20).fill(0)];
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, minSpeechMs: 0 });
    const frame = tone({ durationS: 0.032 });
    const events = probs.flatMap((p, i) => s.push(frame, i * FRAME_SAMPLES, p, true));
    const segments = events.filter((e) => e.kind === 'segment');
    expect(segments).toHaveLength(1);
    // Frames 1–2 (0.12, 0.3) join the segment opened by frame 3 (0.6): a soft onset.
    expect(segments[0]!.startSample).toBe(1 * FRAME_SAMPLES);
    expect(segments[0]!.endSample).toBe(7 * FRAME_SAMPLES);
  });

  it('looks back at most onsetLookBackMs, and never over a frame the gates vetoed', () => {
    const frame = tone({ durationS: 0.032 });
    const probs = [...Array<number>(20).fill(0.3), 0.9, 0.9, 0.9, ...Array<number>(20).fill(0)];
    const start = (options: SpeechFrontOptions, pass: (i: number) => boolean) => {
      const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, minSpeechMs: 0, ...options });
      const events = probs.flatMap((p, i) => s.push(frame, i * FRAME_SAMPLES, p, pass(i)));
      return (events.find((e) => e.kind === 'segment') as SegmentEvent).startSample;
    };
    // 300 ms = 9.4 frames: frames 11–19 (starting ≥ 20·512 − 4800 samples) join.
    expect(start({}, () => true)).toBe(11 * FRAME_SAMPLES);
    expect(start({ onsetLookBackMs: 0 }, () => true)).toBe(20 * FRAME_SAMPLES);
    expect(start({}, (i) => i !== 17)).toBe(18 * FRAME_SAMPLES);
  });

  it('never counts a frame that failed the gates as speech', () => {
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...ORIGINAL_FRONT });
    const frame = tone({ durationS: 0.032 });
    const events = Array.from({ length: 40 }, (_, i) => s.push(frame, i * FRAME_SAMPLES, 0.99, false)).flat();
    expect(events).toHaveLength(0);
    expect(s.flush()).toHaveLength(0);
  });

  it('reports the open segment for the session', () => {
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...ORIGINAL_FRONT });
    const frame = tone({ durationS: 0.032 });
    s.push(frame, 0, 0.9, true);
    expect(s.speechActive).toBe(false); // 32 ms < minSpeechMs
    s.push(frame, 512, 0.9, true);
    s.push(frame, 1024, 0.9, true);
    expect(s.speechActive).toBe(true);
    expect(s.openStartSample).toBe(0);
    s.flush();
    expect(s.speechActive).toBe(false);
    expect(s.openStartSample).toBeNull();
  });
});

/** The stream's samples over [from, to), as the segments' audio would reproduce them. */
function expectContiguousAudio(x: Float32Array, segments: SegmentEvent[]): void {
  for (let i = 0; i + 1 < segments.length; i++) {
    const a = segments[i]!;
    const b = segments[i + 1]!;
    expect(a.endReason).toBe('max_length');
    expect(b.continued).toBe(true);
    // The first part's audio ends exactly where the rest's begins: nothing lost, nothing doubled.
    expect(a.audioStartSample + a.audio.length).toBe(b.audioStartSample);
    expect(a.endSample).toBeLessThanOrEqual(b.audioStartSample);
    expect(b.startSample).toBeGreaterThanOrEqual(b.audioStartSample);
  }
  for (const s of segments) {
    expect(Array.from(s.audio)).toEqual(Array.from(x.subarray(s.audioStartSample, s.audioStartSample + s.audio.length)));
  }
}

describe('Segmenter maximum length', () => {
  it('cuts 10 s of continuous tone at ≤ 7 s with no sample lost across the cut', () => {
    const x = concat(silence(0.5), tone({ durationS: 10 }), silence(1));
    const { events, segments } = run(x);
    expect(segments).toHaveLength(2);
    const [a, b] = segments as [SegmentEvent, SegmentEvent];
    expect(a.startSample).toBe(frameFloor(S(0.5)));
    expect(a.endSample - a.startSample).toBeLessThanOrEqual(S(7));
    expect(a.endSample - a.startSample).toBeGreaterThanOrEqual(S(6));
    // Speech at the cut: the bounds meet exactly.
    expect(b.startSample).toBe(a.endSample);
    expect(b.endSample).toBe(frameCeil(S(10.5)));
    expect(b.endReason).toBe('silence');
    expectContiguousAudio(x, segments);
    expect(events.filter((e) => e.kind === 'speech_start').map((e) => e.startSample)).toEqual([a.startSample, b.startSample]);
  });

  it('cuts in the quietest part of the last half second, not mid-word', () => {
    // 10 s of "speech" with two 100 ms dips 25 dB down; only the one at 7.1 s is within the
    // last half second before 7 s of segment length (6.98–7.48 s).
    let x = concat(silence(0.5), tone({ durationS: 10 }), silence(1));
    x = scaleRange(x, 2.5, 2.6, -25);
    x = scaleRange(x, 7.1, 7.2, -25);
    const { segments } = run(x);
    expect(segments).toHaveLength(2);
    const [a, b] = segments as [SegmentEvent, SegmentEvent];
    const cut = b.audioStartSample;
    expect(cut).toBeGreaterThanOrEqual(S(7.1));
    expect(cut).toBeLessThanOrEqual(S(7.2));
    // The dip is not speech, so the bounds stop at the speech on either side of it.
    expect(a.endSample).toBe(frameCeil(S(7.1)));
    expect(b.startSample).toBe(frameFloor(S(7.2)));
    // The cut fell in a pause (the early cut), so the rest starts as a new segment, but its
    // audio still begins exactly where the first part's ends.
    expect(a.endReason).toBe('max_length');
    expect(a.audioStartSample + a.audio.length).toBe(b.audioStartSample);
  });

  it('keeps every segment of a long monologue ≤ maxSegmentMs and covers it without gaps', () => {
    const x = concat(silence(0.3), tone({ durationS: 40 }), silence(1));
    const { segments } = run(x, { maxSegmentMs: 5000 });
    expect(segments.length).toBeGreaterThanOrEqual(8);
    for (const s of segments) {
      expect(s.endSample - s.startSample).toBeLessThanOrEqual(S(5));
      expect(s.audio.length).toBeLessThanOrEqual(S(5.3));
    }
    for (let i = 0; i + 1 < segments.length; i++) expect(segments[i + 1]!.startSample).toBe(segments[i]!.endSample);
    expect(segments[0]!.startSample).toBe(frameFloor(S(0.3)));
    expect(segments.at(-1)!.endSample).toBe(frameCeil(S(40.3)));
    expectContiguousAudio(x, segments);
  });

  it('handles a burst placed anywhere in a longer recording', () => {
    const x = placeAt(silence(3), tone({ durationS: 0.5 }), 1.234);
    const { segments } = run(x);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.startSample).toBe(frameFloor(S(1.234)));
    expect(segments[0]!.endSample).toBe(frameCeil(S(1.734)));
  });
});

describe('Segmenter options', () => {
  it('rejects nonsense', () => {
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, threshold: 0 })).toThrow();
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, silenceMs: -1 })).toThrow();
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, threshold: 0.5, negativeThreshold: 0.7 })).toThrow();
  });

  it('reset starts over', () => {
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...ORIGINAL_FRONT });
    const frame = tone({ durationS: 0.032 });
    for (let i = 0; i < 5; i++) s.push(frame, i * 512, 0.9, true);
    s.reset();
    expect(s.speechActive).toBe(false);
    expect(s.flush()).toHaveLength(0);
  });
});

describe('Segmenter cut at a speaker change', () => {
  it('cuts the open segment at the quietest frame near the given point and continues the rest', () => {
    let x = concat(silence(0.5), tone({ durationS: 4 }));
    x = scaleRange(x, 2.6, 2.7, -25);
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...ORIGINAL_FRONT });
    const events: SegmenterEvent[] = [];
    for (let at = 0; at < x.length; at += FRAME_SAMPLES) {
      const f = x.subarray(at, at + FRAME_SAMPLES);
      events.push(...s.push(f, at, probabilityFromRms(f), rmsDbfs(f) >= -50));
    }
    expect(s.openAudio(S(3)).length).toBe(x.length - S(3));
    const cut = s.cutNear(S(2.5), S(0.3));
    const [seg] = cut.filter((e): e is SegmentEvent => e.kind === 'segment');
    expect(seg!.endReason).toBe('speaker_change');
    expect(seg!.endSample).toBe(frameCeil(S(2.6)));
    expect(cut[cut.length - 1]).toEqual({ kind: 'speech_start', startSample: frameFloor(S(2.7)) });
    const [rest] = s.flush().filter((e): e is SegmentEvent => e.kind === 'segment');
    expect(rest!.continued).toBe(true);
    expect(rest!.audioStartSample).toBe(seg!.audioStartSample + seg!.audio.length);
    expect(new JudgedSegmenter({ ...ORIGINAL_FRONT, ...ORIGINAL_FRONT }).cutNear(S(1), S(1))).toEqual([]);
  });
});

describe('Segmenter early cut', () => {
  it('cuts at a short pause in the last second before the limit as soon as the pause is clear', () => {
    // 6.4 s of speech, a 0.2 s pause (too short to end the segment), then 2 s more.
    const x = concat(silence(0.5), tone({ durationS: 6.4 }), silence(0.2), tone({ durationS: 2 }), silence(1));
    const { segments, emittedAtSample: [emittedAtSample] } = run(x);
    expect(segments).toHaveLength(2);
    const [first, rest] = segments as [SegmentEvent, SegmentEvent];
    expect(first.endReason).toBe('max_length');
    // Speech bounds end where the tone ends; the segment is sent ~96 ms into the pause,
    // long before the 7 s limit would have forced the cut.
    expect(first.endSample).toBe(frameCeil(S(6.9)));
    expect(emittedAtSample! - first.endSample).toBeLessThanOrEqual(4 * FRAME_SAMPLES);
    expect(emittedAtSample!).toBeLessThan(first.startSample + S(7));
    // Nothing lost at the cut: the rest's audio starts exactly where the first part's ends.
    expect(rest.audioStartSample).toBe(first.audioStartSample + first.audio.length);
    expect(rest.startSample).toBe(frameFloor(S(7.1)));
  });
});

describe('Segmenter level rule (quietBelowSegmentDb)', () => {
  /** Tone stretches at the given levels; the model calls every frame speech (0.95), as Silero does on babble, except digital silence. */
  function drive(parts: Array<[dbfs: number | null, seconds: number]>, options: SpeechFrontOptions): SegmentEvent[] {
    const x = concat(...parts.map(([dbfs, s]) => (dbfs === null ? silence(s) : tone({ durationS: s, dbfs }))));
    const s = new JudgedSegmenter({ ...ORIGINAL_FRONT, ...options });
    const out: SegmenterEvent[] = [];
    for (let at = 0; at < x.length; at += FRAME_SAMPLES) {
      const frame = x.subarray(at, at + FRAME_SAMPLES);
      const sound = rmsDbfs(frame) > -90;
      out.push(...s.push(frame, at, sound ? 0.95 : 0, sound));
    }
    out.push(...s.flush());
    return out.filter((e): e is SegmentEvent => e.kind === 'segment');
  }
  const rule = { quietBelowSegmentDb: 25 };

  it('ends a turn where its level falls far below it, though the model still says speech (a tail, a far voice)', () => {
    // 35 dB below: under the reference (decaying 10 dB/s) minus 25 dB for the whole 500 ms.
    const parts: Array<[number | null, number]> = [[null, 0.5], [-20, 1.5], [-55, 2], [null, 1]];
    const off = drive(parts, {});
    expect(off).toHaveLength(1);
    expect(off[0]!.endSample).toBeGreaterThanOrEqual(S(4)); // without the rule the babble is speech
    const on = drive(parts, rule);
    expect(on[0]!.endSample).toBeLessThanOrEqual(S(2) + S(0.16) + FRAME_SAMPLES); // the turn, plus at most the smoothing window
    expect(on[0]!.endSample).toBeGreaterThanOrEqual(frameFloor(S(2)));
    expect(on[0]!.endReason).toBe('silence');
  });

  it('keeps a quieter voice that answers at once (20 dB below the first)', () => {
    const on = drive([[null, 0.5], [-20, 1.5], [-40, 2], [null, 1]], rule);
    expect(on).toHaveLength(1);
    expect(on[0]!.endSample).toBe(frameCeil(S(4)));
  });

  it('lets the reference decay, so a voice 28 dB quieter that goes on speaking is kept', () => {
    const on = drive([[null, 0.5], [-20, 1.5], [-48, 2], [null, 1]], rule);
    expect(on[0]!.startSample).toBe(frameFloor(S(0.5)));
    expect(on[on.length - 1]!.endSample).toBe(frameCeil(S(4)));
    const noRelease = drive([[null, 0.5], [-20, 1.5], [-48, 2], [null, 1]], { ...rule, quietReleaseDbPerS: 0 });
    expect(noRelease[0]!.endSample).toBeLessThan(S(2.3));
  });

  it('rejects nonsense settings', () => {
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, quietBelowSegmentDb: -1 })).toThrow(/quietBelowSegmentDb/);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, quietReleaseDbPerS: Number.NaN })).toThrow(/quietReleaseDbPerS/);
  });
});

describe('Segmenter conversation level rule (quietBelowConversationDb + conversationFloorMarginDb)', () => {
  const rule: SpeechFrontOptions = { quietBelowConversationDb: 12, conversationFloorMarginDb: 7, conversationFloorPercentile: 2 };
  // A noisy room: a −40 dBFS floor, two near voices at −18 dBFS, and between their turns distant
  // babble at −36 dBFS that the model scores as confidently as the voices (as Silero does).
  const room: Array<[number, number, number]> = [[3, -40, 0.05]];
  for (let k = 0; k < 4; k++) room.push([2, -18, 0.95], [1.5, -36, 0.9]);

  it('ends each turn in the babble after it and opens none in the babble', () => {
    const segs = stretches(room, rule);
    expect(segs).toHaveLength(4);
    for (const [k, seg] of segs.entries()) {
      const speechStart = 3 + 3.5 * k;
      // Frames of the voice and the smoothing window's lag into the babble (320 ms), no more.
      expect(seg.startSample / 16_000).toBeGreaterThan(speechStart - 0.35);
      expect(seg.endSample / 16_000).toBeLessThan(speechStart + 2 + 0.35);
      expect(seg.endReason).toBe('silence');
    }
  });

  it('is off by default: the babble joins the turns into one long stretch', () => {
    const segs = stretches(room, {});
    const speech = segs.reduce((a, s) => a + s.endSample - s.startSample, 0) / 16_000;
    expect(speech).toBeGreaterThan(12.5);
  });

  it('keeps soft speech in a quiet room: far below the loud voice, far above the floor', () => {
    const quiet: Array<[number, number, number]> = [[3, -80, 0.01]];
    for (let k = 0; k < 3; k++) quiet.push([2, -18, 0.95], [1.5, -40, 0.9], [0.7, -80, 0.01]);
    const segs = stretches(quiet, rule);
    expect(segs).toHaveLength(3);
    for (const seg of segs) expect((seg.endSample - seg.startSample) / 16_000).toBeGreaterThan(3.4);
  });

  it('in a noisy room, also ends turns in babble that rises well over the floor, once 10 s of speech were heard', () => {
    // Floor −40 dBFS, voices −18: 22 dB of speech over the floor, a noisy room. The babble at
    // −31 dBFS is 13 dB under the voices but 9 dB over the floor, outside the plain 7 dB margin.
    const noisy: Array<[number, number, number]> = [[3, -40, 0.05]];
    for (let k = 0; k < 6; k++) noisy.push([2, -18, 0.95], [1.5, -31, 0.9]);
    const speechS = (segs: SegmentEvent[]) => segs.reduce((a, x) => a + x.endSample - x.startSample, 0) / 16_000;
    // Without the widening the babble joins the turns (cut only at the 7 s limit).
    expect(speechS(stretches(noisy, { ...rule, noisyRoomSnrDb: 0 }))).toBeGreaterThan(19);
    const segs = stretches(noisy, { ...rule, noisyRoomSnrDb: 32 });
    // By the fourth turn's end 10 s of confident frames were heard (voices and babble alike):
    // from there on every turn ends in the babble after it, and the next opens at its voice.
    const ends = segs.map((x) => x.endSample / 16_000);
    for (let k = 3; k < 6; k++) expect(ends.some((e) => e > 3 + 3.5 * k + 1.9 && e < 3 + 3.5 * k + 2 + 0.35)).toBe(true);
    for (const seg of segs.slice(-2)) {
      const k = Math.round((seg.startSample / 16_000 - 3) / 3.5);
      expect(seg.startSample / 16_000).toBeGreaterThan(3 + 3.5 * k - 0.35);
      expect(seg.endSample / 16_000).toBeLessThan(3 + 3.5 * k + 2 + 0.35);
    }
    // A quiet room (62 dB of speech over the floor) is left as it was.
    const quiet: Array<[number, number, number]> = [[3, -80, 0.01]];
    for (let k = 0; k < 6; k++) quiet.push([2, -18, 0.95], [1.5, -40, 0.9], [0.7, -80, 0.01]);
    for (const seg of stretches(quiet, { ...rule, noisyRoomSnrDb: 32 })) expect((seg.endSample - seg.startSample) / 16_000).toBeGreaterThan(3.4);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, noisyRoomSnrDb: -3 })).toThrow(/noisyRoomSnrDb/);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, noisyRoomMarginPerDb: Number.POSITIVE_INFINITY })).toThrow(/noisyRoomMarginPerDb/);
  });

  it('waits for enough speech before judging, and refuses nonsense settings', () => {
    // Under 2 s of confident frames (voice and babble alike) heard so far: nothing is judged far.
    const first = stretches([[1, -40, 0.05], [1, -18, 0.95], [0.9, -36, 0.9], [0.6, -40, 0.05]], rule);
    expect(first).toHaveLength(1);
    expect(first[0]!.endSample / 16_000).toBeGreaterThan(2.85);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, quietBelowConversationDb: -1 })).toThrow(/quietBelowConversationDb/);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, conversationFloorPercentile: 101 })).toThrow(/conversationFloorPercentile/);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, conversationFloorMarginDb: Number.NaN })).toThrow(/conversationFloorMarginDb/);
  });
});

describe('Segmenter energy onset (onsetEnergyMs + onsetAboveFloorDb)', () => {
  const onset: SpeechFrontOptions = { onsetEnergyMs: 300, onsetAboveFloorDb: 8 };
  // A quiet room (−70 dBFS), then a breath and a soft first syllable at −45 dBFS that the model
  // scores 0.02, then the voice it is sure of. Frames are 32 ms: 2.016 s is frame 63's start.
  const turn = (leadS: number, leadDbfs: number): Array<[number, number, number]> => [[2.016, -70, 0.01], [leadS, leadDbfs, 0.02], [1, -20, 0.95], [1, -70, 0.01]];
  const startS = (segs: SegmentEvent[]) => segs[0]!.startSample / 16_000;

  it('moves the start back to where the level rose over the floor, never as far as the floor itself', () => {
    expect(startS(stretches(turn(0.224, -45), {}))).toBeCloseTo(2.24, 2);
    expect(startS(stretches(turn(0.224, -45), onset))).toBeCloseTo(2.016, 2);
    // 5 dB over the floor is not an onset.
    expect(startS(stretches(turn(0.224, -65), onset))).toBeCloseTo(2.24, 2);
  });

  it('moves it back at most onsetEnergyMs', () => {
    const s = startS(stretches(turn(0.64, -45), onset));
    expect(s).toBeGreaterThanOrEqual(2.656 - 0.3);
    expect(s).toBeLessThan(2.656 - 0.25);
    expect(startS(stretches(turn(0.64, -45), { ...onset, onsetEnergyMs: 0 }))).toBeCloseTo(2.656, 2);
  });

  it('does not count the onset frames as speech', () => {
    // 32 ms of voice after 300 ms of onset: still under minSpeechMs (96 ms), so nothing is kept.
    const blip: Array<[number, number, number]> = [[2.016, -70, 0.01], [0.32, -45, 0.02], [0.032, -20, 0.95], [1, -70, 0.01]];
    expect(stretches(blip, onset)).toHaveLength(0);
  });

  it('is off in a noisy room: there the level before a turn is babble, not its onset', () => {
    // Floor −40 dBFS, voices −18 (22 dB over it: noisy), and 10 dB over the floor before each
    // turn. Stretches are whole frames: turn k's onset starts at 3.008 + 3.776·k s, its voice 0.256 s later.
    const noisy: Array<[number, number, number]> = [[3.008, -40, 0.05]];
    for (let k = 0; k < 4; k++) noisy.push([0.256, -30, 0.02], [2.016, -18, 0.95], [1.504, -40, 0.05]);
    const rule: SpeechFrontOptions = { quietBelowConversationDb: 12, conversationFloorMarginDb: 7, conversationFloorPercentile: 2, noisyRoomSnrDb: 32, ...onset };
    const segs = stretches(noisy, rule);
    expect(segs).toHaveLength(4);
    // The first turn, before the room is known, takes its onset; the later ones start at the voice.
    expect(startS(segs)).toBeCloseTo(3.008, 3);
    for (const [k, seg] of segs.entries()) if (k > 0) expect(seg.startSample / 16_000).toBeCloseTo(3.264 + 3.776 * k, 3);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, onsetAboveFloorDb: -1 })).toThrow(/onsetAboveFloorDb/);
    expect(() => new JudgedSegmenter({ ...ORIGINAL_FRONT, onsetEnergyMs: Number.NaN })).toThrow(/onsetEnergyMs/);
  });
});
