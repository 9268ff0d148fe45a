import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_RATE } from '../audio/constants.js';
import { floatToPcm16 } from '../audio/wav.js';
import type { SegmentEvent } from '../front/segmenter.js';
import { loadConversation } from '../testing/corpus.js';
import { concat, silence, tone, whiteNoise } from '../testing/signals.js';
import { SileroVad } from './silero.js';
import { SpeechFront } from '../front/front.js';
import { ORIGINAL_FRONT } from '../testing/front-original.js';

const CONVERSATION = '1688-1998-easy';

async function segmentsOf(vad: SileroVad, audio: Float32Array): Promise<SegmentEvent[]> {
  const front = new SpeechFront(vad.createStream(), ORIGINAL_FRONT);
  const pcm = floatToPcm16(audio);
  const out: SegmentEvent[] = [];
  const take = (events: Awaited<ReturnType<SpeechFront['push']>>) => {
    for (const e of events) if (e.kind === 'segment') out.push(e);
  };
  for (let at = 0; at < pcm.length; at += 3200) take(await front.push(pcm.subarray(at, at + 3200)));
  take(await front.flush());
  return out;
}

describe('SileroVad (real model)', () => {
  const vad = new SileroVad();
  beforeAll(() => vad.load());
  afterAll(() => vad.close());

  it('is Silero v4 and loads once', async () => {
    expect(vad.name).toBe('silero-v4');
    await vad.load();
    const other = new SileroVad();
    await other.load();
    await other.close();
    await other.close();
    // The shared session survives another instance's close.
    expect(await vad.createStream().process(new Float32Array(512))).toBeLessThan(0.2);
  });

  it('rejects frames of the wrong length', async () => {
    await expect(vad.createStream().process(new Float32Array(100))).rejects.toThrow(/512/);
  });

  it('keeps per-stream state: interleaved streams equal separate runs', async () => {
    const audio = loadConversation(CONVERSATION).audio;
    const frames = (from: number) => Array.from({ length: 40 }, (_, i) => audio.slice(from + i * 512, from + (i + 1) * 512));
    const a = frames(SAMPLE_RATE * 1);
    const b = frames(SAMPLE_RATE * 5);
    const alone = async (fs: Float32Array[]) => {
      const s = vad.createStream();
      const out: number[] = [];
      for (const f of fs) out.push(await s.process(f));
      return out;
    };
    const [pa, pb] = [await alone(a), await alone(b)];
    const sa = vad.createStream();
    const sb = vad.createStream();
    const ia: number[] = [];
    const ib: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const [x, y] = await Promise.all([sa.process(a[i]!), sb.process(b[i]!)]);
      ia.push(x);
      ib.push(y);
    }
    expect(ia).toEqual(pa);
    expect(ib).toEqual(pb);
    expect(Math.max(...pa)).toBeGreaterThan(0.9); // real speech is recognised
    sa.reset();
    expect(await sa.process(a[0]!)).toBe(pa[0]);
  });

  it('segments the first 20 s of a real conversation like its reference', async () => {
    const conv = loadConversation(CONVERSATION);
    const endS = 20;
    const segments = await segmentsOf(vad, conv.audio.subarray(0, endS * SAMPLE_RATE));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    // The 1 s lead-in is silent: no segment (nor its audio) starts in it.
    expect(segments[0]!.startSample).toBeGreaterThanOrEqual(SAMPLE_RATE * 1);
    expect(segments[0]!.audioStartSample).toBeGreaterThanOrEqual(Math.round(SAMPLE_RATE * 0.8));
    // Most reference speech lies inside the segments' speech bounds, more in their audio.
    // Measured: 85.9 % and 90.9 %. Silero scores the quiet first 0.3–0.6 s of some
    // LibriSpeech utterances (≈ −37 dBFS) and a trailing breath below 0.05, so those starts
    // are late and one end early; over the whole conversation the bounds cover 96.8 %.
    let refSamples = 0;
    let inBounds = 0;
    let inAudio = 0;
    for (const t of conv.reference) {
      const from = Math.round(t.startS * SAMPLE_RATE);
      const to = Math.min(endS * SAMPLE_RATE, Math.round(t.endS * SAMPLE_RATE));
      for (let i = from; i < to; i++) {
        refSamples++;
        if (segments.some((s) => i >= s.startSample && i < s.endSample)) inBounds++;
        if (segments.some((s) => i >= s.audioStartSample && i < s.audioStartSample + s.audio.length)) inAudio++;
      }
    }
    expect(refSamples).toBeGreaterThan(SAMPLE_RATE * 10);
    expect(inBounds / refSamples).toBeGreaterThan(0.8);
    expect(inAudio / refSamples).toBeGreaterThan(0.85);
    // And little else: segment time outside reference speech (pauses < 0.5 s are bridged).
    let outside = 0;
    for (const s of segments) {
      for (let i = s.startSample; i < s.endSample; i++) {
        const tS = i / SAMPLE_RATE;
        if (!conv.reference.some((t) => tS >= t.startS && tS < t.endS)) outside++;
      }
      expect(s.endSample - s.startSample).toBeLessThanOrEqual(7 * SAMPLE_RATE);
    }
    expect(outside / SAMPLE_RATE).toBeLessThan(1);
  });

  it('covers nearly all reference speech of the whole conversation', async () => {
    const conv = loadConversation(CONVERSATION);
    const segments = await segmentsOf(vad, conv.audio);
    const inSegment = new Uint8Array(conv.audio.length);
    for (const s of segments) inSegment.fill(1, s.startSample, s.endSample);
    let ref = 0;
    let covered = 0;
    for (const t of conv.reference) {
      for (let i = Math.round(t.startS * SAMPLE_RATE); i < Math.round(t.endS * SAMPLE_RATE); i++) {
        ref++;
        covered += inSegment[i]!;
      }
    }
    expect(covered / ref).toBeGreaterThan(0.93); // measured 0.968
    for (const s of segments) {
      expect(s.startSample).toBeGreaterThanOrEqual(0);
      expect(s.audioStartSample + s.audio.length).toBeLessThanOrEqual(conv.audio.length);
    }
  });

  it('finds no segments in silence, white noise or the noise floor', async () => {
    const audio = concat(
      silence(3),
      whiteNoise({ durationS: 5, dbfs: -30, seed: 5 }),
      whiteNoise({ durationS: 5, dbfs: -62, seed: 6 }),
      whiteNoise({ durationS: 3, dbfs: -10, seed: 7 }),
    );
    expect(await segmentsOf(vad, audio)).toHaveLength(0);
  });

  it('gives pure tones a low probability (the gate lets them through)', async () => {
    const s = vad.createStream();
    const t = tone({ durationS: 1.024, frequencyHz: 1000, dbfs: -20 });
    let max = 0;
    for (let at = 0; at < t.length; at += 512) max = Math.max(max, await s.process(t.slice(at, at + 512)));
    expect(max).toBeLessThan(0.5);
  });
});
