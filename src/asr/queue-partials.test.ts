/** The queue's lowest class: partials give way to every final and to newer partials. */
import { describe, expect, it, vi } from 'vitest';
import { FakeAsrEngine } from '../testing/fake-asr.js';
import { AsrQueue } from './queue.js';
import { abortError, type AsrEngine, type AsrJobOptions, type AsrResult } from './types.js';

const seg = (n: number) => new Float32Array(n);
const tick = () => new Promise((r) => setTimeout(r, 0));
const partialOpts = { language: 'en', audioCtx: 66, maxTokens: 10, prompt: 'so far' };

/**
 * Like whisper-server: one job at a time behind a lock, each `steps` × `stepMs` long, noticing an
 * abort only between steps. The caller hears of an abort at once (as `fetch` does), while the
 * engine runs on to its next step; each answer says how long it waited for the lock.
 */
class SteppedEngine implements AsrEngine {
  readonly name = 'stepped';
  private lock: Promise<void> = Promise.resolve();
  constructor(
    private readonly stepMs: number,
    private readonly steps: number,
  ) {}
  async load(): Promise<void> {}
  async close(): Promise<void> {}
  transcribe(_samples: Float32Array, options: AsrJobOptions): Promise<AsrResult> {
    const arrivedMs = Date.now();
    const before = this.lock;
    let release = () => undefined as void;
    this.lock = new Promise<void>((r) => (release = r));
    const run = (async () => {
      await before;
      const engineWaitMs = Date.now() - arrivedMs;
      try {
        for (let i = 0; i < this.steps; i++) {
          if (options.signal?.aborted) throw abortError();
          await new Promise((r) => setTimeout(r, this.stepMs));
        }
        return { text: 'done', segments: [], engineWaitMs };
      } finally {
        release();
      }
    })();
    return new Promise<AsrResult>((resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(abortError()), { once: true });
      run.then(resolve, reject);
    });
  }
}

