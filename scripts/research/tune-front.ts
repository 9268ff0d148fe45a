/**
 * `npx tsx scripts/research/tune-front.ts [--variants=FILE.json] [--sets=real-ami,conversations,field] [--per-file=true]`
 *
 * Tuning aid for the speech front: scores many settings quickly. Silero's probability of every
 * frame of every recording is computed once (the model sees every frame in order, as in the
 * live front) and cached under build/tune-cache/; each variant then replays the cached
 * probabilities through the real SpeechFront (gates and segmenter unchanged) and is scored
 * like bench:vad (missed / false alarm, 0.25 s collar, pooled per set). A variant is an object
 * of SpeechFrontOptions overriding the server's defaults, with a "name". Analysis only: the
 * numbers that count come from bench:vad and bench:diarization, which run the model live.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FRAME_SAMPLES } from '../../src/audio/constants.js';
import { loadConfig } from '../../src/config.js';
import { addSpeechScores, falseAlarmRate, missedRate, scoreSpeech, type SpanS, type SpeechScore } from '../../src/eval/speech.js';
import { SpeechFront, speechFrontOptionsFromConfig, type SpeechFrontOptions } from '../../src/front/front.js';
import { SileroVad } from '../../src/vad/silero.js';
import type { VadStream } from '../../src/vad/types.js';
import { parseFlags } from '../bench/lib/args.js';
import { frontSpeechSpans } from '../bench/lib/front.js';
import { loadSetConversation, realAmiRecordings, setNames, type ConversationSet } from '../bench/lib/corpus-sets.js';

const args = parseFlags();
const sets = (args.sets ?? 'real-ami,conversations,field').split(',');
const base = speechFrontOptionsFromConfig(loadConfig(process.env, []));
const variants: Array<SpeechFrontOptions & { name: string }> = args.variants
  ? JSON.parse(readFileSync(args.variants, 'utf8'))
  : [{ name: 'defaults' }];

interface Item { set: string; name: string; audio: Float32Array; reference: SpanS[]; uem: SpanS[] }
const items: Item[] = [];
if (sets.includes('real-ami')) for (const r of realAmiRecordings()) items.push({ set: 'real-ami', ...r });
for (const set of ['conversations', 'field'] as ConversationSet[]) {
  if (!sets.includes(set)) continue;
  for (const name of setNames(set)) {
    const c = loadSetConversation(set, name);
    items.push({ set, name, audio: c.audio, reference: c.reference, uem: [{ startS: 0, endS: c.audio.length / 16_000 }] });
  }
}

const cacheDir = join('build', 'tune-cache');
mkdirSync(cacheDir, { recursive: true });
const vad = new SileroVad();
const probs = new Map<Item, Float32Array>();
let loaded = false;
for (const it of items) {
  const file = join(cacheDir, `${it.set}-${it.name}.f32`);
  if (existsSync(file)) {
    const b = readFileSync(file);
    probs.set(it, new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
    continue;
  }
  if (!loaded) { await vad.load(); loaded = true; }
  const stream = vad.createStream();
  const n = Math.ceil(it.audio.length / FRAME_SAMPLES);
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const frame = new Float32Array(FRAME_SAMPLES);
    frame.set(it.audio.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES));
    p[i] = await stream.process(frame);
  }
  writeFileSync(file, Buffer.from(p.buffer));
  probs.set(it, p);
}
if (loaded) await vad.close();

/** A VadStream that replays cached probabilities frame by frame. */
function replay(p: Float32Array): VadStream {
  let i = 0;
  return { process: async () => p[i++] ?? 0, reset: () => undefined };
}

function detect(it: Item, opts: SpeechFrontOptions): Promise<SpanS[]> {
  return frontSpeechSpans(new SpeechFront(replay(probs.get(it)!), opts), it.audio);
}

const pc = (x: number) => (100 * x).toFixed(1).padStart(5);
const setList = [...new Set(items.map((i) => i.set))];
console.log(`| variant | ${setList.map((s) => `${s} miss / FA`).join(' | ')} |`);
for (const v of variants) {
  const { name, ...over } = v;
  const opts = { ...base, ...over };
  const cells: string[] = [];
  for (const set of setList) {
    const scores: SpeechScore[] = [];
    for (const it of items.filter((i) => i.set === set)) {
      const one = scoreSpeech(it.reference, await detect(it, opts), { uem: it.uem });
      scores.push(one);
      if (args['per-file'] === 'true') console.log(`|   ${it.name} | ${pc(missedRate(one))} / ${pc(falseAlarmRate(one))} |`);
    }
    const s = addSpeechScores(scores);
    cells.push(`${pc(missedRate(s))} / ${pc(falseAlarmRate(s))}`);
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
