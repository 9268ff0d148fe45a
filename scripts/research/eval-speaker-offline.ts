/**
 * Offline speaker-attribution harness (no server): for each shared conversation, enroll
 * speaker 0 from enroll_A and speaker 1 from enroll_B (speech only), segment conv.wav, run the
 * SpeakerAssigner on every segment and print the DER table, the score distributions and the
 * per-segment embedding time.
 *
 *   npx tsx scripts/research/eval-speaker-offline.ts [--threshold=0.6] [--penalty=1] [--window=1.5]
 *     [--hop=0.25] [--min-part=1] [--adapt] [--no-split] [--verbose]
 *   npx tsx scripts/research/eval-speaker-offline.ts --enroll-stats   # profile-vs-profile similarities [--rttm-dir=test-output/rttm]
 *
 * Speech detection here is a simple energy detector (32 ms frames over −48 dBFS, 0.5 s
 * silence closes a segment, 7 s maximum cut at the quietest frame of the last second, 0.2 s
 * pre-roll) — a stand-in for the server's gates + Silero + segmenter, so these numbers
 * measure the speaker side; `npm run bench:diarization` measures the whole server.
 */
import { parseFlags } from '../bench/lib/args.js';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_RATE } from '../../src/audio/constants.js';
import { decodeWav } from '../../src/audio/wav.js';
import { computeDer, type LabelledTurn } from '../../src/eval/der.js';
import { formatDerTable, type ConversationScore } from '../../src/eval/report.js';
import { formatRttm } from '../../src/eval/rttm.js';
import { SpeakerAssigner } from '../../src/speaker/assigner.js';
import { BuiltinSpeakerEncoder } from '../../src/speaker/builtin.js';
import { enrollSpeaker, profilesSimilarity, type SpeakerProfile } from '../../src/speaker/profile.js';
import { sharedConversationNames as conversationNames, loadSharedConversation as loadConversation } from '../../src/testing/corpus.js';
import { fromRoot } from '../../src/paths.js';
import { CORPUS_DIR } from '../../src/testing/paths.js';

const args = new Map(Object.entries(parseFlags()));
const num = (k: string, d: number) => (args.has(k) ? Number(args.get(k)) : d);

const FRAME = 512;
const GATE_DBFS = num('gate-dbfs', -48);
const SILENCE_FRAMES = Math.round((0.5 * SAMPLE_RATE) / FRAME);
const MAX_SAMPLES = 7 * SAMPLE_RATE;
const PRE_ROLL = Math.round(0.2 * SAMPLE_RATE);

function frameDb(x: Float32Array, f: number): number {
  let s = 0;
  for (let i = f * FRAME; i < (f + 1) * FRAME; i++) s += x[i]! * x[i]!;
  return 10 * Math.log10(s / FRAME + 1e-12);
}

/** Energy-detected speech only (for enrollment). */
export function speechOnly(x: Float32Array): Float32Array {
  const parts: Float32Array[] = [];
  for (let f = 0; (f + 1) * FRAME <= x.length; f++) if (frameDb(x, f) > GATE_DBFS) parts.push(x.subarray(f * FRAME, (f + 1) * FRAME));
  const out = new Float32Array(parts.length * FRAME);
  parts.forEach((p, i) => out.set(p, i * FRAME));
  return out;
}

interface Seg { startSample: number; endSample: number }

/** Energy segmentation with the server's timing rules. */
export function energySegments(x: Float32Array): Seg[] {
  const n = Math.floor(x.length / FRAME);
  const db = Array.from({ length: n }, (_, f) => frameDb(x, f));
  const segs: Seg[] = [];
  let start = -1;
  let lastSpeech = -1;
  for (let f = 0; f < n; f++) {
    const speech = db[f]! > GATE_DBFS;
    if (start < 0) {
      if (speech) (start = f), (lastSpeech = f);
      continue;
    }
    if (speech) lastSpeech = f;
    if (f - lastSpeech >= SILENCE_FRAMES) {
      segs.push({ startSample: start * FRAME, endSample: (lastSpeech + 1) * FRAME });
      start = -1;
    } else if ((f + 1 - start) * FRAME >= MAX_SAMPLES) {
      // Cut at the quietest frame of the last second.
      const lo = Math.max(start + 1, f - Math.round(SAMPLE_RATE / FRAME));
      let cut = lo;
      for (let g = lo; g <= f; g++) if (db[g]! < db[cut]!) cut = g;
      segs.push({ startSample: start * FRAME, endSample: cut * FRAME });
      start = cut;
      lastSpeech = Math.max(lastSpeech, cut);
    }
  }
  if (start >= 0) segs.push({ startSample: start * FRAME, endSample: (lastSpeech + 1) * FRAME });
  return segs;
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN; };
const dist = (xs: number[]) => `n=${String(xs.length).padStart(4)}  min=${pct(xs, 0).toFixed(3)} p5=${pct(xs, 0.05).toFixed(3)} p25=${pct(xs, 0.25).toFixed(3)} p50=${pct(xs, 0.5).toFixed(3)} p75=${pct(xs, 0.75).toFixed(3)} p95=${pct(xs, 0.95).toFixed(3)} max=${pct(xs, 1).toFixed(3)}`;

