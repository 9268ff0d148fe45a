/**
 * `npx tsx scripts/research/analyse-delay.ts [--sets=dev,field] [--dir=PATH] [--chunk-ms=100] [--offsets-ms=0,8,16,24] [--oracle=speakers|parts] [--verbose=true]`
 *
 * Tuning aid for the latency of the live path, without waiting for real time: every
 * conversation of each set goes through the server's own pipeline (speech front, change watch,
 * room: enroll both voices, assign each closed segment) chunk by chunk, in this process, and
 * each part's *algorithmic delay* is taken: audio received when the part came out minus the
 * part's end, in seconds. That is the part of `segment` latency the settings decide; bench:latency
 * adds the processing time at real-time pace (a few ms a part here). It also scores DER like
 * bench:diarization (collar 0.25 s), so one run shows what a change to the watch costs.
 * Settings come from the environment like the server's (e.g. `CHANGE_WATCH_CONFIRM=2`).
 * Every conversation runs once per offset (`--offsets-ms`, default 0,8,16,24; see
 * scripts/bench/lib/offsets.ts): field DER moves by up to 4 points per conversation between such runs,
 * so a change is judged on the mean over offsets (each kind's row pools every run).
 * `--dir` adds the conversations of a folder made by `../shared/tools/make_conversations.py` or
 * `make_field.py` (its index.json and one folder per conversation), e.g. pairs of speakers the
 * dev sets do not have, so a change can be checked beyond the files it was tuned on.
 * `--oracle=speakers` scores the DER with every part given the reference speaker it overlaps
 * most (src/eval/oracle.ts): what perfect attribution of these parts would leave, the speech
 * front's share; `--oracle=parts` also leaves out the parts with no reference speech at all.
 * Analysis only: the numbers that count come from bench:latency and bench:diarization.
 */
import { join } from 'node:path';
import { floatToPcm16 } from '../../src/audio/wav.js';
import { loadConfig } from '../../src/config.js';
import { computeDer, type LabelledTurn } from '../../src/eval/der.js';
import { oracleLabels, type OracleMode } from '../../src/eval/oracle.js';
import { meanScores, type ConversationScore } from '../../src/eval/report.js';
import { createLogger } from '../../src/log.js';
import { buildPipeline } from '../../src/session/pipeline.js';
import type { AssignedPart, ClosedSegment } from '../../src/session/ports.js';
import { parseFlags } from '../bench/lib/args.js';
import { parseOffsetsMs, withLeadIn } from '../bench/lib/offsets.js';
import { loadSetConversation, setNames, type ConversationSet } from '../bench/lib/corpus-sets.js';
import { loadConversationDir, namesInDir, referenceTurns, type Conversation } from '../../src/testing/corpus.js';
import { fmt, percentile } from '../bench/lib/realtime.js';

const args = parseFlags();
const SETS: Record<string, ConversationSet> = { dev: 'conversations', field: 'field' };
const sets = (args.sets ?? 'dev,field').split(',').filter((x) => x in SETS);
/**
 * The conversations to run, by set: the shared corpus's, and those in `--dir` if given (their
 * rows labelled with the folder). A conversation's kind is `field` by its name (`A-B-field`, as
 * the shared tools name them), else `hard` or `easy` by its meta.json.
 */
interface Source { kindPrefix: string; names: string[]; load(name: string): Conversation }
const sources: Source[] = sets.map((set) => ({ kindPrefix: '', names: setNames(SETS[set]!), load: (n) => loadSetConversation(SETS[set]!, n) }));
if (args.dir) {
  const dir = args.dir;
  sources.push({ kindPrefix: `${dir} `, names: namesInDir(dir), load: (n) => loadConversationDir(join(dir, n), n) });
}
const chunkSamples = Math.round((Number(args['chunk-ms'] ?? 100) * 16_000) / 1000);
const verbose = args.verbose === 'true';
const offsets = parseOffsetsMs(args['offsets-ms'] ?? '0,8,16,24');
const oracle = args.oracle as OracleMode | undefined;
if (oracle !== undefined && oracle !== 'speakers' && oracle !== 'parts') throw new Error('--oracle must be speakers or parts');

