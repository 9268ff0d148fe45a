/**
 * `npm run bench:encryption [-- --records=500 --conversations=50 --segments=200 --rounds=3 --dir=PATH]`
 *
 * What encryption at rest costs: the same work with and without DATA_KEY_FILE, on the
 * filesystem of `--dir` (default build/bench-encryption, the repository's disk):
 * - one durable append (seal + write + fdatasync) of a segment record, p50/p95 over `--records`;
 * - loading the history: `store.list()` over `--conversations` conversations of `--segments`
 *   segments with their text (every record opened), and one conversation's `store.get()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../../src/paths.js';
import { encryptedFs } from '../../src/storage/encrypted-fs.js';
import { nodeFs, type StorageFs } from '../../src/storage/fs.js';
import { dataKey } from '../../src/storage/record-codec.js';
import { ConversationStore } from '../../src/storage/store.js';
import { parseFlags } from './lib/args.js';

const args = parseFlags();
const records = Number(args.records ?? 500);
const conversations = Number(args.conversations ?? 50);
const segments = Number(args.segments ?? 200);
const rounds = Math.max(1, Number(args.rounds ?? 3));
const root = fromRoot(args.dir ?? 'build/bench-encryption');
const models = { asr: 'bench', speaker: 'bench', vad: 'bench' };
const SENTENCE = 'and then we talked about how the week went, what changed since last time, and what to try next';

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function run(label: string, makeFs: (dir: string) => StorageFs) {
  const dir = join(root, label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const store = new ConversationStore(dir, makeFs(dir));
  await store.init();
  const meta = await store.create({ language: 'en', models, speakers: [{ id: 0, name: 'A' }, { id: 1, name: 'B' }] });
  const times: number[] = [];
  for (let i = 0; i < records; i++) {
    const t0 = performance.now();
    await store.append(meta.id, { k: 'segment', segment_id: i, speaker_id: (i % 2) as 0 | 1, start: i * 3.1, end: i * 3.1 + 2.4, similarity: [0.812, 0.233] });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  await store.delete(meta.id);
  for (let c = 0; c < conversations; c++) {
    await store.createFinished({
      language: 'en',
      models,
      speakers: [{ id: 0, name: 'A' }, { id: 1, name: 'B' }],
      title: `conversation ${c}`,
      endedAt: new Date(),
      audioS: segments * 3,
      segments: Array.from({ length: segments }, (_, i) => ({ segment_id: i, speaker_id: (i % 2) as 0 | 1, start: i * 3, end: i * 3 + 2.5, text: SENTENCE })),
    });
  }
  // A fresh store: nothing cached.
  const cold = new ConversationStore(dir, makeFs(dir));
  const l0 = performance.now();
  const list = await cold.list();
  const listMs = performance.now() - l0;
  const g0 = performance.now();
  await cold.get(list[0]!.id);
  const getMs = performance.now() - g0;
  rmSync(dir, { recursive: true, force: true });
  return { label, p50: q(times, 0.5), p95: q(times, 0.95), listMs, getMs, listed: list.length };
}

const key = dataKey(randomBytes(32));
type Result = Awaited<ReturnType<typeof run>>;
const plainRuns: Result[] = [];
const sealedRuns: Result[] = [];
// Alternated rounds, the median of each figure kept: the machine is shared and noisy.
for (let r = 0; r < rounds; r++) {
  plainRuns.push(await run('plain', () => nodeFs));
  sealedRuns.push(await run('encrypted', (dir) => encryptedFs(nodeFs, { dataDir: dir, key })));
}
const median = (runs: Result[]): Result => {
  const m = (f: (x: Result) => number) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  return { label: runs[0]!.label, p50: m((x) => x.p50), p95: m((x) => x.p95), listMs: m((x) => x.listMs), getMs: m((x) => x.getMs), listed: runs[0]!.listed };
};
const plain = median(plainRuns);
const sealed = median(sealedRuns);
console.log(`durable appends: ${records} segment records; history: ${conversations} conversations × ${segments} segments with text; disk of ${root}; median of ${rounds} alternated rounds`);
console.log('| storage | append p50 (ms) | append p95 (ms) | history list (ms) | one conversation (ms) |');
console.log('|---|---:|---:|---:|---:|');
for (const r of [plain, sealed]) {
  console.log(`| ${r.label} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.listMs.toFixed(0)} | ${r.getMs.toFixed(1)} |`);
}
rmSync(root, { recursive: true, force: true });
