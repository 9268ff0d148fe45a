/**
 * `npm run bench:latency [-- --asr=off|on] [--pair=1688-1998] [--kinds=easy,hard,field] [--seconds=N] [--verbose]`
 *
 * Starts the real server in this process and, for each kind of conversation (the pair's clean
 * `easy` and `hard` conversations and its `field` one: room, babble, codec), streams it at
 * real-time pace over WSS, one after the other, and prints p50/p95/max `segment` latency
 * (receive time minus the moment the audio at the segment's `end` was sent) and the process
 * CPU per stream. With `--asr=on` it also reports `transcription` latency, using ASR_MODEL_PATH
 * or a random-weight model of the real base architecture generated into build/bench-models
 * (garbage text at true speed).
 */
import { loadConfig } from '../src/config.js';
import { parseFlags } from './lib/args.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { fromRoot } from '../src/paths.js';
import { ensureRandomWhisperModel } from '../src/testing/whisper-model.js';
import { loadSetConversation } from './lib/corpus-sets.js';
import { fmt, measureProcess, percentile, runRealtimeClient } from './lib/realtime.js';

const TARGET_P95_S = 0.8;
const args = parseFlags();
const asrOn = (args.asr ?? 'off') === 'on';
const pair = args.pair ?? '1688-1998';
const kinds = (args.kinds ?? 'easy,hard,field').split(',');
const seconds = args.seconds ? Number(args.seconds) : undefined;

const overrides: Record<string, unknown> = { HOST: '127.0.0.1', PORT: 0, LOG_LEVEL: 'warn', TLS_CERT: 'build/bench-certs/fullchain.pem', TLS_KEY: 'build/bench-certs/privkey.pem' };
if (asrOn) overrides.ASR_MODEL_PATH = process.env.ASR_MODEL_PATH || ensureRandomWhisperModel(args.model ?? 'base', fromRoot('build/bench-models'));
else overrides.ASR_MODEL = 'none';
const config = loadConfig(process.env, [], overrides);
const server = await startServer(config, { log: createLogger('warn') });
const rows: string[] = [];
const notes: string[] = [];
let pass = true;
try {
  for (const kind of kinds) {
    const name = `${pair}-${kind}`;
    const conv = loadSetConversation(kind === 'field' ? 'field' : 'conversations', name);
    console.log(`streaming ${name} (${(seconds ?? conv.audio.length / 16_000).toFixed(1)} s) at real-time pace, ASR ${asrOn ? 'on' : 'off'}…`);
    const { result, cpuPercent, peakRssMiB } = await measureProcess(() => runRealtimeClient(server, conv, seconds, { verbose: args.verbose === 'true' }));
    const s = result.segmentLatencyS;
    const t = result.transcriptionLatencyS;
    const p95 = percentile(s, 95);
    pass &&= p95 <= TARGET_P95_S;
    rows.push(`| ${kind} | segment | ${s.length} | ${fmt(percentile(s, 50))} | ${fmt(p95)} | ${fmt(Math.max(...s))} |`);
    if (asrOn) rows.push(`| ${kind} | transcription | ${t.length} | ${fmt(percentile(t, 50))} | ${fmt(percentile(t, 95))} | ${fmt(Math.max(...t))} |`);
    notes.push(`${kind}: segments=${result.segments}; errors=${result.errors.length ? result.errors.join(',') : 'none'}; ` +
      `server process CPU ${cpuPercent.toFixed(1)} % of one core (client included${asrOn ? '; whisper-server child excluded' : ''}); peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  }
} finally {
  await server.close();
}
console.log('');
console.log(`| kind | latency | n | p50 s | p95 s | max s |`);
console.log(`|---|---|---|---|---|---|`);
for (const r of rows) console.log(r);
console.log('');
console.log(`models: asr=${asrOn ? config.ASR_MODEL_PATH : 'off'}`);
for (const n of notes) console.log(n);
console.log(`target segment p95 ≤ ${TARGET_P95_S} s on every kind: ${pass ? 'PASS' : 'FAIL'}`);