/**
 * Profile-vs-profile similarities for the `too_similar` bound: each dev speaker's 10
 * utterances make 5 enrollments of 2 utterances each (speech only); same person = pairs of
 * one speaker's enrollments, different = pairs across speakers (same gender marked).
 */
async function enrollmentStats(encoder: BuiltinSpeakerEncoder) {
  const dir = join(CORPUS_DIR, 'librispeech');
  const gender: Record<string, string> = { '1688': 'M', '2033': 'M', '1998': 'F', '3080': 'F' };
  const profiles: Array<{ speaker: string; profile: SpeakerProfile }> = [];
  for (const spk of Object.keys(gender)) {
    const files = readdirSync(join(dir, spk)).filter((f) => f.endsWith('.wav')).sort();
    for (let i = 0; i + 1 < files.length; i += 2) {
      const parts = [files[i]!, files[i + 1]!].map((f) => speechOnly(decodeWav(readFileSync(join(dir, spk, f))).samples));
      const speech = new Float32Array(parts[0]!.length + parts[1]!.length);
      speech.set(parts[0]!);
      speech.set(parts[1]!, parts[0]!.length);
      const r = await enrollSpeaker(encoder, speech);
      if (r.ok) profiles.push({ speaker: spk, profile: r.profile });
    }
  }
  const same: number[] = [];
  const diffSameGender: number[] = [];
  const diffOther: number[] = [];
  for (let i = 0; i < profiles.length; i++) {
    for (let j = i + 1; j < profiles.length; j++) {
      const a = profiles[i]!;
      const b = profiles[j]!;
      const s = profilesSimilarity(a.profile, b.profile, encoder.scoreNorm);
      if (a.speaker === b.speaker) same.push(s);
      else (gender[a.speaker] === gender[b.speaker] ? diffSameGender : diffOther).push(s);
    }
  }
  console.log('profile-vs-profile similarity (dev speakers, 2-utterance enrollments):');
  console.log(`  same person           ${dist(same)}`);
  console.log(`  different, same sex   ${dist(diffSameGender)}`);
  console.log(`  different, other sex  ${dist(diffOther)}`);
}

