import { describe, expect, it } from 'vitest';
import { floatToPcm16, pcm16ToFloat } from '../audio/wav.js';
import type { SegmentEvent, SegmenterEvent } from './segmenter.js';
import { FakeVad } from '../testing/fake-vad.js';
import { concat, scaleRange, seededRandom, silence, tone, whiteNoise } from '../testing/signals.js';
import { collectSpeech, SpeechFront } from './front.js';
import { ORIGINAL_FRONT } from '../testing/front-original.js';

const segmentsOf = (events: SegmenterEvent[]) => events.filter((e): e is SegmentEvent => e.kind === 'segment');

async function feed(front: SpeechFront, pcm: Uint8Array, chunkBytes: (i: number) => number): Promise<SegmenterEvent[]> {
  const events: SegmenterEvent[] = [];
  for (let at = 0, i = 0; at < pcm.length; i++) {
    const n = chunkBytes(i);
    events.push(...(await front.push(pcm.subarray(at, at + n))));
    at += n;
  }
  events.push(...(await front.flush()));
  return events;
}

/**
 * `x` with a 64 ms dip of 15 dB every 0.4 s: the level valleys between syllables that tell a
 * voice from a steady tone (which the noise-floor gate rejects after a few seconds).
 */
function syllabic(x: Float32Array): Float32Array {
  let y = x;
  for (let t = 0.3; t < x.length / 16000; t += 0.4) y = scaleRange(y, t, t + 0.064, -15);
  return y;
}

const conversation = concat(
  silence(0.7),
  tone({ durationS: 1.2 }),
  silence(0.8),
  tone({ durationS: 0.3, frequencyHz: 300 }),
  silence(0.3),
  syllabic(tone({ durationS: 8.5, frequencyHz: 250 })),
  silence(0.2),
  tone({ durationS: 0.4 }),
);

describe('SpeechFront', () => {
  const pcm = floatToPcm16(conversation);

  it('gives identical events for any chunking of the same stream', async () => {
    const reference = await feed(new SpeechFront(new FakeVad().createStream(), ORIGINAL_FRONT), pcm, () => pcm.length);
    // 1.2 s; then 0.3 s + 8.5 s + 0.4 s (gaps < 0.5 s merge) cut once at ≤ 7 s.
    expect(segmentsOf(reference).map((s) => s.endReason)).toEqual(['silence', 'max_length', 'flush']);
    for (let seed = 1; seed <= 5; seed++) {
      const random = seededRandom(seed);
      const got = await feed(new SpeechFront(new FakeVad().createStream(), ORIGINAL_FRONT), pcm, () => 2 * (1 + Math.floor(random() * 4000)));
      expect(got).toEqual(reference);
    }
  });

  it('processes overlapping pushes strictly in order', async () => {
    const front = new SpeechFront(new FakeVad().createStream(), ORIGINAL_FRONT);
    const pending: Promise<SegmenterEvent[]>[] = [];
    for (let at = 0; at < pcm.length; at += 640) pending.push(front.push(pcm.subarray(at, at + 640)));
    pending.push(front.flush());
    const events = (await Promise.all(pending)).flat();
    const reference = await feed(new SpeechFront(new FakeVad().createStream(), ORIGINAL_FRONT), pcm, () => pcm.length);
    expect(events).toEqual(reference);
  });

  it('runs the model on every frame (but long digital silence), and the gates veto silence and flat noise by name', async () => {
    const vad = new FakeVad();
    const front = new SpeechFront(vad.createStream(), ORIGINAL_FRONT);
    const events = await feed(front, floatToPcm16(concat(silence(2), whiteNoise({ durationS: 2, dbfs: -25 }))), () => 3200);
    expect(events).toHaveLength(0);
    // Every frame but those of digital silence after its first second (30 frames fed, then the
    // model is reset and the other 32 silent frames are scored 0 without it); the noise is fed.
    expect(vad.framesProcessed).toBe(125 - 32);
    expect(front.vetoCounts.silence).toBeGreaterThanOrEqual(62);
    // 62 noise frames; a rare one is less flat than 8 dB², but never enough of them in a row to count.
    expect(front.vetoCounts.flat + front.vetoCounts.noise_floor).toBeGreaterThanOrEqual(56);
    expect(front.vetoCounts.far).toBe(0);
  });

  it('closes the open segment at flush with every received sample', async () => {
    const x = concat(silence(0.5), tone({ durationS: 1.01 }));
    const front = new SpeechFront(new FakeVad().createStream(), ORIGINAL_FRONT);
    expect(await front.push(floatToPcm16(x))).toEqual([{ kind: 'speech_start', startSample: 7680 }]);
    expect(front.speechActive).toBe(true);
    expect(front.openStartSample).toBe(7680);
    const [seg] = segmentsOf(await front.flush());
    expect(seg!.endSample).toBe(x.length);
    expect(seg!.audioStartSample + seg!.audio.length).toBe(x.length);
    const decoded = pcm16ToFloat(floatToPcm16(x));
    expect(Array.from(seg!.audio)).toEqual(Array.from(decoded.subarray(seg!.audioStartSample)));
  });

  it('reset restarts sample indices', async () => {
    const front = new SpeechFront(new FakeVad().createStream(), ORIGINAL_FRONT);
    await front.push(floatToPcm16(concat(silence(1), tone({ durationS: 0.5 }))));
    front.reset();
    expect(front.receivedSamples).toBe(0);
    const events = await feed(front, floatToPcm16(concat(silence(0.5), tone({ durationS: 0.5 }))), () => 1024);
    expect(segmentsOf(events)[0]!.startSample).toBe(7680);
  });
});

