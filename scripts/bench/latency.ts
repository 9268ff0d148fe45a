/**
 * `npm run bench:latency [-- --asr=off|on] [--pairs=all|1688-1998,…] [--kinds=easy,hard,field] [--seconds=N] [--verbose]`
 *
 * Starts the real server in this process and, for each kind of conversation (clean `easy` and
 * `hard`, and `field`: room, babble, codec), streams that kind's conversation of every dev pair
 * at real-time pace over WSS, the pairs at the same time (one session each; the kinds one after
 * the other), and prints p50/p95/max `segment` latency (receive time minus the moment the audio
 * at the segment's `end` was sent) over all of the kind's segments, then per pair, and the
 * process CPU per kind. One pair alone (`--pairs=1688-1998`, or the older `--pair=`) gives ~30
 * segments a kind, so its p95 is its second-slowest segment; the four pairs give ~130. With `--asr=on` it also reports `transcription` latency, using ASR_MODEL_PATH
 * or a random-weight model of the real base architecture generated into build/bench-models
 * (garbage text at true speed). With `--partials` it measures interim text instead (first-partial
 * latency, transcription p95 with partials on vs off, engine busy share; see
 * scripts/bench/lib/partials-bench.ts for its options).
 */
import { loadConfig } from '../../src/config.js';
import { parseFlags } from './lib/args.js';
import { createLogger } from '../../src/log.js';
import { startServer } from '../../src/server.js';
import { fromRoot } from '../../src/paths.js';
import { ensureRandomWhisperModel } from '../../src/testing/whisper-model.js';
import { loadSetConversation, setNames } from './lib/corpus-sets.js';
import { fmt, measureProcess, percentile, runRealtimeClient } from './lib/realtime.js';

const TARGET_P95_S = 0.8;
const args = parseFlags();
if (args.partials !== undefined) {
  // `--partials`: interim text against final text (scripts/bench/lib/partials-bench.ts), then exit.
  const { runPartialsBench } = await import('./lib/partials-bench.js');
  await runPartialsBench(args);
  process.exit(0);
}
const asrOn = (args.asr ?? 'off') === 'on';
const allPairs = setNames('field').map((n) => n.replace(/-field$/, ''));
const pairsArg = args.pairs ?? args.pair ?? 'all';
const pairs = pairsArg === 'all' ? allPairs : pairsArg.split(',');
const kinds = (args.kinds ?? 'easy,hard,field').split(',');
const seconds = args.seconds ? Number(args.seconds) : undefined;

const overrides: Record<string, unknown> = { MAX_SESSIONS: Math.max(4, pairs.length), HOST: '127.0.0.1', PORT: 0, LOG_LEVEL: 'warn', TLS_CERT: 'build/bench-certs/fullchain.pem', TLS_KEY: 'build/bench-certs/privkey.pem' };
if (asrOn) overrides.ASR_MODEL_PATH = process.env.ASR_MODEL_PATH || ensureRandomWhisperModel(args.model ?? 'base', fromRoot('build/bench-models'));
else overrides.ASR_MODEL = 'none';
const config = loadConfig(process.env, [], overrides);
const server = await startServer(config, { log: createLogger('warn') });
const rows: string[] = [];
const notes: string[] = [];
let pass = true;
const pairRows: string[] = [];
try {
  for (const kind of kinds) {
    const convs = pairs.map((pair) => loadSetConversation(kind === 'field' ? 'field' : 'conversations', `${pair}-${kind}`));
    const longestS = Math.max(...convs.map((c) => seconds ?? c.audio.length / 16_000));
    console.log(`streaming ${convs.map((c) => c.name).join(', ')} at once (${longestS.toFixed(1)} s) at real-time pace, ASR ${asrOn ? 'on' : 'off'}…`);
    const { result: results, cpuPercent, peakRssMiB } = await measureProcess(() => Promise.all(convs.map((conv) => runRealtimeClient(server, conv, seconds, { verbose: args.verbose === 'true' }))));
    const s = results.flatMap((r) => r.segmentLatencyS);
    const t = results.flatMap((r) => r.transcriptionLatencyS);
    const p95 = percentile(s, 95);
    pass &&= p95 <= TARGET_P95_S;
    rows.push(`| ${kind} | segment | ${s.length} | ${fmt(percentile(s, 50))} | ${fmt(p95)} | ${fmt(Math.max(...s))} |`);
    if (asrOn) rows.push(`| ${kind} | transcription | ${t.length} | ${fmt(percentile(t, 50))} | ${fmt(percentile(t, 95))} | ${fmt(Math.max(...t))} |`);
    results.forEach((r, i) => {
      const x = r.segmentLatencyS;
      pairRows.push(`| ${convs[i]!.name} | ${x.length} | ${fmt(percentile(x, 50))} | ${fmt(percentile(x, 95))} | ${fmt(Math.max(...x))} |`);
    });
    const errors = results.flatMap((r) => r.errors);
    notes.push(`${kind}: ${convs.length} streams, segments=${results.reduce((n, r) => n + r.segments, 0)}; errors=${errors.length ? errors.join(',') : 'none'}; ` +
      `server process CPU ${cpuPercent.toFixed(1)} % of one core (clients included${asrOn ? '; whisper-server child excluded' : ''}); peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  }
} finally {
  await server.close();
}
console.log('');
console.log(`| kind | latency | n | p50 s | p95 s | max s |`);
console.log(`|---|---|---|---|---|---|`);
for (const r of rows) console.log(r);
console.log('');
console.log(`| conversation | n | segment p50 s | p95 s | max s |`);
console.log(`|---|---|---|---|---|`);
for (const r of pairRows) console.log(r);
console.log('');
console.log(`models: asr=${asrOn ? config.ASR_MODEL_PATH : 'off'}`);
for (const n of notes) console.log(n);
console.log(`target segment p95 ≤ ${TARGET_P95_S} s on every kind (all its segments): ${pass ? 'PASS' : 'FAIL'}`);