async function main() {
  const encoder = new BuiltinSpeakerEncoder();
  await encoder.load();
  if (args.get('enroll-stats') === 'true') return enrollmentStats(encoder);
  const threshold = num('threshold', 0.6);
  const assignerOpts = {
    threshold,
    switchPenalty: num('penalty', 1),
    windowS: num('window', 1.5),
    hopS: num('hop', 0.25),
    minPartS: args.has('no-split') ? 1e9 : num('min-part', 1),
    adapt: args.get('adapt') === 'true',
  };
  const rttmDir = args.get('rttm-dir');
  if (rttmDir) mkdirSync(fromRoot(rttmDir), { recursive: true });
  const scores: ConversationScore[] = [];
  const same: number[] = [];
  const other: number[] = [];
  const margin: number[] = [];
  const enrollSims: string[] = [];
  const times: Array<{ s: number; ms: number }> = [];
  for (const name of conversationNames()) {
    const conv = loadConversation(name);
    const assigner = new SpeakerAssigner(encoder, assignerOpts);
    const a = await enrollSpeaker(encoder, speechOnly(conv.enrollA));
    if (!a.ok) throw new Error(`${name}: enroll A failed: ${a.reason}`);
    const b = await enrollSpeaker(encoder, speechOnly(conv.enrollB), { other: a.profile });
    enrollSims.push(`${name}: A/B profile similarity ${b.similarityToOther?.toFixed(3)}${b.ok ? '' : ` → ${b.reason}`}`);
    if (!b.ok) throw new Error(`${name}: enroll B failed: ${b.reason}`);
    assigner.setProfile(conv.speakerId.A!, a.profile);
    assigner.setProfile(conv.speakerId.B!, b.profile);
    const hyp: LabelledTurn[] = [];
    for (const seg of energySegments(conv.audio)) {
      const audioStart = Math.max(0, seg.startSample - PRE_ROLL);
      const t0 = performance.now();
      const parts = await assigner.assign({ ...seg, audio: conv.audio.subarray(audioStart, seg.endSample), audioStartSample: audioStart });
      times.push({ s: (seg.endSample - seg.startSample) / SAMPLE_RATE, ms: performance.now() - t0 });
      for (const p of parts) {
        const startS = p.startSample / SAMPLE_RATE;
        const endS = p.endSample / SAMPLE_RATE;
        hyp.push({ speaker: p.speakerId, startS, endS });
        // Which reference speaker holds most of this part (for the score distributions).
        const overlap = [0, 0];
        for (const r of conv.reference) overlap[conv.speakerId[r.speaker]!]! += Math.max(0, Math.min(endS, r.endS) - Math.max(startS, r.startS));
        const dur = endS - startS;
        if (args.get('verbose') === 'true') {
          console.log(`${name} ${startS.toFixed(2)}–${endS.toFixed(2)} → ${p.speakerId} [${p.similarity.map((x) => x.toFixed(3)).join(', ')}] ref ${overlap.map((x) => x.toFixed(2)).join('/')}${parts.length > 1 ? ' (split)' : ''}`);
        }
        for (const id of [0, 1] as const) {
          if (overlap[id]! >= 0.8 * dur) {
            same.push(p.similarity[id]);
            other.push(p.similarity[1 - id]!);
            margin.push(p.similarity[id] - p.similarity[1 - id]!);
          }
        }
      }
    }
    const reference: LabelledTurn[] = conv.reference.map((r) => ({ speaker: conv.speakerId[r.speaker]!, startS: r.startS, endS: r.endS }));
    const result = computeDer(reference, hyp, { durationS: conv.audio.length / SAMPLE_RATE });
    scores.push({ name, hard: conv.hard, result, segments: hyp.length });
    if (rttmDir) {
      const label = (s: number | null) => (s === null ? 'unknown' : s === conv.speakerId.A ? 'A' : 'B');
      writeFileSync(join(fromRoot(rttmDir), `${name}.rttm`), formatRttm(hyp.map((h) => ({ speaker: label(h.speaker), startS: h.startS, endS: h.endS }))));
    }
  }
  console.log(`encoder ${encoder.name} (dim ${encoder.dim}); assigner ${JSON.stringify(assignerOpts)}`);
  console.log(formatDerTable(scores));
  console.log('\nenrollment:');
  for (const l of enrollSims) console.log(`  ${l}`);
  console.log('\nscores of parts with one dominant reference speaker (≥ 80 % of the part):');
  console.log(`  true speaker   ${dist(same)}`);
  console.log(`  other speaker  ${dist(other)}`);
  console.log(`  margin         ${dist(margin)}`);
  for (const t of [0.4, 0.5, 0.55, 0.6, 0.65, 0.7]) {
    console.log(`  threshold ${t.toFixed(2)}: true-speaker parts below (→ null) ${((100 * same.filter((s) => s < t).length) / same.length).toFixed(1)} %, other-speaker scores at/above ${((100 * other.filter((s) => s >= t).length) / other.length).toFixed(1)} %`);
  }
  const totalS = times.reduce((a, t) => a + t.s, 0);
  const totalMs = times.reduce((a, t) => a + t.ms, 0);
  const long = times.filter((t) => t.s >= 6);
  console.log(`\nassign time: ${times.length} segments, mean ${(totalMs / times.length).toFixed(1)} ms, ${(totalMs / totalS).toFixed(2)} ms per s of speech; segments ≥ 6 s: mean ${(long.reduce((a, t) => a + t.ms, 0) / Math.max(1, long.length)).toFixed(1)} ms, max ${Math.max(...times.map((t) => t.ms)).toFixed(1)} ms`);
}

await main();
