/**
 * `npm run bench:load [-- --seconds=40 --max=96]`
 *
 * Runs N concurrent simulated clients (each enrolls two voices and streams a shared
 * conversation at real-time pace, ASR off) for N = 1, 2, 4, 8, 16, 24, … 160 and prints the
 * largest N whose segment latency p95 stays ≤ 1 s, with the server process's CPU (all threads,
 * front workers included), CPU per stream, the main thread's event-loop delay p99 and peak RSS.
 * The clients run in a child process (lib/load-clients.ts), so those numbers are the server's.
 * `--threads=N` sets FRONT_THREADS (default: the setting, one per core); `--max=N` the last step;
 * `--steps=1,16,64` runs only those N (every one, whatever its latency).
 *
 * `--with-asr` adds 2 sessions running real recognition (ASR_MODEL_PATH or a random-weight
 * tiny model) beside the N front-only streams and reports their transcription p95: the front
 * must not starve the engine.
 *
 * `npm run bench:load -- --asr=on [--seconds=60 --speed=8 --model=tiny]` measures fairness of
 * speech recognition instead: two sessions stream at real time, first alone, then while a third
 * session replays a file at 8×; it prints the real-time sessions' `transcription` latency p95
 * in both runs and their ratio (target ≤ 1.5). The model is ASR_MODEL_PATH or a random-weight
 * model of the real architecture (garbage text at true speed), generated into build/bench-models.
 * The comparison only means something when recognition keeps up with the two real-time
 * sessions alone; when it does not (a slow or busy machine: p95 alone above `--keepup-s`,
 * default 10 s), the verdict is INCONCLUSIVE.
 *
 * `--asr=fake --job-ms=400` runs the same with a fake engine that takes a fixed time per job
 * and no CPU: the queue's scheduling alone, free of CPU contention.
 */
import { loadConfig } from '../../src/config.js';
import { parseFlags } from './lib/args.js';
import { createLogger } from '../../src/log.js';
import { fromRoot } from '../../src/paths.js';
import { startServer } from '../../src/server.js';
import { ProtocolClient } from '../../src/testing/client.js';
import { FakeAsrEngine } from '../../src/testing/fake-asr.js';
import { sharedConversationNames as conversationNames, loadSharedConversation as loadConversation, type Conversation } from '../../src/testing/corpus.js';
import { ensureRandomWhisperModel } from '../../src/testing/whisper-model.js';
import { fmt, measureProcess, percentile, runRealtimeClient, type RealtimeResult } from './lib/realtime.js';
import { spawn } from 'node:child_process';
import { createAsrEngine } from '../../src/asr/index.js';
import type { AsrEngine, AsrJobOptions } from '../../src/asr/types.js';
import { frontThreads } from '../../src/front-pool/pool.js';

const args = parseFlags();
const seconds = Number(args.seconds ?? (args.asr === 'on' || args.asr === 'fake' ? 60 : 40));
const maxN = Number(args.max ?? 96);
/** Explicit steps (`--steps=1,16,64`) run to the end; the default ladder stops at the first miss. */
const explicitSteps = args.steps ? args.steps.split(',').map(Number).filter((x) => Number.isInteger(x) && x > 0) : null;
const steps = explicitSteps ?? [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160].filter((x) => x <= maxN);
if (args.asr === 'on' || args.asr === 'fake') {
  await benchFairness();
  process.exit(0);
}

await benchFront();
process.exit(0);

