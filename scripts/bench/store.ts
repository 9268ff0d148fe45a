/**
 * `npx tsx scripts/bench/store.ts [--records=N] [--dir=PATH]`
 *
 * What writing before sending costs: the time of one durable append (write + fdatasync) of a
 * `segment`-sized record to a conversation's events.jsonl, the delay each `segment` and
 * `transcription` now waits before it is sent. Runs on the filesystem of `--dir` (default
 * build/bench-store, i.e. the repository's disk, where DATA_DIR usually lives).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fromRoot } from '../../src/paths.js';
import { ConversationStore } from '../../src/storage/store.js';
import { parseFlags } from './lib/args.js';

const args = parseFlags();
const records = Number(args.records ?? 500);
const dir = fromRoot(args.dir ?? 'build/bench-store');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const store = new ConversationStore(dir);
await store.init();
const meta = await store.create({ language: 'en', models: { asr: 'bench', speaker: 'bench', vad: 'bench' }, speakers: [{ id: 0, name: 'A' }, { id: 1, name: 'B' }] });
const times: number[] = [];
const started = performance.now();
for (let i = 0; i < records; i++) {
  const t0 = performance.now();
  await store.append(meta.id, { k: 'segment', segment_id: i, speaker_id: (i % 2) as 0 | 1, start: i * 3.1, end: i * 3.1 + 2.4, similarity: [0.812, 0.233] });
  times.push(performance.now() - t0);
}
const totalS = (performance.now() - started) / 1000;
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
console.log(`durable appends to ${dir}: ${records} records in ${totalS.toFixed(2)} s`);
console.log(`per append (ms): p50 ${q(0.5)}  p95 ${q(0.95)}  max ${times[times.length - 1]!.toFixed(2)}`);
const t0 = performance.now();
const rec = await store.get(meta.id);
console.log(`reading the record back: ${rec!.segments.length} segments in ${(performance.now() - t0).toFixed(1)} ms`);
rmSync(dir, { recursive: true, force: true });
