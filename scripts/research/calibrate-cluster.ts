/**
 * `npx tsx scripts/research/calibrate-cluster.ts [--encoder=builtin]`
 *
 * Evidence for the one-speaker decision of src/speaker/cluster.ts. Every dev recording goes
 * through the file path's front (decode, gates, Silero VAD, segmenter) and item embedding,
 * is clustered into two with the decision switched off, and the statistics the decision uses
 * are printed, on two scales: raw cosine and the encoder's AS-normalised similarity
 * (`encoder.scoreNorm`):
 *   sim   — similarity of the two cluster centroids
 *   gain  — weighted mean similarity of the items to their own centroid, minus to the global one
 *   minor — the smaller cluster's share of the speech
 * One-speaker recordings: jfk.wav, each LibriSpeech dev speaker's utterances concatenated,
 * every field enrollment clip (one voice in a room). Two-speaker: every conversations/ and
 * field/ conv.wav. A good rule puts all one-speaker rows on one side and all two-speaker rows
 * on the other, with the widest margin.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { loadConfig } from '../../src/config.js';
import { decodeAudio } from '../../src/files/decode.js';
import { itemsOf } from '../../src/files/pipeline.js';
import { createLogger } from '../../src/log.js';
import { buildPipeline } from '../../src/session/pipeline.js';
import { clusterOptionsFor, clusterSpeakers, type ClusterItem } from '../../src/speaker/cluster.js';
import { cosine } from '../../src/speaker/matcher.js';
import { CORPUS_DIR } from '../../src/testing/paths.js';
import { parseFlags } from '../bench/lib/args.js';

const args = parseFlags();
const config = loadConfig({}, [], { ASR_MODEL: 'none', SPEAKER_ENCODER: (args.encoder ?? 'builtin') as 'builtin' | 'neural', LOG_LEVEL: 'silent' });
const pipeline = await buildPipeline(config, {}, createLogger('silent'));
const encoder = pipeline.encoder;
const work = mkdtempSync(join(tmpdir(), 'duet-calib-'));

interface Case {
  label: string;
  speakers: 1 | 2;
  path: string;
}
const cases: Case[] = [{ label: 'jfk.wav', speakers: 1, path: join(CORPUS_DIR, 'jfk.wav') }];
const libri = join(CORPUS_DIR, 'librispeech');
for (const spk of readdirSync(libri).filter((d) => /^\d+$/.test(d))) {
  const parts = readdirSync(join(libri, spk)).filter((f) => f.endsWith('.wav')).sort().map((f) => decodeWav(readFileSync(join(libri, spk, f))).samples);
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  const path = join(work, `${spk}.wav`);
  writeFileSync(path, encodeWav(all));
  cases.push({ label: `librispeech ${spk} (${parts.length} utt.)`, speakers: 1, path });
}
for (const set of ['field', 'conversations']) {
  const names = (JSON.parse(readFileSync(join(CORPUS_DIR, set, 'index.json'), 'utf8')) as Array<{ name: string }>).map((c) => c.name);
  if (set === 'field') for (const n of names) for (const e of ['A', 'B']) cases.push({ label: `${set}/${n} enroll_${e}`, speakers: 1, path: join(CORPUS_DIR, set, n, `enroll_${e}.wav`) });
  for (const n of names) cases.push({ label: `${set}/${n}`, speakers: 2, path: join(CORPUS_DIR, set, n, 'conv.wav') });
}

async function items(path: string): Promise<ClusterItem[]> {
  const front = pipeline.createFront();
  const out: ClusterItem[] = [];
  let k = 0;
  const take = async (closed: Awaited<ReturnType<typeof front.flush>>) => {
    for (const seg of closed) out.push(...(await itemsOf(encoder, seg, k++)));
  };
  for await (const chunk of decodeAudio({ path }).chunks()) await take(await front.push(chunk));
  await take(await front.flush());
  return out;
}

const norm = encoder.scoreNorm ?? null;
const rule = clusterOptionsFor(norm);
const scales = [{ name: 'cosine', similarity: cosine }, ...(norm ? [{ name: 'AS-norm', similarity: (a: Float32Array, b: Float32Array) => norm.similarity(a, b) }] : [])];
const off = { sameSpeakerSimilarity: Infinity, minSplitGain: -Infinity, minSpeakerShare: 0 };
type Row = { c: Case; n: number; stats: Array<{ sim: number; gain: number; minor: number }> };
const rows: Row[] = [];
let wrong = 0;
console.log(`encoder: ${encoder.name}${norm ? ` (AS-norm over ${norm.cohort.length} cohort embeddings)` : ''}`);
console.log(`rule used: one speaker when sim ≥ ${rule.sameSpeakerSimilarity} or gain < ${rule.minSplitGain} or minor < ${rule.minSpeakerShare} (on ${rule.decisionScale})`);
console.log('');
console.log(`| recording | speakers | items | ${scales.map((s) => `${s.name} sim | ${s.name} gain`).join(' | ')} | minor | found |`);
console.log(`|---|---|---|${scales.map(() => '---|---|').join('')}---|---|`);
for (const c of cases) {
  const its = await items(c.path);
  const stats = scales.map((s) => {
    const r = clusterSpeakers(its, { ...off, similarity: s.similarity });
    return { sim: r.centroidSimilarity ?? NaN, gain: r.splitGain ?? NaN, minor: r.minorShare ?? NaN };
  });
  const found = clusterSpeakers(its, rule).speakers;
  if (found !== c.speakers) wrong++;
  rows.push({ c, n: its.length, stats });
  console.log(`| ${c.label} | ${c.speakers} | ${its.length} | ${stats.map((s) => `${s.sim.toFixed(3)} | ${s.gain.toFixed(3)}`).join(' | ')} | ${stats[0]!.minor.toFixed(2)} | ${found} |`);
}
console.log('');
for (const [k, s] of scales.entries()) {
  for (const kind of ['sim', 'gain'] as const) {
    const one = rows.filter((r) => r.c.speakers === 1).map((r) => r.stats[k]![kind]);
    const two = rows.filter((r) => r.c.speakers === 2).map((r) => r.stats[k]![kind]);
    const [lo1, hi1, lo2, hi2] = [Math.min(...one), Math.max(...one), Math.min(...two), Math.max(...two)];
    // sim: one speaker is high; gain: one speaker is low.
    const margin = kind === 'sim' ? lo1 - hi2 : lo2 - hi1;
    console.log(`${s.name} ${kind}: one speaker ${lo1.toFixed(3)}–${hi1.toFixed(3)}, two speakers ${lo2.toFixed(3)}–${hi2.toFixed(3)}; ${margin > 0 ? `separable, gap ${margin.toFixed(3)}, midpoint ${((kind === 'sim' ? lo1 + hi2 : lo2 + hi1) / 2).toFixed(3)}` : `overlap ${(-margin).toFixed(3)}`}`);
  }
}
console.log(`rule used: ${wrong} of ${rows.length} recordings get the wrong speaker count`);
await pipeline.close();
rmSync(work, { recursive: true, force: true });
