/**
 * `node --cpu-prof --cpu-prof-dir=build/profiles --import tsx scripts/research/profile-front.ts [--streams=4] [--seconds=60]`
 *
 * The live front's work for a few sessions, in-process (FRONT_THREADS=0) and as fast as it
 * goes: each stream registers both voices of a shared-corpus conversation, then pushes it in
 * 100 ms chunks (as the browser sends it) and assigns every closed segment, as a session does.
 * Then `npx tsx scripts/research/profile-summary.ts build/profiles/<file>.cpuprofile` prints
 * the functions with the most self time. Used for the profile in docs/benchmarks.md.
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { floatToPcm16 } from '../../src/audio/wav.js';
import { buildPipeline } from '../../src/session/pipeline.js';
import { loadSharedConversation, sharedConversationNames } from '../../src/testing/corpus.js';
import { parseFlags } from '../bench/lib/args.js';

const args = parseFlags();
const streams = Number(args.streams ?? 4);
const seconds = Number(args.seconds ?? 60);
const config = loadConfig(process.env, [], { ASR_MODEL: 'none', LOG_LEVEL: 'warn', FRONT_THREADS: 0 });
const pipeline = await buildPipeline(config, {}, createLogger('warn'));
const names = sharedConversationNames();
const t0 = performance.now();
let audioS = 0;
await Promise.all(
  Array.from({ length: streams }, async (_, i) => {
    const conv = loadSharedConversation(names[i % names.length]!);
    const room = pipeline.createRoom();
    await room.enroll(0, conv.enrollA);
    await room.enroll(1, conv.enrollB);
    const front = pipeline.createFront(room);
    const audio = conv.audio.subarray(0, Math.min(conv.audio.length, seconds * 16_000));
    for (let at = 0; at < audio.length; at += 1600) {
      for (const seg of await front.push(floatToPcm16(audio.subarray(at, at + 1600)))) await room.assign(seg);
    }
    for (const seg of await front.flush()) await room.assign(seg);
    audioS += audio.length / 16_000;
  }),
);
const wallS = (performance.now() - t0) / 1000;
console.log(`${streams} streams, ${audioS.toFixed(0)} s of audio in ${wallS.toFixed(1)} s (${(audioS / wallS).toFixed(1)}× real time, registration included)`);
await pipeline.close();
