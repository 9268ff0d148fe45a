/**
 * `npx tsx scripts/research/analyse-frame-models.ts [--components=8] [--sets=conversations,field]`
 *
 * How well short windows name their speaker, two ways: the voices' frame models (the mean
 * log-likelihood ratio of the window's frames, src/speaker/gmm.ts) and the speaker encoder's
 * window score (the room's `scoreWindow`, what the embedding watch uses). Both voices are
 * registered from each conversation's registration clips; every single-speaker stretch of the
 * reference (no other turn overlapping) is cut into windows of 0.3, 0.5 and 1 s, and a window
 * counts as right when the better-scored voice is the one speaking. Analysis only.
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { buildPipeline } from '../../src/session/pipeline.js';
import { FrontEnd } from '../../src/speaker/features.js';
import { fitVoiceFrames, meanFrameLlr, type DiagGmm } from '../../src/speaker/gmm.js';
import { parseFlags } from '../bench/lib/args.js';
import { loadSetConversation, setNames, type ConversationSet } from '../bench/lib/corpus-sets.js';

const args = parseFlags();
const components = Number(args.components ?? 8);
const sets = (args.sets ?? 'conversations,field').split(',') as ConversationSet[];
const WINDOWS_MS = [300, 500, 1000];
const RATE = 16_000;

// In-process: this script calls room.scoreWindow, which a worker's room proxy does not offer.
const config = loadConfig(process.env, [], { ASR_MODEL: 'none', LOG_LEVEL: 'warn', FRONT_THREADS: 0 });
const pipeline = await buildPipeline(config, {}, createLogger('warn'));
const fe = new FrontEnd();
console.log(`| set | window | frame models right | embedding right | windows |`);
console.log(`|---|---|---|---|---|`);
try {
  for (const set of sets) {
    const tally = new Map<number, { frames: number; embedding: number; n: number }>(WINDOWS_MS.map((w) => [w, { frames: 0, embedding: 0, n: 0 }]));
    for (const name of setNames(set)) {
      const conv = loadSetConversation(set, name);
      const room = pipeline.createRoom();
      const voices: DiagGmm[] = [];
      for (const [label, audio] of [['A', conv.enrollA], ['B', conv.enrollB]] as const) {
        const id = conv.speakerId[label]!;
        await room.enroll(id, audio);
        voices[id] = fitVoiceFrames(fe, audio, { components })!;
      }
      for (const ms of WINDOWS_MS) {
        const t = tally.get(ms)!;
        const len = (ms * RATE) / 1000;
        for (const turn of conv.reference) {
          const speaker = conv.speakerId[turn.speaker]!;
          for (let at = Math.ceil(turn.startS * RATE); at + len <= turn.endS * RATE; at += len) {
            const overlapped = conv.reference.some((u) => u !== turn && u.startS * RATE < at + len && u.endS * RATE > at);
            if (overlapped) continue;
            const w = conv.audio.subarray(at, at + len);
            const r = meanFrameLlr(fe, [voices[0]!, voices[1]!], w);
            const e = await room.scoreWindow!(w);
            t.n++;
            if (r && (r.llr > 0 ? 1 : 0) === speaker) t.frames++;
            if (e && (e[1] > e[0] ? 1 : 0) === speaker) t.embedding++;
          }
        }
      }
    }
    for (const [ms, t] of tally) {
      console.log(`| ${set} | ${ms} ms | ${((100 * t.frames) / t.n).toFixed(1)} % | ${((100 * t.embedding) / t.n).toFixed(1)} % | ${t.n} |`);
    }
  }
} finally {
  await pipeline.close();
}
