/**
 * The Redis Streams path against a real `redis-server` on a free loopback port, with workers
 * in-process on fake engines (so each guarantee can be timed and forced); the real whisper.cpp
 * engine behind workers is exercised by test/redis-workers.integration.test.ts.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { AsrQueue } from '../queue.js';
import { FakeAsrEngine } from '../../testing/fake-asr.js';
import { hasRedisServer, TestRedis } from '../../testing/redis-server.js';
import { createRemoteAsrEngine, startAsr, type AsrService } from '../index.js';
import { RedisAsrEngine } from './engine.js';
import { RemoteAsrError, resultFields, streamKeys } from './streams.js';
import { AsrWorker } from './worker.js';

const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
if (!hasRedisServer() && !inCi) console.warn('[redis test] SKIPPED: redis-server is not installed (apt-get install redis-server; under CI=true this fails)');

const quiet = process.env.DEBUG_REDIS_TEST ? (l: string, m: string) => console.log(l, m) : () => undefined;
const keys = streamKeys();
const CLAIM_MS = 600;
const signal = () => new AbortController().signal;
/** n samples of a quiet tone: the fake engine answers `samples=<n>`. */
const audio = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.1 * Math.sin(i / 10));
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (err: unknown) => ((err as Error).name === 'AbortError' ? 'AbortError' : (err as RemoteAsrError).code),
  );

