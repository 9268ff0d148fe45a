/**
 * `npx tsx scripts/research/analyse-false-alarm.ts [--set=field] [--names=a,b] [--KEY=value server settings]`
 *
 * Where does the speech front's false alarm lie? Runs the front (server defaults, or settings
 * given as flags) over each conversation of a set and classifies every false-alarm 10 ms frame
 * (hypothesis speech, no reference speaker, outside the 0.25 s collars) by its position:
 * - `tail`: within 0.6 s after a reference turn ends (reverberation tail, hangover);
 * - `pre`: within 0.6 s before a reference turn starts (and not a tail);
 * - `gap`: further than that from any turn, between two turns;
 * - `edge`: before the first or after the last turn.
 * For each class it prints seconds and the share of all false alarm, and the distribution of
 * the frame's level relative to its segment's speech level (the 90th percentile of the
 * segment's frame levels) and of its Silero probability, so a mechanism can be chosen on
 * where the false alarm is and what it sounds like. Analysis only; the numbers that count come
 * from bench:vad and bench:diarization.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../src/audio/constants.js';
import { rmsDbfs } from '../../src/front/gates.js';
import { loadConfig } from '../../src/config.js';
import { SpeechFront, speechFrontOptionsFromConfig } from '../../src/front/front.js';
import { SileroVad } from '../../src/vad/silero.js';
import type { VadStream } from '../../src/vad/types.js';
import { parseFlags } from '../bench/lib/args.js';
import { frontSegments } from '../bench/lib/front.js';
import { loadSetConversation, setNames, type ConversationSet } from '../bench/lib/corpus-sets.js';

const args = parseFlags();
const set = (args.set ?? 'field') as ConversationSet;
const names = args.names ? args.names.split(',') : setNames(set);
const config = loadConfig(process.env, process.argv.slice(2).filter((a) => !/^--(set|names)=/.test(a)));
const vad = new SileroVad();
await vad.load();

const STEP = 0.01;
const COLLAR = 0.25;
const NEAR = 0.6;
type Cls = 'tail' | 'pre' | 'gap' | 'edge';
const classes: Cls[] = ['tail', 'pre', 'gap', 'edge'];
const secs: Record<Cls, number> = { tail: 0, pre: 0, gap: 0, edge: 0 };
const rel: Record<Cls, number[]> = { tail: [], pre: [], gap: [], edge: [] };
const probs: Record<Cls, number[]> = { tail: [], pre: [], gap: [], edge: [] };
let speechS = 0;
let segCount = 0;
let faSegments = 0;
const q = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

try {
  for (const name of names) {
    const conv = loadSetConversation(set, name);
    const probOf: number[] = [];
    const inner = vad.createStream();
    const recording: VadStream = {
      process: async (f) => {
        const p = await inner.process(f);
        probOf.push(p);
        return p;
      },
      reset: () => inner.reset(),
    };
    const segs = await frontSegments(new SpeechFront(recording, speechFrontOptionsFromConfig(config)), conv.audio);
    segCount += segs.length;
    const levelAt = (s: number) => rmsDbfs(conv.audio.subarray(s, s + FRAME_SAMPLES));
    const ref = [...conv.reference].sort((a, b) => a.startS - b.startS);
    const durS = conv.audio.length / SAMPLE_RATE;
    for (const t of ref) speechS += t.endS - t.startS;
    for (const seg of segs) {
      const levels: number[] = [];
      for (let s = seg.startSample; s + FRAME_SAMPLES <= seg.endSample; s += FRAME_SAMPLES) levels.push(levelAt(s));
      const speechLevel = q(levels, 90);
      let fa = 0;
      for (let t = seg.startSample / SAMPLE_RATE; t < seg.endSample / SAMPLE_RATE; t += STEP) {
        const c = t + STEP / 2;
        if (c > durS) break;
        if (ref.some((r) => c >= r.startS && c < r.endS)) continue;
        if (ref.some((r) => Math.abs(c - r.startS) <= COLLAR || Math.abs(c - r.endS) <= COLLAR)) continue;
        const endedBefore = ref.filter((r) => r.endS <= c).map((r) => c - r.endS);
        const startsAfter = ref.filter((r) => r.startS >= c).map((r) => r.startS - c);
        let cls: Cls;
        if (!endedBefore.length || !startsAfter.length) cls = 'edge';
        else if (Math.min(...endedBefore) <= NEAR) cls = 'tail';
        else if (Math.min(...startsAfter) <= NEAR) cls = 'pre';
        else cls = 'gap';
        if (cls === 'edge' && endedBefore.length && Math.min(...endedBefore) <= NEAR) cls = 'tail';
        secs[cls] += STEP;
        fa++;
        const sample = Math.round(t * SAMPLE_RATE);
        rel[cls].push(levelAt(sample) - speechLevel);
        probs[cls].push(probOf[Math.floor(sample / FRAME_SAMPLES)] ?? NaN);
      }
      if (fa > 0) faSegments++;
    }
  }
} finally {
  await vad.close();
}
const total = classes.reduce((n, c) => n + secs[c], 0);
console.log(`set ${set}: ${names.length} conversations, ${segCount} segments (${faSegments} with false alarm), reference speech ${speechS.toFixed(1)} s, false alarm ${total.toFixed(1)} s (${((100 * total) / speechS).toFixed(1)} % of speech; collar ${COLLAR} s)`);
console.log('');
console.log('| position | FA s | share | level − segment p90 dB: p10 / p50 / p90 | Silero p10 / p50 / p90 |');
console.log('|---|---|---|---|---|');
for (const c of classes) {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  const g = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
  console.log(`| ${c} | ${secs[c].toFixed(1)} | ${total ? ((100 * secs[c]) / total).toFixed(0) : 0} % | ${f(q(rel[c], 10))} / ${f(q(rel[c], 50))} / ${f(q(rel[c], 90))} | ${g(q(probs[c], 10))} / ${g(q(probs[c], 50))} / ${g(q(probs[c], 90))} |`);
}
