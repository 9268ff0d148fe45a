/**
 * `npm run bench:scale [-- --jobs=24 --segment-s=3 --threads=1 --workers=1,2,4 --overhead-jobs=400]`
 *
 * Recognition through Redis Streams on this machine, against a throwaway `redis-server` on a
 * free loopback port:
 *
 * 1. Queue overhead per job: the same 2 s segment sent one at a time through the embedded
 *    queue and through Redis (server → stream → worker → result stream → server), both with
 *    an engine that answers at once, so the difference is the Redis round trip.
 * 2. Throughput: a fixed set of segments (the first `jobs × segment-s` seconds of a corpus
 *    conversation) through 1, 2 and 4 workers, each running the real whisper.cpp engine with
 *    the random-weight tiny model (`threads` each), and through the embedded engine alone.
 */
import { cpus } from 'node:os';
import { AsrQueue } from '../../src/asr/queue.js';
import { RedisAsrEngine } from '../../src/asr/redis/engine.js';
import { AsrWorker } from '../../src/asr/redis/worker.js';
import { locateWhisperBuild } from '../../src/asr/whisper-build.js';
import { WhisperServerEngine } from '../../src/asr/whisper-server.js';
import type { AsrEngine } from '../../src/asr/types.js';
import { fromRoot } from '../../src/paths.js';
import { loadConversation } from '../../src/testing/corpus.js';
import { FakeAsrEngine } from '../../src/testing/fake-asr.js';
import { TestRedis } from '../../src/testing/redis-server.js';
import { ensureRandomWhisperModel } from '../../src/testing/whisper-model.js';
import { parseFlags } from './lib/args.js';
import { fmt, percentile } from './lib/realtime.js';

const args = parseFlags();
const jobs = Number(args.jobs ?? 24);
const segmentS = Number(args['segment-s'] ?? 3);
const threads = Number(args.threads ?? 1);
const workerCounts = (args.workers ?? '1,2,4').split(',').map(Number);
const overheadJobs = Number(args['overhead-jobs'] ?? 400);
const CLAIM_MS = 10_000;

const build = locateWhisperBuild('build/whisper');
const modelPath = ensureRandomWhisperModel('tiny', fromRoot('build/test-models'));
const conv = loadConversation('1688-1998-easy');
const segments = Array.from({ length: jobs }, (_, i) => conv.audio.slice(i * segmentS * 16_000, (i + 1) * segmentS * 16_000));
if (segments.some((s) => s.length < segmentS * 16_000)) throw new Error(`the conversation is shorter than ${jobs} × ${segmentS} s`);

const whisper = () =>
  new WhisperServerEngine({ serverBin: build.serverBin, modelPath, modelLabel: 'tiny-random', backends: build.backends, device: 'cpu', threads, log: () => undefined });
const until = async (test: () => boolean, what: string) => {
  const end = Date.now() + 30_000;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const redis = await TestRedis.start();
console.log(`redis-server on 127.0.0.1:${redis.port} (no persistence); cores: ${cpus().length}; whisper.cpp tiny (random weights), ${threads} thread(s) per engine`);

/** Remote side: a server engine and `n` workers, each on the engines `makeEngine` gives. */
async function remote(n: number, makeEngine: () => AsrEngine) {
  const engines = Array.from({ length: n }, makeEngine);
  await Promise.all(engines.map((e) => e.load()));
  const workers = engines.map((e) => new AsrWorker({ url: redis.url, engines: [e], claimMs: CLAIM_MS, maxAttempts: 3 }));
  await Promise.all(workers.map((w) => w.start()));
  const engine = new RedisAsrEngine({ url: redis.url, deadlineMs: 120_000, livenessPollMs: 100 });
  await engine.load();
  await until(() => engine.slots() === n, `${n} live workers`);
  const queue = new AsrQueue(engine, { maxQueued: 10_000 });
  return {
    queue,
    close: async () => {
      await queue.close();
      await engine.close();
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all(engines.map((e) => e.close()));
    },
  };
}

// ---- 1. queue overhead: embedded vs Redis, engine answering at once ----------------------------
const probe = conv.audio.slice(0, 2 * 16_000);
async function roundTrips(queue: AsrQueue): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < overheadJobs + 20; i++) {
    const t0 = performance.now();
    await queue.enqueue(probe, { language: 'en' });
    if (i >= 20) ms.push(performance.now() - t0); // the first 20 warm up
  }
  return ms;
}
const embeddedQueue = new AsrQueue(new FakeAsrEngine({ text: '' }), { maxQueued: 10_000 });
const embeddedMs = await roundTrips(embeddedQueue);
await embeddedQueue.close();
const instant = await remote(1, () => new FakeAsrEngine({ text: '' }));
const redisMs = await roundTrips(instant.queue);
await instant.close();

console.log('');
console.log(`### Queue overhead per job (${overheadJobs} sequential 2 s segments, 64 KiB PCM16 each; engine answers at once)`);
console.log('');
console.log('| path | p50 ms | p95 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|');
for (const [name, ms] of [
  ['embedded queue', embeddedMs],
  ['Redis Streams (1 worker)', redisMs],
] as const) {
  console.log(`| ${name} | ${fmt(percentile(ms, 50))} | ${fmt(percentile(ms, 95))} | ${fmt(percentile(ms, 99))} | ${fmt(Math.max(...ms))} |`);
}
const overheadP95 = percentile(redisMs, 95) - percentile(embeddedMs, 95);
console.log('');
console.log(`Redis round trip over the embedded queue, p95: ${fmt(overheadP95)} ms (target < 5 ms): ${overheadP95 < 5 ? 'met' : 'NOT met'}`);

// ---- 2. throughput: real whisper.cpp engines -------------------------------------------------
async function throughput(queue: AsrQueue): Promise<{ wallS: number; latencyMs: number[] }> {
  const t0 = performance.now();
  const latencyMs: number[] = [];
  await Promise.all(
    segments.map(async (s) => {
      await queue.enqueue(s, { language: 'en' });
      latencyMs.push(performance.now() - t0);
    }),
  );
  return { wallS: (performance.now() - t0) / 1000, latencyMs };
}

console.log('');
console.log(`### Throughput (${jobs} segments of ${segmentS} s, all queued at once)`);
console.log('');
console.log('| path | workers | wall s | jobs/s | audio s per s | last result s |');
console.log('|---|---|---|---|---|---|');
const row = (name: string, n: number | string, r: { wallS: number; latencyMs: number[] }) =>
  console.log(`| ${name} | ${n} | ${fmt(r.wallS, 2)} | ${fmt(jobs / r.wallS, 2)} | ${fmt((jobs * segmentS) / r.wallS, 1)} | ${fmt(Math.max(...r.latencyMs) / 1000, 2)} |`);

{
  const engine = whisper();
  await engine.load();
  const queue = new AsrQueue(engine, { maxQueued: 10_000 });
  await queue.enqueue(segments[0]!, { language: 'en' }); // warm-up
  row('embedded (no Redis)', '—', await throughput(queue));
  await queue.close();
  await engine.close();
}
for (const n of workerCounts) {
  const r = await remote(n, whisper);
  await Promise.all(Array.from({ length: n }, (_, i) => r.queue.enqueue(segments[i]!, { language: 'en' }))); // warm-up
  row('Redis Streams', n, await throughput(r.queue));
  await r.close();
}
await redis.stop();