async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!hasRedisServer() && !inCi)('Redis Streams recognition queue (real redis-server, fake engines)', () => {
  let redis: TestRedis;
  let admin: Redis;
  const workers: AsrWorker[] = [];
  const services: AsrService[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    admin = new Redis(redis.url, { maxRetriesPerRequest: null });
    admin.on('error', () => undefined);
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await admin.flushall();
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  async function worker(engine: FakeAsrEngine | FakeAsrEngine[], options: { maxAttempts?: number } = {}): Promise<AsrWorker> {
    const w = new AsrWorker({
      url: redis.url,
      engines: Array.isArray(engine) ? engine : [engine],
      claimMs: CLAIM_MS,
      maxAttempts: options.maxAttempts ?? 3,
      heartbeatMs: 100,
      log: quiet,
    });
    workers.push(w);
    await w.start();
    return w;
  }

  async function service(options: { deadlineMs?: number; url?: string } = {}): Promise<{ asr: AsrService; engine: RedisAsrEngine }> {
    const engine = new RedisAsrEngine({ url: options.url ?? redis.url, deadlineMs: options.deadlineMs ?? 10_000, livenessPollMs: 100, log: quiet });
    const asr = await startAsr(loadConfig({}, [], { ASR_QUEUE_MAX: 64 }), { engine, log: quiet });
    services.push(asr);
    return { asr, engine };
  }

  const counts = async () => ({
    jobs: await admin.xlen(keys.jobs),
    pending: Number(((await admin.xpending(keys.jobs, keys.group)) as [number])[0]),
  });

  it('sends every segment to a worker and hands each result to its own job, in order per caller', async () => {
    const a = new FakeAsrEngine({ delayMs: 15 });
    const b = new FakeAsrEngine({ delayMs: 5 });
    await worker(a);
    await worker(b);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 2, 2000, 'two live workers');
    const lengths = Array.from({ length: 20 }, (_, i) => 1600 + 160 * i);
    const done: number[] = [];
    const texts = await Promise.all(
      lengths.map((n, i) =>
        asr.queue.enqueue(audio(n), { language: 'en', signal: signal() }).then((t) => {
          done.push(i);
          return t;
        }),
      ),
    );
    expect(texts).toEqual(lengths.map((n) => `samples=${n}`));
    // Both workers took part, and neither ever ran two at once (concurrency 1 each).
    expect(a.calls.length).toBeGreaterThan(0);
    expect(b.calls.length).toBeGreaterThan(0);
    expect(a.calls.length + b.calls.length).toBe(20);
    expect(Math.max(a.maxActive, b.maxActive)).toBe(1);
    expect(a.calls[0]!.language).toBe('en');
    expect(asr.name).toMatch(/fake asr via Redis Streams \(2 workers, 2 slots\)/);
  });

  it('deletes the job (and its audio) once answered, and the results once read', async () => {
    await worker(new FakeAsrEngine());
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    for (let i = 0; i < 5; i++) await asr.queue.enqueue(audio(3200), { language: 'en', signal: signal() });
    expect(await counts()).toEqual({ jobs: 0, pending: 0 });
    await until(async () => (await admin.xlen(keys.results(engine.serverId))) === 0, 2000, 'results deleted');
  });

  it('keeps at most live workers × concurrency jobs outstanding in Redis', async () => {
    let maxInStream = 0;
    const seen: FakeAsrEngine[] = [];
    const probe = () =>
      new FakeAsrEngine({
        delayMs: 30,
        text: () => 'x',
      });
    // One worker of concurrency 2 and one of concurrency 1: 3 slots.
    const engines = [probe(), probe(), probe()];
    seen.push(...engines);
    await worker([engines[0]!, engines[1]!]);
    await worker(engines[2]!);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 3, 2000, 'three slots');
    const poll = setInterval(() => {
      void admin.xlen(keys.jobs).then((n) => (maxInStream = Math.max(maxInStream, n)));
      maxInStream = Math.max(maxInStream, engine.outstanding);
    }, 2);
    await Promise.all(Array.from({ length: 24 }, () => asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() })));
    clearInterval(poll);
    expect(maxInStream).toBeLessThanOrEqual(3);
    expect(maxInStream).toBeGreaterThanOrEqual(2);
    expect(Math.max(...seen.map((e) => e.maxActive))).toBe(1);
  });

  it('keeps sessions fair across workers: a session queued behind a busy one starts within one job per worker', async () => {
    const a = new FakeAsrEngine({ delayMs: 60 });
    const b = new FakeAsrEngine({ delayMs: 60 });
    await worker(a);
    await worker(b);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 2, 2000, 'two live workers');
    const busy = asr.queue.openLane();
    const live = asr.queue.openLane();
    // The busy session queues 10 segments (1600 + i samples), then the live one queues one (800).
    const busyJobs = Array.from({ length: 10 }, (_, i) => busy.enqueue(audio(1600 + i), { language: 'en', signal: signal() }));
    const liveJob = live.enqueue(audio(800), { language: 'en', signal: signal() });
    await Promise.all([...busyJobs, liveJob]);
    const started = [...a.calls, ...b.calls].map((c) => c.samples.length);
    expect(started).toHaveLength(11);
    // Two workers were already busy with the busy session's first two jobs; the live job is next.
    const order = [...a.calls.map((c, i) => ({ c, i, w: 'a' })), ...b.calls.map((c, i) => ({ c, i, w: 'b' }))];
    const liveCall = order.find((o) => o.c.samples.length === 800)!;
    expect(liveCall.i).toBeLessThanOrEqual(1);
    busy.close();
    live.close();
  });

  it('fails at once with no_workers when no worker is alive, and resumes when one starts', async () => {
    const { asr, engine } = await service();
    expect(await code(asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() }))).toBe('no_workers');
    await worker(new FakeAsrEngine());
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    expect(await asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() })).toBe('samples=1600');
  });

  it(`finishes a killed worker's job on another worker within JOB_CLAIM_MS`, async () => {
    const stuck = new FakeAsrEngine({ manual: true });
    const dead = await worker(stuck);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const result = asr.queue.enqueue(audio(4800), { language: 'en', signal: signal() });
    await until(() => stuck.calls.length === 1, 2000, 'the first worker to take the job');
    const healthy = new FakeAsrEngine();
    const survivor = await worker(healthy);
    const killedAt = Date.now();
    dead.kill();
    expect(await result).toBe('samples=4800');
    const tookMs = Date.now() - killedAt;
    expect(healthy.calls).toHaveLength(1);
    await until(() => survivor.answered === 1, 1000, "the survivor to count its answer");
    // Claimable JOB_CLAIM_MS after the dead worker last touched it (<= the kill), found by
    // a scan every JOB_CLAIM_MS / 4.
    expect(tookMs).toBeLessThanOrEqual(CLAIM_MS * 1.25 + 500);
    // The killed worker's late answer (if its engine ever returned) would find no job.
    stuck.calls[0]!.resolve('too late');
    expect(await counts()).toEqual({ jobs: 0, pending: 0 });
  });

  it('does not take a long job away from a worker that is still on it', async () => {
    const slow = new FakeAsrEngine({ delayMs: CLAIM_MS * 3 });
    const other = new FakeAsrEngine();
    await worker(slow);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const result = asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() });
    await until(() => slow.calls.length === 1, 2000, 'the job to start');
    await worker(other);
    expect(await result).toBe('samples=1600');
    expect(other.calls).toHaveLength(0);
  });

  it('moves a job that failed JOB_MAX_ATTEMPTS times to the dead-letter stream and answers "" coded dead_letter', async () => {
    const failing = new FakeAsrEngine({ failWith: () => new Error('engine broke') });
    await worker(failing, { maxAttempts: 2 });
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const t0 = Date.now();
    expect(await code(asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() }))).toBe('dead_letter');
    expect(failing.calls).toHaveLength(2);
    expect(Date.now() - t0).toBeLessThan(CLAIM_MS * 3 + 1000);
    const dead = await admin.xrange(keys.dead, '-', '+');
    expect(dead).toHaveLength(1);
    const fields = dead[0]![1];
    expect(fields).toContain('deliveries');
    expect(fields).not.toContain('pcm16');
    expect(await counts()).toEqual({ jobs: 0, pending: 0 });
    // Through the service (as the session sees it): "" with a coded error, via the queue.
  });

  it('answers a job past its deadline with a coded error, and never twice', async () => {
    const stuck = new FakeAsrEngine({ manual: true });
    await worker(stuck);
    const { asr, engine } = await service({ deadlineMs: 300 });
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const t0 = Date.now();
    expect(await code(asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() }))).toBe('deadline');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(2000);
    // The worker's engine call is aborted at the same deadline, and the job cleaned up.
    await until(() => stuck.calls[0]?.signal?.aborted === true, 1000, 'the worker to abort its run');
    await until(async () => (await counts()).pending === 0, 2000, 'the job acknowledged');
    expect((await counts()).jobs).toBe(0);
  });

  it('delivers exactly one result per job even when it is answered twice (reclaimed job)', async () => {
    const manual = new FakeAsrEngine({ manual: true });
    await worker(manual);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const first = asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() });
    const second = asr.queue.enqueue(audio(3200), { language: 'en', signal: signal() });
    await until(() => manual.calls.length === 1, 2000, 'the first job to start');
    const [[, fields]] = (await admin.xrange(keys.jobs, '-', '+')) as Array<[string, string[]]>;
    const jobId = fields![fields!.indexOf('id') + 1]!;
    // A second delivery of the same job answers first (as after a takeover) …
    await admin.xadd(keys.results(engine.serverId), '*', ...resultFields({ id: jobId, ok: true, result: { text: 'from the other worker', segments: [] }, worker: 'w2' }));
    expect(await first).toBe('from the other worker');
    // … the original worker's answer is ignored, and goes to nobody else.
    manual.calls[0]!.resolve('from the first worker');
    await until(() => manual.calls.length === 2, 2000, 'the second job to start');
    manual.calls[1]!.resolve('second');
    expect(await second).toBe('second');
  });

  it('survives a Redis restart: jobs during the outage fail coded, none hang, service resumes', async () => {
    const slow = new FakeAsrEngine({ delayMs: 400 });
    await worker(slow);
    const { asr, engine } = await service({ deadlineMs: 5000 });
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const inFlight = code(asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() }));
    await until(() => slow.calls.length === 1, 2000, 'the job to start');
    const t0 = Date.now();
    await redis.kill();
    expect(await inFlight).toBe('unavailable');
    // Refused at once: Redis unreachable, or (once the lost connection dropped the worker list) no workers.
    expect(await code(asr.queue.enqueue(audio(1600), { language: 'en', signal: signal() }))).toMatch(/^(unavailable|no_workers)$/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(engine.slots()).toBe(0);
    await redis.restart();
    // Reconnects (≤ 1 s apart), the worker recreates the group and announces itself again.
    await until(() => engine.slots() === 1, 10_000, 'the worker to be live again');
    expect(await asr.queue.enqueue(audio(3200), { language: 'en', signal: signal() })).toBe('samples=3200');
  });

  it('a caller that leaves takes its job back', async () => {
    const manual = new FakeAsrEngine({ manual: true });
    await worker(manual);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const ac = new AbortController();
    const running = asr.queue.enqueue(audio(1600), { language: 'en', signal: ac.signal });
    await until(() => manual.calls.length === 1, 2000, 'the job to start');
    ac.abort();
    expect(await code(running)).toBe('AbortError');
    expect(engine.outstanding).toBe(0);
    manual.calls[0]!.resolve('unwanted');
    await until(async () => (await counts()).pending === 0, 2000, 'the job acknowledged');
  });

  it('a job carries only what recognition needs (no token, no address)', async () => {
    const manual = new FakeAsrEngine({ manual: true });
    await worker(manual);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const p = asr.queue.enqueue(audio(1600), { language: 'de', signal: signal() });
    await until(() => manual.calls.length === 1, 2000, 'the job to start');
    const [[, fields]] = (await admin.xrange(keys.jobs, '-', '+')) as Array<[string, string[]]>;
    expect(fields!.filter((_, i) => i % 2 === 0)).toEqual(['id', 'reply', 'lang', 'session', 'conv', 'created', 'deadline', 'pcm16']);
    manual.calls[0]!.resolve('ok');
    expect(await p).toBe('ok');
  });

  it("carries the lane's session id and the segment's conversation id to the worker's engine", async () => {
    const manual = new FakeAsrEngine({ manual: true });
    await worker(manual);
    const { asr, engine } = await service();
    await until(() => engine.slots() === 1, 2000, 'a live worker');
    const lane = asr.queue.openLane({ session: 'sess-7f3a' });
    const p = lane.enqueue(audio(1600), { language: 'en', signal: signal(), conversation: 'conv-20261129-1' });
    await until(() => manual.calls.length === 1, 2000, 'the job to start');
    const [[, fields]] = (await admin.xrange(keys.jobs, '-', '+')) as Array<[string, string[]]>;
    const field = (name: string) => fields![fields!.indexOf(name) + 1];
    expect([field('session'), field('conv')]).toEqual(['sess-7f3a', 'conv-20261129-1']);
    expect([manual.calls[0]!.session, manual.calls[0]!.conversation]).toEqual(['sess-7f3a', 'conv-20261129-1']);
    manual.calls[0]!.resolve('ok');
    expect(await p).toBe('ok');
    lane.close();
  });
});

