/**
 * Runs a whole recording through a speech front the way the benchmarks and tuning scripts all
 * do: PCM16 in 200 ms chunks (what a client sends), then a flush.
 */
import { floatToPcm16 } from '../../../src/audio/wav.js';
import type { SpanS } from '../../../src/eval/speech.js';
import type { SegmentEvent } from '../../../src/front/segmenter.js';
import type { SpeechFront } from '../../../src/front/front.js';

const CHUNK_BYTES = 3200 * 2;

/** The segments the front emits for `audio`, in order. */
export async function frontSegments(front: SpeechFront, audio: Float32Array): Promise<SegmentEvent[]> {
  const pcm = floatToPcm16(audio);
  const events = [];
  for (let at = 0; at < pcm.length; at += CHUNK_BYTES) events.push(...(await front.push(pcm.subarray(at, at + CHUNK_BYTES))));
  events.push(...(await front.flush()));
  return events.filter((e): e is SegmentEvent => e.kind === 'segment');
}

/** The speech bounds of the front's segments for `audio`, in seconds. */
export async function frontSpeechSpans(front: SpeechFront, audio: Float32Array): Promise<SpanS[]> {
  return (await frontSegments(front, audio)).map((e) => ({ startS: e.startSample / 16_000, endS: e.endSample / 16_000 }));
}
