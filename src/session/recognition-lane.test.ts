import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { FakeRecognizer, until } from '../testing/fake-ports.js';
import { partAudio, RecognitionLane } from './recognition-lane.js';

function lane(capacity = 16) {
  const recognizer = new FakeRecognizer(capacity);
  const errors: Array<{ code: string; message: string }> = [];
  const delivered: Array<string | null> = [];
  const l = new RecognitionLane({ recognizer, log: createLogger('silent'), error: (code, message) => errors.push({ code, message }), maxWaiting: 32 });
  const submit = (n: number) =>
    l.submit(new Float32Array(n), 'en', 'conv', async (t) => {
      delivered.push(t);
    });
  return { l, recognizer, errors, delivered, submit };
}

describe('RecognitionLane', () => {
  it('delivers in submission order, whatever order recognition finishes in', async () => {
    const { l, recognizer, delivered, submit } = lane();
    submit(1);
    submit(2);
    submit(3);
    expect(recognizer.jobs.map((j) => [j.samples.length, j.language, j.conversation])).toEqual([
      [1, 'en', 'conv'],
      [2, 'en', 'conv'],
      [3, 'en', 'conv'],
    ]);
    recognizer.jobs[2]!.resolve('c');
    recognizer.jobs[1]!.resolve(null);
    await new Promise((r) => setTimeout(r, 10));
    expect(delivered).toEqual([]);
    recognizer.jobs[0]!.resolve('a');
    await l.drained;
    expect(delivered).toEqual(['a', null, 'c']);
  });

  it('is full at its capacity and frees a slot as each job finishes; close releases a waiter', async () => {
    const { l, recognizer, submit } = lane(2);
    submit(1);
    expect(l.full).toBe(false);
    submit(1);
    expect(l.full).toBe(true);
    let woke = false;
    void l.whenSlotFreed().then(() => (woke = true));
    recognizer.jobs[1]!.resolve('x');
    await until(() => woke, 'a freed slot');
    expect(l.full).toBe(false);
    submit(1);
    expect(l.full).toBe(true);
    let released = false;
    void l.whenSlotFreed().then(() => (released = true));
    l.abort();
    l.close();
    await until(() => released, 'the release on close');
    expect(recognizer.closed).toBe(1);
  });

  it('turns failures into coded errors and empty texts, with the cause but not the engine\'s words', async () => {
    const { l, recognizer, errors, delivered, submit } = lane();
    for (let i = 0; i < 4; i++) submit(1);
    recognizer.jobs[0]!.reject(Object.assign(new Error('/models/x.bin missing'), { code: 'failed' }));
    recognizer.jobs[1]!.reject(Object.assign(new Error('queue full'), { code: 'overloaded' }));
    recognizer.jobs[2]!.reject(new Error('odd'));
    recognizer.jobs[3]!.resolve('fine');
    await until(() => delivered.length === 4, 'four texts');
    expect(delivered).toEqual(['', '', '', 'fine']);
    expect(errors.map((e) => e.code)).toEqual(['asr_failed', 'overloaded', 'internal']);
    expect(errors[0]!.message).toContain('(failed: the engine answered with an error)');
    expect(errors.some((e) => e.message.includes('/models'))).toBe(false);
  });

  it('after an abort, nothing pending is delivered or reported', async () => {
    const { l, recognizer, errors, delivered, submit } = lane();
    submit(1);
    submit(1);
    recognizer.jobs[1]!.resolve('late');
    l.abort();
    await l.drained;
    expect(delivered).toEqual([]);
    expect(errors).toEqual([]);
    expect(l.aborted).toBe(true);
  });
});

describe('partAudio', () => {
  // A segment whose audio starts at sample 1000 and holds 16000 samples; sample i has value i.
  const audio = Float32Array.from({ length: 16_000 }, (_, i) => i);
  const seg = { startSample: 1000, endSample: 17_000, audio, audioStartSample: 1000 };
  const part = (startSample: number, endSample: number) => ({ startSample, endSample, speakerId: 0 as const, similarity: [0, 0] as [number, number] });

  it('adds 0.2 s before and 0.15 s after a part, within the segment audio', () => {
    const a = partAudio(seg, part(9000, 10_000));
    expect(a[0]).toBe(9000 - 3200 - 1000);
    expect(a.length).toBe(1000 + 3200 + 2400);
  });

  it('clips at both ends of the segment audio, and gives nothing for a part outside it', () => {
    const a = partAudio(seg, part(1000, 17_000));
    expect([a[0], a.length]).toEqual([0, 16_000]);
    expect(partAudio(seg, part(30_000, 31_000)).length).toBe(0);
  });
});
