/**
 * `npm run bench:latency [-- --asr=off|on] [--conversation=NAME] [--seconds=N]`
 *
 * Starts the real server in this process, streams a shared conversation at real-time pace over
 * WSS and prints p50/p95/max `segment` latency (receive time minus the moment the audio at the
 * segment's `end` was sent) and the process CPU per stream. With `--asr=on` it also reports
 * `transcription` latency, using ASR_MODEL_PATH or a random-weight model of the real base
 * architecture generated into build/bench-models (garbage text at true speed).
 */
import { loadConfig } from '../src/config.js';
import { parseFlags } from './lib/args.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { loadSharedConversation as loadConversation } from '../src/testing/corpus.js';
import { fromRoot } from '../src/paths.js';
import { ensureRandomWhisperModel } from '../src/testing/whisper-model.js';
import { fmt, measureProcess, percentile, runRealtimeClient } from './lib/realtime.js';

const args = parseFlags();
const asrOn = (args.asr ?? 'off') === 'on';
const name = args.conversation ?? '1688-1998-easy';
const seconds = args.seconds ? Number(args.seconds) : undefined;

const overrides: Record<string, unknown> = { HOST: '127.0.0.1', PORT: 0, LOG_LEVEL: 'warn', TLS_CERT: 'build/bench-certs/fullchain.pem', TLS_KEY: 'build/bench-certs/privkey.pem' };
if (asrOn) overrides.ASR_MODEL_PATH = process.env.ASR_MODEL_PATH || ensureRandomWhisperModel(args.model ?? 'base', fromRoot('build/bench-models'));
else overrides.ASR_MODEL = 'none';
const config = loadConfig(process.env, [], overrides);
const server = await startServer(config, { log: createLogger('warn') });
const conv = loadConversation(name);
console.log(`streaming ${name} (${(seconds ?? conv.audio.length / 16_000).toFixed(1)} s) at real-time pace, ASR ${asrOn ? 'on' : 'off'}…`);
try {
  const { result, cpuPercent, peakRssMiB } = await measureProcess(() => runRealtimeClient(server, conv, seconds));
  const s = result.segmentLatencyS;
  const t = result.transcriptionLatencyS;
  console.log('');
  console.log(`| metric | n | p50 s | p95 s | max s |`);
  console.log(`|---|---|---|---|---|`);
  console.log(`| segment latency | ${s.length} | ${fmt(percentile(s, 50))} | ${fmt(percentile(s, 95))} | ${fmt(Math.max(...s))} |`);
  if (asrOn) console.log(`| transcription latency | ${t.length} | ${fmt(percentile(t, 50))} | ${fmt(percentile(t, 95))} | ${fmt(Math.max(...t))} |`);
  console.log('');
  console.log(`models: asr=${asrOn ? config.ASR_MODEL_PATH : 'off'}; segments=${result.segments}; errors=${result.errors.length ? result.errors.join(',') : 'none'}`);
  console.log(`server process CPU while streaming: ${cpuPercent.toFixed(1)} % of one core (client included${asrOn ? '; whisper-server child excluded' : ''}); peak RSS ${peakRssMiB.toFixed(0)} MiB`);
  const p95 = percentile(s, 95);
  console.log(`target segment p95 ≤ 0.9 s: ${p95 <= 0.9 ? 'PASS' : 'FAIL'} (${fmt(p95)} s)`);
} finally {
  await server.close();
}