describe('AsrQueue partials', () => {
  it('runs a partial on an idle engine with its cost controls, marked as partial', async () => {
    const engine = new FakeAsrEngine({ text: ' hello there ' });
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    const lane = queue.openLane({ session: 's1' });
    expect(await lane.offerPartial(seg(16_000), partialOpts)).toBe('hello there');
    expect(engine.calls[0]!.options).toMatchObject({ priority: 'partial', audioCtx: 66, maxTokens: 10, prompt: 'so far', session: 's1' });
    // A final carries none of them unless asked.
    await lane.enqueue(seg(10), { language: 'en' });
    expect(engine.calls[1]!.options.priority).toBeUndefined();
    expect(engine.calls[1]!.options.audioCtx).toBeUndefined();
    expect(engine.calls[1]!.options.maxTokens).toBeUndefined();
    expect(queue.partialCounts).toMatchObject({ offered: 1, completed: 1, dropped: 0, preempted: 0 });
  });

  it('is never started while a final waits; a final arriving drops the waiting partial', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 8 });
    const a = queue.openLane();
    const b = queue.openLane();
    const running = a.enqueue(seg(1), { language: 'en' });
    await tick();
    // The engine is busy with a final: the partial waits (no final waits yet)…
    const p = b.offerPartial(seg(2), partialOpts);
    // …until a final of another session arrives, which drops it.
    const waitingFinal = a.enqueue(seg(3), { language: 'en' });
    await expect(p).rejects.toMatchObject({ code: 'dropped' });
    // And while that final waits, a new partial is refused at once.
    await expect(b.offerPartial(seg(4), partialOpts)).rejects.toMatchObject({ code: 'dropped' });
    engine.calls[0]!.resolve('one');
    await running;
    await tick();
    expect(engine.calls.map((c) => c.samples.length)).toEqual([1, 3]);
    engine.calls[1]!.resolve('three');
    expect(await waitingFinal).toBe('three');
    expect(queue.partialCounts.dropped).toBe(2);
  });

  it('a newer partial of the same lane supersedes the waiting one; one running refuses the next', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 8 });
    const other = queue.openLane();
    const lane = queue.openLane();
    const final = other.enqueue(seg(1), { language: 'en' });
    await tick();
    const older = lane.offerPartial(seg(2), partialOpts);
    const newer = lane.offerPartial(seg(3), partialOpts);
    await expect(older).rejects.toMatchObject({ code: 'dropped' });
    engine.calls[0]!.resolve('final');
    await final;
    await tick();
    // The newer one runs now; while it does, the lane's next partial is refused (never queued behind it).
    expect(engine.calls[1]!.samples.length).toBe(3);
    await expect(lane.offerPartial(seg(4), partialOpts)).rejects.toMatchObject({ code: 'dropped' });
    engine.calls[1]!.resolve('partial text');
    expect(await newer).toBe('partial text');
  });

  it('a final finding the engine busy with a partial stops it and goes first', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 8 });
    const lane = queue.openLane();
    const p = lane.offerPartial(seg(5), partialOpts);
    await tick();
    expect(engine.active).toBe(1);
    const final = queue.openLane().enqueue(seg(6), { language: 'en' });
    await expect(p).rejects.toMatchObject({ code: 'dropped' });
    await tick();
    expect(engine.calls[1]!.samples.length).toBe(6);
    engine.calls[1]!.resolve('final text');
    expect(await final).toBe('final text');
    expect(queue.partialCounts.preempted).toBe(1);
    expect(engine.maxActive).toBe(1);
  });

  it('partials of several lanes take turns; none counts against the final bounds', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 1 });
    const lanes = [queue.openLane(), queue.openLane(), queue.openLane()];
    const first = lanes[0]!.offerPartial(seg(10), partialOpts);
    await tick();
    const rest = [lanes[1]!.offerPartial(seg(11), partialOpts), lanes[2]!.offerPartial(seg(12), partialOpts)];
    engine.calls[0]!.resolve('a');
    await first;
    await tick();
    engine.calls[1]!.resolve('b');
    await tick();
    engine.calls[2]!.resolve('c');
    expect(await Promise.all(rest)).toEqual(['b', 'c']);
    // The final bound (1) is untouched by partials.
    expect(queue.pending).toBe(0);
  });

  it('an aborted or closed lane leaves nothing queued, and an engine failure loses only the partial', async () => {
    const engine = new FakeAsrEngine({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 8 });
    const busy = queue.openLane().enqueue(seg(1), { language: 'en' });
    await tick();
    const ac = new AbortController();
    const lane = queue.openLane();
    const p = lane.offerPartial(seg(2), { ...partialOpts, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    const q = lane.offerPartial(seg(3), partialOpts);
    lane.close();
    await expect(q).rejects.toMatchObject({ code: 'closed' });
    engine.calls[0]!.resolve('x');
    await busy;
    await tick();
    expect(engine.calls).toHaveLength(1);

    const lane2 = queue.openLane();
    const failing = lane2.offerPartial(seg(4), partialOpts);
    await tick();
    engine.calls[1]!.reject(new Error('engine died'));
    await expect(failing).rejects.toThrow('engine died');
    const after = lane2.enqueue(seg(5), { language: 'en' });
    await tick();
    engine.calls[2]!.resolve('still fine');
    expect(await after).toBe('still fine');
  });

  it('reports its load: busy shares by class and the finals’ real-time factor', async () => {
    const engine = new FakeAsrEngine({ delayMs: 30 });
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    expect(queue.load()).toMatchObject({ finalsWaiting: 0, finalRtf: null, finalBusyShare: 0 });
    await queue.enqueue(seg(16_000), { language: 'en' });
    const load = queue.load();
    expect(load.finalRtf).toBeGreaterThan(0);
    expect(load.finalRtf).toBeLessThan(1);
    expect(load.finalBusyShare).toBeGreaterThan(0);
    expect(load.partialBusyShare).toBe(0);
  });

  it('a partial running past its time is stopped (aborted, not left to the engine’s restart limit)', async () => {
    vi.useFakeTimers();
    try {
      const engine = new FakeAsrEngine({ manual: true });
      const queue = new AsrQueue(engine, { maxQueued: 4 });
      const p = queue.openLane().offerPartial(seg(1), partialOpts);
      const outcome = p.catch((err: unknown) => err);
      await vi.advanceTimersByTimeAsync(0);
      expect(engine.calls[0]!.signal?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(3000);
      expect(engine.calls[0]!.signal?.aborted).toBe(true);
      expect(await outcome).toMatchObject({ code: 'dropped' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts how long a final that stopped a partial waited for the engine (its tail to the next abort check)', async () => {
    vi.useFakeTimers();
    try {
      // Partials and finals take 10 steps of 40 ms; the engine notices an abort only between steps.
      const engine = new SteppedEngine(40, 10);
      const queue = new AsrQueue(engine, { maxQueued: 4 });
      const speaker = queue.openLane();
      const other = queue.openLane();
      const partial = speaker.offerPartial(seg(1), partialOpts).catch((err: unknown) => err);
      await vi.advanceTimersByTimeAsync(50);
      // 50 ms into the partial a final arrives: the partial is stopped at once for the queue…
      const final = other.enqueue(seg(2), { language: 'en' });
      expect(await partial).toMatchObject({ code: 'dropped' });
      // …and a second final waits behind the first (it stops nothing).
      const second = speaker.enqueue(seg(3), { language: 'en' });
      await vi.advanceTimersByTimeAsync(2000);
      expect(await final).toBe('done');
      expect(await second).toBe('done');
      // …but the engine ran the partial to its next step (80 ms): the final waited 30 ms for it.
      expect(queue.partialCounts).toMatchObject({ preempted: 1, finalsAfterStop: 1 });
      expect(queue.stopWaits()).toEqual({ count: 1, p50Ms: 30, p95Ms: 30, maxMs: 30 });
      // A final on an idle engine, or after a partial that finished, stopped nothing.
      const done = speaker.offerPartial(seg(4), partialOpts);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await done).toBe('done');
      const late = other.enqueue(seg(5), { language: 'en' });
      await vi.advanceTimersByTimeAsync(1000);
      expect(await late).toBe('done');
      expect(queue.stopWaits().count).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('without an engine a partial resolves null', async () => {
    const queue = new AsrQueue(null, { maxQueued: 1 });
    expect(await queue.openLane().offerPartial(seg(1), partialOpts)).toBeNull();
  });
});
