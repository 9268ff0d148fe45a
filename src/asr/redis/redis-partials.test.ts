/**
 * Partials through Redis Streams (real `redis-server`, in-process workers on fake engines):
 * their own stream and short deadline, finals first at the worker, never retried.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeAsrEngine } from '../../testing/fake-asr.js';
import { hasRedisServer, TestRedis } from '../../testing/redis-server.js';
import { RedisAsrEngine } from './engine.js';
import { PARTIAL_DEADLINE_MS, streamKeys } from './streams.js';
import { AsrWorker } from './worker.js';

const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const keys = streamKeys();
const CLAIM_MS = 300;
const audio = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.1 * Math.sin(i / 10));

async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!hasRedisServer() && !inCi)('partials through Redis Streams', () => {
  let redis: TestRedis;
  let admin: Redis;
  const workers: AsrWorker[] = [];
  const fronts: RedisAsrEngine[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    admin = new Redis(redis.url, { maxRetriesPerRequest: null });
    admin.on('error', () => undefined);
  });
  afterEach(async () => {
    await Promise.all(fronts.splice(0).map((f) => f.close()));
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await admin.flushall();
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  async function setup(engine: FakeAsrEngine): Promise<RedisAsrEngine> {
    const w = new AsrWorker({ url: redis.url, engines: [engine], claimMs: CLAIM_MS, maxAttempts: 3, heartbeatMs: 100, log: () => undefined });
    workers.push(w);
    await w.start();
    const front = new RedisAsrEngine({ url: redis.url, deadlineMs: 20_000, livenessPollMs: 50 });
    fronts.push(front);
    await front.load();
    await until(() => front.slots() === 1, 3000, 'a live worker');
    return front;
  }

  it('a partial goes through its own stream with its options, and leaves nothing behind', async () => {
    const fake = new FakeAsrEngine({ text: 'interim' });
    const front = await setup(fake);
    const r = await front.transcribe(audio(3200), { language: 'en', priority: 'partial', audioCtx: 26, maxTokens: 5, prompt: 'so far' });
    expect(r).toMatchObject({ text: 'interim' });
    expect(fake.calls[0]!.options).toMatchObject({ priority: 'partial', audioCtx: 26, maxTokens: 5, prompt: 'so far', language: 'en' });
    expect(fake.calls[0]!.samples.length).toBe(3200);
    await until(async () => (await admin.xlen(keys.partials)) === 0, 2000, 'the partial deleted');
    expect(Number(((await admin.xpending(keys.partials, keys.group)) as [number])[0])).toBe(0);
    expect(await admin.xlen(keys.jobs)).toBe(0);
  });

  it('a busy worker takes the waiting final before the waiting partial', async () => {
    const fake = new FakeAsrEngine({ manual: true });
    const front = await setup(fake);
    const first = front.transcribe(audio(100), { language: 'en' });
    await until(() => fake.calls.length === 1, 3000, 'the first final running');
    const partial = front.transcribe(audio(200), { language: 'en', priority: 'partial' });
    await until(async () => (await admin.xlen(keys.partials)) === 1, 2000, 'the partial queued');
    const second = front.transcribe(audio(300), { language: 'en' });
    await until(async () => (await admin.xlen(keys.jobs)) === 2, 2000, 'the second final queued');
    fake.calls[0]!.resolve('one');
    await first;
    await until(() => fake.calls.length === 2, 3000, 'the next job');
    expect(fake.calls[1]!.samples.length).toBe(300);
    fake.calls[1]!.resolve('two');
    await second;
    await until(() => fake.calls.length === 3, 3000, 'the partial');
    expect(fake.calls[2]!.options.priority).toBe('partial');
    fake.calls[2]!.resolve('partial');
    expect(await partial).toMatchObject({ text: 'partial' });
  });

  it('a failed partial is answered at once and never retried', async () => {
    const fake = new FakeAsrEngine({ failWith: () => new Error('engine broke') });
    const front = await setup(fake);
    await expect(front.transcribe(audio(100), { language: 'en', priority: 'partial' })).rejects.toMatchObject({ message: expect.stringMatching(/^engine:/) });
    // Well past the takeover time: nobody runs it again.
    await new Promise((r) => setTimeout(r, CLAIM_MS * 4));
    expect(fake.calls).toHaveLength(1);
    expect(await admin.xlen(keys.partials)).toBe(0);
  });

  it('a partial that waits past its short deadline is dropped, never run', async () => {
    const fake = new FakeAsrEngine({ manual: true });
    const front = await setup(fake);
    const busy = front.transcribe(audio(100), { language: 'en' });
    await until(() => fake.calls.length === 1, 3000, 'a final running');
    const t0 = Date.now();
    await expect(front.transcribe(audio(200), { language: 'en', priority: 'partial' })).rejects.toMatchObject({ message: expect.stringMatching(/^deadline:/) });
    expect(Date.now() - t0).toBeLessThan(PARTIAL_DEADLINE_MS + 2000);
    fake.calls[0]!.resolve('done');
    await busy;
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.calls).toHaveLength(1);
    expect(await admin.xlen(keys.partials)).toBe(0);
  }, 15_000);
});
