import { describe, expect, it } from 'vitest';
import { PartialRunner, type PartialPayload } from './partials.js';
import type { OpenSegmentView, PartialRequest, Recognizer } from './ports.js';

const RATE = 16_000;

/** A recognizer whose partials the test answers by hand. */
function fakeRecognizer(allowed = () => true) {
  const calls: Array<{ samples: Float32Array; options: PartialRequest; resolve(t: string): void; reject(e: unknown): void }> = [];
  const recognizer: Recognizer = {
    transcribe: async () => '',
    pending: 0,
    capacity: 1,
    close: () => undefined,
    partial: (samples, options) =>
      new Promise((resolve, reject) => {
        calls.push({ samples, options, resolve, reject });
        options.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      }),
    partialsAllowed: allowed,
  };
  return { recognizer, calls };
}

function view(startS: number, receivedS: number, speakerGuess: 0 | 1 | null = null): OpenSegmentView {
  const startSample = startS * RATE;
  const receivedSamples = receivedS * RATE;
  return { startSample, receivedSamples, audio: () => new Float32Array(receivedSamples - startSample), speakerGuess };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function rig(allowed?: () => boolean) {
  const { recognizer, calls } = fakeRecognizer(allowed);
  const sent: PartialPayload[] = [];
  let now = 0;
  const runner = new PartialRunner({
    recognizer,
    intervalSamples: RATE,
    minSpeechSamples: RATE,
    maxPerSegment: 3,
    tokensPerS: 6,
    send: (p) => (sent.push(p), true),
    nowMs: () => now,
  });
  /** Live audio: `s` seconds arrive over `s` seconds of wall time, in 100 ms chunks. */
  const live = (s: number) => {
    for (let i = 0; i < s * 10; i++) {
      now += 100;
      runner.arrived(RATE / 10);
    }
  };
  return { runner, calls, sent, live, advance: (ms: number) => (now += ms) };
}

describe('PartialRunner', () => {
  it('asks after the minimum speech, then once per interval, with the cost controls, and sends the agreed text', async () => {
    const { runner, calls, sent, live } = rig();
    live(0.5);
    runner.afterPush(view(0, 0.5), 0, 'en', 'c1');
    expect(calls).toHaveLength(0);
    live(0.6);
    runner.afterPush(view(0, 1.1, 1), 0, 'en', 'c1');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.samples.length).toBe(1.1 * RATE);
    // 1.1 s: 55 encoder frames + margin; 6 tokens/s + 4.
    expect(calls[0]!.options).toMatchObject({ language: 'en', conversation: 'c1', audioCtx: 56 + 16, maxTokens: 11 });
    expect(calls[0]!.options.prompt).toBeUndefined();
    // One in flight: no second request even when due.
    live(1.2);
    runner.afterPush(view(0, 2.3, 1), 0, 'en', 'c1');
    expect(calls).toHaveLength(1);
    calls[0]!.resolve('I went to');
    await flush();
    expect(sent).toEqual([{ speaker_id: 1, start: 0, text: 'I went to', stable: '' }]);
    runner.afterPush(view(0, 2.4, 1), 0, 'en', 'c1');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.options.prompt).toBe('I went to');
    calls[1]!.resolve('I went to the sto');
    await flush();
    expect(sent[1]).toEqual({ speaker_id: 1, start: 0, text: 'I went to the sto', stable: 'I went to' });
    expect(runner.counts).toMatchObject({ offered: 2, sent: 2 });
  });

  it('caps the partials of one segment; a new segment starts its own series', async () => {
    const { runner, calls, live } = rig();
    for (let t = 1; t <= 6; t++) {
      live(1);
      runner.afterPush(view(0, t), 0, 'en', undefined);
      calls.at(-1)?.resolve(`word ${t}`);
      await flush();
    }
    expect(calls).toHaveLength(3);
    live(1);
    runner.afterPush(view(6.5, 8), 0, 'en', undefined);
    expect(calls).toHaveLength(4);
    expect(calls[3]!.samples.length).toBe(1.5 * RATE);
    expect(calls[3]!.options.prompt).toBeUndefined();
  });

  it('ending the series aborts the one in flight, and its answer is never sent', async () => {
    const { runner, calls, sent, live } = rig();
    live(1.2);
    runner.afterPush(view(0, 1.2), 0, 'en', undefined);
    const signal = calls[0]!.options.signal;
    runner.endSeries();
    expect(signal.aborted).toBe(true);
    calls[0]!.resolve('too late');
    await flush();
    expect(sent).toEqual([]);
    // A partial answered after its segment closed is dropped too.
    live(1.2);
    runner.afterPush(view(2, 3.2), 0, 'en', undefined);
    runner.afterPush(null, 0, 'en', undefined);
    calls[1]!.resolve('also too late');
    await flush();
    expect(sent).toEqual([]);
  });

  it('gives a client sending faster than real time no partials', () => {
    const { runner, calls, advance } = rig();
    // 8 s of audio in 1 s of wall time (a replayed file).
    for (let i = 0; i < 80; i++) {
      advance(12.5);
      runner.arrived(RATE / 10);
    }
    expect(runner.replaying).toBe(true);
    runner.afterPush(view(0, 3), 0, 'en', undefined);
    expect(calls).toHaveLength(0);
    expect(runner.counts.skipped).toBe(1);
  });

  it('live audio with jittery batching is not a replay', () => {
    const { runner, advance } = rig();
    // 300 ms batches arriving every 300 ms, one late batch followed by a catch-up burst.
    for (let i = 0; i < 20; i++) {
      advance(i === 10 ? 600 : i === 11 ? 0 : 300);
      runner.arrived((RATE * 3) / 10);
    }
    expect(runner.replaying).toBe(false);
  });

  it('skips while the session has a backlog or the recognizer says no (PARTIALS, load)', () => {
    let allowed = false;
    const { runner, calls, live } = rig(() => allowed);
    live(1.5);
    runner.afterPush(view(0, 1.5), 0, 'en', undefined);
    expect(calls).toHaveLength(0);
    allowed = true;
    live(0.3);
    runner.afterPush(view(0, 1.8), RATE, 'en', undefined);
    expect(calls).toHaveLength(0);
    live(0.3);
    runner.afterPush(view(0, 2.1), 0, 'en', undefined);
    expect(calls).toHaveLength(1);
    expect(runner.counts.skipped).toBe(2);
  });

  it('a dropped partial is counted lost, never retried, and the next comes on cadence', async () => {
    const { runner, calls, sent, live } = rig();
    live(1);
    runner.afterPush(view(0, 1), 0, 'en', undefined);
    calls[0]!.reject(Object.assign(new Error('dropped'), { code: 'dropped' }));
    await flush();
    expect(runner.counts.lost).toBe(1);
    runner.afterPush(view(0, 1.5), 0, 'en', undefined);
    expect(calls).toHaveLength(1);
    live(0.5);
    runner.afterPush(view(0, 2), 0, 'en', undefined);
    expect(calls).toHaveLength(2);
    expect(sent).toEqual([]);
  });
});