/** Clients streaming at real time from a child process (lib/load-clients.ts); resolves with each group's results. */
function runClientsElsewhere(server: { url: string; token: string }, groups: Array<{ n: number; language: string; offset: number }>): Promise<RealtimeResult[][]> {
  return new Promise((resolve, reject) => {
    const child = spawn(fromRoot('node_modules/.bin/tsx'), [fromRoot('scripts/bench/lib/load-clients.ts'), JSON.stringify({ url: server.url, token: server.token, seconds, groups })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`the clients' process exited with status ${code}`);
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as RealtimeResult[][]);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/**
 * The front's capacity: N front-only streams (ASR off, or with `--with-asr`, beside 2 sessions
 * running real recognition whose transcription p95 is reported).
 */
async function benchFront(): Promise<void> {
  const withAsr = args['with-asr'] === 'true' || args['with-asr'] === 'on';
  const modelPath = withAsr ? process.env.ASR_MODEL_PATH || ensureRandomWhisperModel(args.model ?? 'tiny', fromRoot('build/bench-models')) : '';
  const config = loadConfig(process.env, [], {
    HOST: '127.0.0.1',
    PORT: 0,
    LOG_LEVEL: 'warn',
    ...(withAsr ? { ASR_MODEL_PATH: modelPath } : { ASR_MODEL: 'none' }),
    ...(args.threads !== undefined ? { FRONT_THREADS: Number(args.threads) } : {}),
    MAX_SESSIONS: Math.max(...steps) + (withAsr ? 2 : 0),
    TLS_CERT: 'build/bench-certs/fullchain.pem',
    TLS_KEY: 'build/bench-certs/privkey.pem',
  });
  // With --with-asr, only the two 'en' sessions are recognised: the front-only streams ask for
  // 'de', which this wrapper answers with no text at once (their queue turns stay real).
  const engine = withAsr ? createAsrEngine(config) : null;
  const gated = engine
    ? (new Proxy(engine, {
        get(target, key) {
          if (key === 'transcribe') return (samples: Float32Array, o: AsrJobOptions) => (o.language === 'en' ? target.transcribe(samples, o) : Promise.resolve({ text: '', segments: [] }));
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as AsrEngine)
    : undefined;
  const server = await startServer(config, { log: createLogger('warn'), ...(gated ? { asr: gated } : {}) });
  const os = await import('node:os');
  const threads = frontThreads(config.FRONT_THREADS);
  console.log(
    `each client streams ${seconds} s of a conversation at real-time pace (ASR ${withAsr ? `on for 2 more sessions: ${modelPath}` : 'off'}), from a separate process; ` +
      `front threads: ${threads === 0 ? '0 (in-process)' : threads}; cores: ${os.cpus().length}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`,
  );
  console.log('');
  console.log(`| clients | segments | p50 s | p95 s | max s | CPU % (of one core) | CPU % per stream | loop delay p99 ms | peak RSS MiB | errors |${withAsr ? ' ASR sessions: transcriptions | p95 s |' : ''}`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|${withAsr ? '---|---|' : ''}`);
  let best = 0;
  try {
    for (const n of steps) {
      const groups = [{ n, language: 'de', offset: 0 }, ...(withAsr ? [{ n: 2, language: 'en', offset: 1 }] : [])];
      const { result, cpuPercent, peakRssMiB, loopDelayP99Ms } = await measureProcess(() => runClientsElsewhere(server, groups));
      const front = result[0]!;
      const lat = front.flatMap((r) => r.segmentLatencyS);
      const errors = result.flat().flatMap((r) => r.errors);
      const p95 = percentile(lat, 95);
      const streams = n + (withAsr ? 2 : 0);
      const asrCols = withAsr ? ` ${result[1]!.flatMap((r) => r.transcriptionLatencyS).length} | ${fmt(percentile(result[1]!.flatMap((r) => r.transcriptionLatencyS), 95))} |` : '';
      console.log(
        `| ${n} | ${lat.length} | ${fmt(percentile(lat, 50))} | ${fmt(p95)} | ${fmt(Math.max(...lat))} | ${cpuPercent.toFixed(0)} | ${(cpuPercent / streams).toFixed(2)} | ${loopDelayP99Ms.toFixed(0)} | ${peakRssMiB.toFixed(0)} | ${errors.length ? [...new Set(errors)].join(',') : 'none'} |${asrCols}`,
      );
      if (p95 <= 1 && errors.length === 0) best = n;
      else if (!explicitSteps) break;
    }
  } finally {
    await server.close();
  }
  console.log('');
  console.log(`largest N with segment latency p95 ≤ 1 s: ${best}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`);
}

/**
 * A session replaying `conv` at `speed`× until `stop` aborts (it is then closed, whatever is
 * still queued); returns how many transcriptions it received.
 */
async function runFastReplay(base: { url: string; token: string }, conv: Conversation, speed: number, stop: AbortSignal): Promise<number> {
  const client = await ProtocolClient.connect(base);
  try {
    for (const [id, audio] of [[0, conv.enrollA], [1, conv.enrollB]] as const) await client.enroll(id, audio);
    client.send({ type: 'start_transcription', language: 'en' });
    const chunkSamples = 16_000 * 10;
    for (let at = 0; !stop.aborted; at = (at + chunkSamples) % conv.audio.length) {
      await client.streamAudio(conv.audio.subarray(at, Math.min(conv.audio.length, at + chunkSamples)), { frameSamples: 1600, realTime: true, speed });
    }
    return client.messages.filter((m) => m.type === 'transcription').length;
  } finally {
    client.ws.terminate();
  }
}

async function benchFairness(): Promise<void> {
  const speed = Number(args.speed ?? 8);
  const keepUpS = Number(args['keepup-s'] ?? 10);
  const fake = args.asr === 'fake';
  const jobMs = Number(args['job-ms'] ?? 400);
  const modelPath = fake ? '' : process.env.ASR_MODEL_PATH || ensureRandomWhisperModel(args.model ?? 'tiny', fromRoot('build/bench-models'));
  const config = loadConfig(process.env, [], {
    HOST: '127.0.0.1',
    PORT: 0,
    LOG_LEVEL: 'warn',
    ...(fake ? {} : { ASR_MODEL_PATH: modelPath }),
    MAX_SESSIONS: 8,
    TLS_CERT: 'build/bench-certs/fullchain.pem',
    TLS_KEY: 'build/bench-certs/privkey.pem',
  });
  const engine = fake ? { asr: new FakeAsrEngine({ delayMs: jobMs, text: 'fake' }) } : {};
  const server = await startServer(config, { log: createLogger('warn'), ...engine });
  const names = conversationNames();
  const live = [loadConversation(names[0]!), loadConversation(names[2]!)];
  const replayed = loadConversation(names[4]!);
  const os = await import('node:os');
  console.log(`fairness of speech recognition: 2 sessions stream ${seconds} s at real time, alone, then while a 3rd session replays a file at ${speed}×`);
  console.log(`engine: ${fake ? `fake, ${jobMs} ms per job, no CPU` : modelPath}; cores: ${os.cpus().length}; load average ${os.loadavg()[0]!.toFixed(1)}; ASR_QUEUE_MAX=${config.ASR_QUEUE_MAX}`);
  console.log('');
  console.log('| run | real-time transcriptions | p50 s | p95 s | max s | replay transcriptions | errors |');
  console.log('|---|---|---|---|---|---|---|');
  const runLive = () => Promise.all(live.map((c) => runRealtimeClient(server, c, seconds)));
  const row = (label: string, results: Awaited<ReturnType<typeof runLive>>, replay: string) => {
    const t = results.flatMap((r) => r.transcriptionLatencyS);
    const errors = results.flatMap((r) => r.errors);
    console.log(`| ${label} | ${t.length} | ${fmt(percentile(t, 50))} | ${fmt(percentile(t, 95))} | ${fmt(Math.max(...t))} | ${replay} | ${errors.length ? errors.join(',') : 'none'} |`);
    return percentile(t, 95);
  };
  try {
    // Warm-up, not measured: the engine's first requests are slower (allocations, caches), and
    // both measured runs should see the same warm engine.
    await runRealtimeClient(server, live[0]!, 8);
    const alone = row('alone', await runLive(), '—');
    const stop = new AbortController();
    const fast = runFastReplay(server, replayed, speed, stop.signal);
    let withReplay: Awaited<ReturnType<typeof runLive>>;
    try {
      withReplay = await runLive();
    } finally {
      stop.abort();
    }
    const shared = row(`with a ${speed}× replay`, withReplay, String(await fast));
    const ratio = shared / alone;
    console.log('');
    const verdict =
      alone > keepUpS
        ? `INCONCLUSIVE: recognition does not keep up with two real-time sessions even alone here (p95 ${fmt(alone)} s > ${keepUpS} s; load average ${os.loadavg()[0]!.toFixed(1)})`
        : ratio <= 1.5
          ? 'PASS'
          : 'FAIL';
    console.log(`real-time sessions' transcription latency p95: alone ${fmt(alone)} s, with a ${speed}× replay ${fmt(shared)} s; ratio ${fmt(ratio, 2)} (target ≤ 1.5: ${verdict})`);
  } finally {
    await server.close();
  }
}