describe.skipIf(!hasRedisServer() && !inCi)('Redis with a password', () => {
  it('connects with the password from the URL, and is refused without it', async () => {
    const redis = await TestRedis.start({ requirepass: 's3cret-pass' });
    const url = `redis://:s3cret-pass@127.0.0.1:${redis.port}/0`;
    const w = new AsrWorker({ url, engines: [new FakeAsrEngine()], claimMs: CLAIM_MS, maxAttempts: 3, heartbeatMs: 100, log: quiet });
    await w.start();
    const good = new RedisAsrEngine({ url, deadlineMs: 5000, livenessPollMs: 100 });
    const asr = await startAsr(loadConfig({}, [], {}), { engine: good, log: quiet });
    await until(() => good.slots() === 1, 2000, 'a live worker');
    expect(await asr.queue.enqueue(audio(800), { language: 'en', signal: signal() })).toBe('samples=800');
    const bad = new RedisAsrEngine({ url: redis.url, deadlineMs: 5000, livenessPollMs: 100, connectWaitMs: 300 });
    const asr2 = await startAsr(loadConfig({}, [], {}), { engine: bad, log: quiet });
    expect(await code(asr2.queue.enqueue(audio(800), { language: 'en', signal: signal() }))).toMatch(/unavailable|no_workers/);
    await Promise.all([asr.close(), asr2.close(), w.stop()]);
    await redis.stop();
  });
});