const config = loadConfig(process.env, [], { ASR_MODEL: 'none', LOG_LEVEL: 'warn' });
const pipeline = await buildPipeline(config, {}, createLogger('warn'));
const rows: string[] = [];
try {
  for (const source of sources) {
    const byKind = new Map<string, { delays: number[]; scores: ConversationScore[]; nullS: number }>();
    for (const name of source.names) {
      const conv = source.load(name);
      const kind = source.kindPrefix + (name.endsWith('-field') ? 'field' : conv.hard ? 'hard' : 'easy');
      const ref = referenceTurns(conv);
      const group = byKind.get(kind) ?? { delays: [], scores: [], nullS: 0 };
      byKind.set(kind, group);
      for (const offset of offsets) {
        const audio = withLeadIn(conv.audio, offset);
        const room = pipeline.createRoom();
        for (const [id, enroll] of [[conv.speakerId.A!, conv.enrollA], [conv.speakerId.B!, conv.enrollB]] as const) {
          const r = await room.enroll(id, enroll);
          if (!r.ok) throw new Error(`${name}: enrollment of speaker ${id} failed (${r.reason})`);
        }
        const front = pipeline.createFront(room);
        const hyp: LabelledTurn[] = [];
        const take = async (segments: ClosedSegment[], received: number | null) => {
          for (const seg of segments) {
            const parts: AssignedPart[] = await room.assign(seg);
            for (const p of parts) {
              hyp.push({ speaker: p.speakerId, startS: (p.startSample - offset) / 16_000, endS: (p.endSample - offset) / 16_000 });
              if (p.speakerId === null) group.nullS += (p.endSample - p.startSample) / 16_000;
              if (received === null) continue; // closed by the end of the stream: its delay is the stop's
              const delay = (received - p.endSample) / 16_000;
              group.delays.push(delay);
              if (verbose) console.log(`  ${name} ${((p.startSample - offset) / 16_000).toFixed(2)}–${((p.endSample - offset) / 16_000).toFixed(2)} s speaker ${p.speakerId}: ${delay.toFixed(3)} s`);
            }
          }
        };
        for (let at = 0; at < audio.length; at += chunkSamples) {
          const end = Math.min(audio.length, at + chunkSamples);
          await take(await front.push(floatToPcm16(audio.subarray(at, end))), end);
        }
        await take(await front.flush(), null);
        const result = computeDer(ref, oracle ? oracleLabels(hyp, ref, oracle) : hyp, { durationS: conv.audio.length / 16_000 });
        group.scores.push({ name, hard: conv.hard, result, segments: hyp.length });
        if (verbose) console.log(`${name} (offset ${(offset / 16).toFixed(0)} ms): DER ${(100 * result.der).toFixed(1)} %, confusion ${(100 * result.confusionS / result.scoredS).toFixed(1)} %, ${hyp.length} parts`);
      }
    }
    for (const [kind, { delays, scores, nullS }] of byKind) {
      const m = meanScores(scores);
      const slow = delays.filter((d) => d > 0.8).length;
      rows.push(`| ${kind} | ${delays.length} | ${fmt(percentile(delays, 50))} | ${fmt(percentile(delays, 95))} | ${fmt(Math.max(...delays))} | ${slow} | ${(100 * m.der).toFixed(1)} % | ${(100 * m.missed).toFixed(1)} % | ${(100 * m.falseAlarm).toFixed(1)} % | ${(100 * m.confusion).toFixed(1)} % | ${(nullS / offsets.length).toFixed(1)} |`);
    }
  }
} finally {
  await pipeline.close();
}
console.log('');
console.log('| kind | parts | delay p50 s | p95 s | max s | > 0.8 s | DER | missed | false alarm | confusion | left null s (per run) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
