/**
 * `npm run bench:diarization [-- --encoder=auto|builtin|neural]`
 *
 * Runs every conversation in the shared corpus through the real server over WSS (enroll A as
 * speaker 0 and B as speaker 1, stream faster than real time, stop) and prints DER with a
 * 0.25 s collar (missed, false alarm, confusion), attribution accuracy and segment count, with
 * easy/hard means; then the per-segment embedding time of the encoder.
 */
import { loadConfig } from '../src/config.js';
import { parseFlags } from './lib/args.js';
import { computeDer, type LabelledTurn } from '../src/eval/der.js';
import { formatDerTable, meanScores, type ConversationScore } from '../src/eval/report.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { createSpeakerEncoder } from '../src/speaker/index.js';
import { ProtocolClient } from '../src/testing/client.js';
import { sharedConversationNames as conversationNames, loadSharedConversation as loadConversation } from '../src/testing/corpus.js';
import { fmt, percentile } from './lib/realtime.js';

const args = parseFlags();
const overrides: Record<string, unknown> = {
  HOST: '127.0.0.1',
  PORT: 0,
  LOG_LEVEL: 'warn',
  ASR_MODEL: 'none',
  TLS_CERT: 'build/bench-certs/fullchain.pem',
  TLS_KEY: 'build/bench-certs/privkey.pem',
};
if (args.encoder) overrides.SPEAKER_ENCODER = args.encoder;
const config = loadConfig(process.env, [], overrides);
const log = createLogger('warn');
const server = await startServer(config, { log });
const scores: ConversationScore[] = [];
let speakerModel = '';
const partSeconds: number[] = [];
try {
  for (const name of conversationNames()) {
    const conv = loadConversation(name);
    const client = await ProtocolClient.connect(server);
    speakerModel = (client.messages[0] as { models: { speaker: string } }).models.speaker;
    for (const [id, audio] of [[conv.speakerId.A!, conv.enrollA], [conv.speakerId.B!, conv.enrollB]] as const) {
      const r = await client.enroll(id, audio);
      if (r.type !== 'speaker_registration_completed') throw new Error(`${name}: enrollment of speaker ${id} failed`);
    }
    const from = client.messages.length;
    client.send({ type: 'start_transcription' });
    await client.streamAudio(conv.audio, { frameSamples: 3200 });
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 300_000, from);
    const hyp: LabelledTurn[] = [];
    for (const m of client.messages.slice(from)) {
      if (m.type === 'segment') {
        hyp.push({ speaker: m.speaker_id, startS: m.start, endS: m.end });
        partSeconds.push(m.end - m.start);
      }
    }
    const ref: LabelledTurn[] = conv.reference.map((t) => ({ speaker: conv.speakerId[t.speaker]!, startS: t.startS, endS: t.endS }));
    scores.push({ name, hard: conv.hard, result: computeDer(ref, hyp, { durationS: conv.audio.length / 16_000 }), segments: hyp.length });
    await client.close();
  }
} finally {
  await server.close();
}
console.log(`speaker encoder: ${speakerModel}; threshold ${config.SPEAKER_THRESHOLD}; VAD silero; collar 0.25 s, 10 ms grid`);
console.log('');
console.log(formatDerTable(scores));
const easy = meanScores(scores.filter((s) => !s.hard));
const hard = meanScores(scores.filter((s) => s.hard));
console.log('');
console.log(`targets: mean DER easy ≤ 10 % → ${(100 * easy.der).toFixed(1)} % ${easy.der <= 0.1 ? 'PASS' : 'FAIL'}; ` +
  `hard ≤ 15 % → ${(100 * hard.der).toFixed(1)} % ${hard.der <= 0.15 ? 'PASS' : 'FAIL'}; ` +
  `accuracy easy ≥ 95 % → ${(100 * easy.accuracy).toFixed(1)} % ${easy.accuracy >= 0.95 ? 'PASS' : 'FAIL'}`);

// Embedding time per segment, for each encoder that can be loaded here.
const conv = loadConversation(conversationNames()[0]!);
console.log('');
console.log('| encoder | segment length s | embed ms p50 | embed ms p95 |');
console.log('|---|---|---|---|');
for (const kind of ['builtin', 'neural'] as const) {
  let encoder;
  try {
    encoder = await createSpeakerEncoder(loadConfig(process.env, [], { SPEAKER_ENCODER: kind }), { log });
    await encoder.load();
  } catch (err) {
    console.log(`| ${kind} | — | not available: ${(err as Error).message.split('\n')[0]} | |`);
    continue;
  }
  for (const lenS of [percentile(partSeconds, 50), 7]) {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const at = Math.floor(((i * 3.1) % Math.max(1, conv.audio.length / 16_000 - lenS)) * 16_000);
      const t0 = performance.now();
      await encoder.embed(conv.audio.subarray(at, at + Math.round(lenS * 16_000)));
      times.push(performance.now() - t0);
    }
    console.log(`| ${encoder.name} | ${lenS.toFixed(1)} | ${fmt(percentile(times, 50), 1)} | ${fmt(percentile(times, 95), 1)} |`);
  }
  await encoder.close();
}