describe.skipIf(!hasRedisServer() && !inCi)('Redis over TLS (rediss://)', () => {
  it('verifies the server against QUEUE_TLS_CA and refuses an untrusted one', async () => {
    const redis = await TestRedis.start({ tls: true });
    expect(redis.url).toMatch(/^rediss:/);
    const tlsCa = redis.tlsCert!;
    const w = new AsrWorker({ url: redis.url, tlsCa, engines: [new FakeAsrEngine()], claimMs: CLAIM_MS, maxAttempts: 3, heartbeatMs: 100, log: quiet });
    await w.start();
    const good = new RedisAsrEngine({ url: redis.url, tlsCa, deadlineMs: 5000, livenessPollMs: 100 });
    const asr = await startAsr(loadConfig({}, [], {}), { engine: good, log: quiet });
    await until(() => good.slots() === 1, 3000, 'a live worker over TLS');
    expect(await asr.queue.enqueue(audio(800), { language: 'en', signal: signal() })).toBe('samples=800');
    const untrusted = new RedisAsrEngine({ url: redis.url, deadlineMs: 5000, livenessPollMs: 100, connectWaitMs: 500 });
    const asr2 = await startAsr(loadConfig({}, [], {}), { engine: untrusted, log: quiet });
    expect(await code(asr2.queue.enqueue(audio(800), { language: 'en', signal: signal() }))).toBe('unavailable');
    await Promise.all([asr.close(), asr2.close(), w.stop()]);
    await redis.stop();
  });
});

