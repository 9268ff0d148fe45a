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
});