describe('collectSpeech', () => {
  it('keeps the speech with a little hangover and drops silence and noise', async () => {
    const vad = new FakeVad();
    const x = concat(silence(1), tone({ durationS: 2 }), whiteNoise({ durationS: 1, dbfs: -30 }), tone({ durationS: 0.5 }), silence(0.7));
    const { speech, speechSeconds } = await collectSpeech(vad.createStream(), x, ORIGINAL_FRONT);
    // 2 s + 0.5 s of tone, to within a frame at each of the four edges.
    expect(speechSeconds).toBeGreaterThan(2.5 - 0.07);
    expect(speechSeconds).toBeLessThan(2.5 + 0.07);
    // Hangover: 100 ms each side of both runs, at most.
    expect(speech.length / 16000).toBeLessThanOrEqual(speechSeconds + 4 * 0.1 + 1e-9);
    expect(speech.length / 16000).toBeGreaterThan(speechSeconds);
  });

  it('keeps the voice only: the live front moves a start over its energy onset, enrollment does not', async () => {
    // A soft lead-in (−55 dBFS, which the fake model scores ~0) just before a loud voice.
    const x = concat(silence(1), tone({ durationS: 0.5, dbfs: -55 }), tone({ durationS: 1 }), silence(0.7));
    const options = { onsetEnergyMs: 300, onsetAboveFloorDb: 8, threshold: 0.5 };
    const live = new SpeechFront(new FakeVad().createStream(), { ...ORIGINAL_FRONT, ...options });
    const events = [...(await live.push(floatToPcm16(x))), ...(await live.flush())];
    const seg = events.find((e): e is SegmentEvent => e.kind === 'segment')!;
    expect(seg.startSample / 16000).toBeGreaterThan(1.5 - 0.3 - 0.04);
    expect(seg.startSample / 16000).toBeLessThan(1.5 - 0.25);
    const plain = await collectSpeech(new FakeVad().createStream(), x, ORIGINAL_FRONT);
    const enrolled = await collectSpeech(new FakeVad().createStream(), x, { ...ORIGINAL_FRONT, ...options });
    expect(enrolled.speechSeconds).toBe(plain.speechSeconds);
    expect(enrolled.speech.length).toBe(plain.speech.length);
    expect(plain.speechSeconds).toBeLessThan(1 + 0.07);
  });

  it('finds no speech in silence or white noise', async () => {
    const vad = new FakeVad();
    for (const x of [silence(3), whiteNoise({ durationS: 3, dbfs: -20 })]) {
      const r = await collectSpeech(vad.createStream(), x, ORIGINAL_FRONT);
      expect(r.speechSeconds).toBe(0);
      expect(r.speech.length).toBe(0);
    }
  });
});