describe('the queue in front of a remote engine', () => {
  it('runs as many jobs at once as the engine has slots, and more as soon as slots grow', async () => {
    class Slotted extends FakeAsrEngine {
      n = 2;
      private listener: () => void = () => undefined;
      slots() {
        return this.n;
      }
      onSlotsChange(l: () => void) {
        this.listener = l;
      }
      grow(n: number) {
        this.n = n;
        this.listener();
      }
    }
    const engine = new Slotted({ manual: true });
    const queue = new AsrQueue(engine, { maxQueued: 10, filter: (r) => r.text });
    const results = Array.from({ length: 5 }, (_, i) => queue.enqueue(audio(100 + i), { language: 'en' }));
    expect(engine.active).toBe(2);
    expect(queue.pending).toBe(3);
    engine.grow(4);
    expect(engine.active).toBe(4);
    engine.calls[0]!.resolve('a');
    expect(await results[0]).toBe('a');
    expect(engine.active).toBe(4);
    for (const c of engine.calls.slice(1)) c.resolve('b');
    expect(await Promise.all(results.slice(1))).toEqual(['b', 'b', 'b', 'b']);
    expect(engine.maxActive).toBe(4);
    await queue.close();
  });
});

describe('QUEUE_URL selection', () => {
  it('validates the settings', () => {
    expect(() => loadConfig({ QUEUE_URL: 'http://localhost:6379' })).toThrow(/QUEUE_URL/);
    expect(() => loadConfig({ JOB_CLAIM_MS: '10' })).toThrow(/JOB_CLAIM_MS/);
    expect(() => loadConfig({ WORKER_CONCURRENCY: '0' })).toThrow(/WORKER_CONCURRENCY/);
    const c = loadConfig({ QUEUE_URL: 'rediss://:pw@redis.example:6380/2' });
    expect(c).toMatchObject({ QUEUE_URL: 'rediss://:pw@redis.example:6380/2', WORKER_CONCURRENCY: 1, JOB_MAX_ATTEMPTS: 3 });
    expect(loadConfig({}).QUEUE_URL).toBe('');
  });

  it('ASR_MODEL=none stays diarization-only with a queue', () => {
    expect(createRemoteAsrEngine(loadConfig({}, [], { ASR_MODEL: 'none', QUEUE_URL: 'redis://127.0.0.1:1/0' }), quiet)).toBeNull();
    expect(createRemoteAsrEngine(loadConfig({}, [], { QUEUE_URL: 'redis://127.0.0.1:1/0' }), quiet)).toBeInstanceOf(RedisAsrEngine);
  });
});
