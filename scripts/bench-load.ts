/**
 * `npm run bench:load [-- --seconds=40 --max=96]`
 *
 * Runs N concurrent simulated clients (each enrolls two voices and streams a shared
 * conversation at real-time pace, ASR off) for N = 1, 2, 4, 6, 8, … and prints the largest N
 * whose segment latency p95 stays ≤ 1 s, with CPU and peak RSS of the server process.
 */
import { loadConfig } from '../src/config.js';
import { parseFlags } from './lib/args.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { sharedConversationNames as conversationNames, loadSharedConversation as loadConversation } from '../src/testing/corpus.js';
import { fmt, measureProcess, percentile, runRealtimeClient } from './lib/realtime.js';

const args = parseFlags();
const seconds = Number(args.seconds ?? 40);
const maxN = Number(args.max ?? 96);

const config = loadConfig(process.env, [], {
  HOST: '127.0.0.1',
  PORT: 0,
  LOG_LEVEL: 'warn',
  ASR_MODEL: 'none',
  MAX_SESSIONS: maxN,
  TLS_CERT: 'build/bench-certs/fullchain.pem',
  TLS_KEY: 'build/bench-certs/privkey.pem',
});
const server = await startServer(config, { log: createLogger('warn') });
const convs = conversationNames().map(loadConversation);
console.log(`each client streams ${seconds} s of a shared conversation at real-time pace (ASR off); cores: ${(await import('node:os')).cpus().length}`);
console.log('');
console.log('| clients | segments | p50 s | p95 s | max s | CPU % (of one core) | peak RSS MiB | errors |');
console.log('|---|---|---|---|---|---|---|---|');
let best = 0;
try {
  for (const n of [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96].filter((x) => x <= maxN)) {
    const { result, cpuPercent, peakRssMiB } = await measureProcess(() =>
      Promise.all(Array.from({ length: n }, (_, i) => runRealtimeClient(server, convs[i % convs.length]!, seconds))),
    );
    const lat = result.flatMap((r) => r.segmentLatencyS);
    const errors = result.flatMap((r) => r.errors);
    const p95 = percentile(lat, 95);
    console.log(`| ${n} | ${lat.length} | ${fmt(percentile(lat, 50))} | ${fmt(p95)} | ${fmt(Math.max(...lat))} | ${cpuPercent.toFixed(0)} | ${peakRssMiB.toFixed(0)} | ${errors.length ? errors.join(',') : 'none'} |`);
    if (p95 <= 1 && errors.length === 0) best = n;
    else break;
  }
} finally {
  await server.close();
}
console.log('');
console.log(`largest N with segment latency p95 ≤ 1 s: ${best}`);
