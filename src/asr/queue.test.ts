import { describe, expect, it } from 'vitest';
import { FakeAsrEngine } from '../testing/fake-asr.js';
import { AsrQueue, AsrQueueError } from './queue.js';

const seg = (n: number) => new Float32Array(n);
/** Lets queued microtasks and zero-delay timers run. */
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('AsrQueue', () => {
  it('runs jobs one at a time in FIFO order', async () => {
    const engine = new FakeAsrEngine({ delayMs: 2 });
    const queue = new AsrQueue(engine, { maxQueued: 10 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.enqueue(seg(n), { language: 'en' })));
    expect(results).toEqual(['samples=1', 'samples=2', 'samples=3', 'samples=4', 'samples=5']);
    expect(engine.calls.map((c) => c.samples.length)).toEqual([1, 2, 3, 4, 5]);
    expect(engine.maxActive).toBe(1);
  });

  it('passes the language through and filters hallucinations', async () => {
    const engine = new FakeAsrEngine({ text: (s) => (s.length === 1 ? ' Thank you.' : ' [BLANK_AUDIO]') });
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    expect(await queue.enqueue(seg(1), { language: 'ko' })).toBe('');
    expect(await queue.enqueue(seg(2), { language: 'auto' })).toBe('');
    expect(engine.calls.map((c) => c.language)).toEqual(['ko', 'auto']);

    const real = new AsrQueue(new FakeAsrEngine({ text: '  Yes. ' }), { maxQueued: 4 });
    expect(await real.enqueue(seg(1), { language: 'en' })).toBe('Yes.');
  });

  it('resolves null without an engine (diarization-only mode)', async () => {
    const queue = new AsrQueue(null, { maxQueued: 1 });
    expect(queue.engineName).toBeNull();
    expect(await queue.enqueue(seg(10), { language: 'en' })).toBeNull();
  });

  it('rejects at once with code "overloaded" when full, and accepts again once drained', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 2 });
    const running = queue.enqueue(seg(1), { language: 'en' });
    const waiting = [queue.enqueue(seg(2), { language: 'en' }), queue.enqueue(seg(3), { language: 'en' })];
    await tick();
    expect(queue.busy).toBe(true);
    expect(queue.pending).toBe(2);

    const refused = queue.enqueue(seg(4), { language: 'en' });
    await expect(refused).rejects.toBeInstanceOf(AsrQueueError);
    await expect(refused).rejects.toMatchObject({ code: 'overloaded' });

    engine.calls[0]!.resolve('one');
    expect(await running).toBe('one');
    await tick();
    engine.calls[1]!.resolve('two');
    await tick();
    engine.calls[2]!.resolve('three');
    expect(await Promise.all(waiting)).toEqual(['two', 'three']);
    const again = queue.enqueue(seg(5), { language: 'en' });
    await tick();
    engine.calls[3]!.resolve('four');
    expect(await again).toBe('four');
  });

  it('removes an aborted waiting job without running it; others are unaffected', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 5 });
    const gone = new AbortController();
    const first = queue.enqueue(seg(1), { language: 'en' });
    const second = queue.enqueue(seg(2), { language: 'en', signal: gone.signal });
    const third = queue.enqueue(seg(3), { language: 'en' });
    await tick();
    gone.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    expect(queue.pending).toBe(1);

    engine.calls[0]!.resolve('a');
    await tick();
    engine.calls[1]!.resolve('c');
    expect(await first).toBe('a');
    expect(await third).toBe('c');
    expect(engine.calls.map((c) => c.samples.length)).toEqual([1, 3]);
  });

  it('aborts a running job in the engine and moves on to the next', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 5 });
    const gone = new AbortController();
    const first = queue.enqueue(seg(1), { language: 'en', signal: gone.signal });
    const second = queue.enqueue(seg(2), { language: 'en' });
    await tick();
    gone.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    await tick();
    expect(engine.calls).toHaveLength(2);
    engine.calls[1]!.resolve('next');
    expect(await second).toBe('next');
  });

  it('rejects a job whose signal is already aborted without queueing it', async () => {
    const engine = new FakeAsrEngine();
    const queue = new AsrQueue(engine, { maxQueued: 5 });
    await expect(queue.enqueue(seg(1), { language: 'en', signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(engine.calls).toHaveLength(0);
  });

  it('gives an engine failure to its own job only', async () => {
    const engine = new FakeAsrEngine({ failWith: (s) => (s.length === 2 ? new Error('boom') : null) });
    const queue = new AsrQueue(engine, { maxQueued: 5 });
    const jobs = [1, 2, 3].map((n) => queue.enqueue(seg(n), { language: 'en' }));
    const settled = await Promise.allSettled(jobs);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'boom' });
  });

  it('close() fails waiting jobs with "closed", waits for the running one, and is idempotent', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 5 });
    const running = queue.enqueue(seg(1), { language: 'en' });
    const waiting = queue.enqueue(seg(2), { language: 'en' });
    await tick();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await expect(waiting).rejects.toMatchObject({ code: 'closed' });
    await tick();
    expect(closed).toBe(false);
    engine.calls[0]!.resolve('done');
    expect(await running).toBe('done');
    await closing;
    await queue.close();
    await expect(queue.enqueue(seg(3), { language: 'en' })).rejects.toMatchObject({ code: 'closed' });
    expect(engine.closed).toBe(0);
  });

  it('serves sessions in turn: a session\'s next segment waits behind at most one job of each other session', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 60 });
    const fast = queue.openLane();
    const live = queue.openLane();
    const other = queue.openLane();
    // The fast session queues ten segments before the others have any.
    const fastJobs = Array.from({ length: 10 }, (_, i) => fast.enqueue(seg(100 + i), { language: 'en' }));
    await tick();
    const liveJob = live.enqueue(seg(200), { language: 'en' });
    const otherJob = other.enqueue(seg(300), { language: 'en' });
    const served: number[] = [];
    for (let i = 0; i < 12; i++) {
      await tick();
      const call = engine.calls[i]!;
      served.push(call.samples.length);
      call.resolve('x');
    }
    await Promise.all([...fastJobs, liveJob, otherJob]);
    // 100 was already running; then one each in turn, the fast lane's rest afterwards.
    expect(served).toEqual([100, 200, 300, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(engine.maxActive).toBe(1);
  });

  it('a sparse session goes next, ahead of a busy one that was served more recently', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 60 });
    const liveA = queue.openLane();
    const liveB = queue.openLane();
    const fast = queue.openLane();
    const served: number[] = [];
    const step = async () => {
      await tick();
      const call = engine.calls[served.length]!;
      served.push(call.samples.length);
      call.resolve('x');
    };
    const jobs = [liveA.enqueue(seg(200), { language: 'en' }), ...[100, 101, 102, 103].map((n) => fast.enqueue(seg(n), { language: 'en' }))];
    await step(); // liveA's 200, then fast's 100 starts
    await tick();
    jobs.push(liveB.enqueue(seg(300), { language: 'en' }));
    await step(); // fast's 100; liveB (never served) goes next
    await tick();
    // liveA speaks again while liveB's job runs: liveA was served before fast was, so it goes
    // before fast's next job (a fixed rotation A → B → fast would put fast's 101 first).
    jobs.push(liveA.enqueue(seg(201), { language: 'en' }));
    for (let i = 0; i < 5; i++) await step();
    await Promise.all(jobs);
    expect(served).toEqual([200, 100, 300, 201, 101, 102, 103]);
  });

  it('alternates between two busy sessions', async () => {
    const engine = new FakeAsrEngine({ delayMs: 1 });
    const queue = new AsrQueue(engine, { maxQueued: 20 });
    const a = queue.openLane();
    const b = queue.openLane();
    await Promise.all([
      ...[1, 2, 3].map((n) => a.enqueue(seg(n), { language: 'en' })),
      ...[11, 12, 13].map((n) => b.enqueue(seg(n), { language: 'en' })),
    ]);
    expect(engine.calls.map((c) => c.samples.length)).toEqual([1, 11, 2, 12, 3, 13]);
  });

  it('shares the bound out among the open sessions (capacity per lane), refusing past it', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 6 });
    const a = queue.openLane();
    expect(a.capacity).toBe(6);
    const b = queue.openLane();
    const c = queue.openLane();
    expect([a.capacity, b.capacity, c.capacity]).toEqual([2, 2, 2]);
    const running = a.enqueue(seg(1), { language: 'en' });
    await tick();
    const waiting = [a.enqueue(seg(2), { language: 'en' }), a.enqueue(seg(3), { language: 'en' })];
    expect(a.pending).toBe(3);
    await expect(a.enqueue(seg(4), { language: 'en' })).rejects.toMatchObject({ code: 'overloaded' });
    // Another session still has its share.
    const bJob = b.enqueue(seg(5), { language: 'en' });
    c.close();
    expect(a.capacity).toBe(3);
    const more = a.enqueue(seg(6), { language: 'en' });
    for (let i = 0; i < 5; i++) {
      await tick();
      engine.calls[i]!.resolve('ok');
    }
    expect(await Promise.all([running, ...waiting, bJob, more])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('closing a lane fails its waiting jobs with "closed" and leaves the others alone', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 10 });
    const a = queue.openLane();
    const b = queue.openLane();
    const first = b.enqueue(seg(1), { language: 'en' });
    const aJobs = [a.enqueue(seg(2), { language: 'en' }), a.enqueue(seg(3), { language: 'en' })];
    const second = b.enqueue(seg(4), { language: 'en' });
    await tick();
    a.close();
    a.close();
    for (const job of aJobs) await expect(job).rejects.toMatchObject({ code: 'closed' });
    await expect(a.enqueue(seg(5), { language: 'en' })).rejects.toMatchObject({ code: 'closed' });
    expect(queue.lanesOpen).toBe(1);
    engine.calls[0]!.resolve('one');
    await tick();
    engine.calls[1]!.resolve('two');
    expect(await Promise.all([first, second])).toEqual(['one', 'two']);
    expect(engine.calls.map((c) => c.samples.length)).toEqual([1, 4]);
  });

  it('filters with Whisper\'s confidence when the engine reports it', async () => {
    const engine = new FakeAsrEngine({
      text: (s) => ({ text: ' Thank you.', segments: [{ text: ' Thank you.', noSpeechProb: s.length === 1 ? 0.01 : 0.7, avgLogprob: -0.2 }] }),
    });
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    expect(await queue.enqueue(seg(1), { language: 'en' })).toBe('Thank you.');
    expect(await queue.enqueue(seg(2), { language: 'en' })).toBe('');
  });
});
