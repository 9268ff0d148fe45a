/**
 * `npx tsx scripts/bench/gen-search-store.ts --dir=PATH [--conversations=2000] [--segments=600] [--seed=1]`
 *
 * Writes a conversation store (DATA_DIR layout of src/storage/store.ts) of generated, ended
 * conversations for `bench:search`: half English, half Korean (nouns with their particles, so
 * that a search for 약 has 약을 / 약이 / 약은 to find), ~4.5 s per segment, two speakers each.
 * Files are owner-only. It refuses to write into a folder that already holds conversations.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { newId } from '../../src/storage/ids.js';
import { seededRandom } from '../../src/testing/signals.js';
import type { ConversationMeta, EventRecord } from '../../src/storage/types.js';
import { parseFlags } from './lib/args.js';


const EN_WORDS = (
  'the a to and of in is it you that we was for on are with as I this have be at not but what all were when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part medication appointment pharmacy doctor sleep morning evening pain dose tablet week month family work school anxiety walk dinner coffee letter insurance therapy blood pressure headache stomach exercise weekend holiday'
).split(' ');
const KO_NOUNS = '약 병원 의사 선생님 어머니 아버지 회사 학교 시간 오늘 내일 어제 아침 저녁 친구 가족 수면 두통 운동 주말 치료 상담 보험 커피 편지 혈압 복용 처방 약국 감기약 진료 검사 결과 마음 생각 문제'.split(' ');
const KO_PARTICLES = ['을', '를', '이', '가', '은', '는', '에', '에서', '도', '와', '과', '으로', '만', ''];
const KO_VERBS = '먹었어요 했어요 갔어요 봤어요 있어요 없어요 좋아요 괜찮아요 힘들어요 말했어요 생각해요 먹어야 해요 받았어요 기다렸어요'.split(' ');
const EN_NAMES = ['Alice', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Grace', 'Henry'];
const KO_NAMES = ['김민수', '이지은', '박서준', '최유나', '정하늘', '강도윤'];

function sentence(r: () => number, korean: boolean): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  if (korean) {
    const n = 2 + Math.floor(r() * 4);
    const words = Array.from({ length: n }, () => pick(KO_NOUNS) + pick(KO_PARTICLES));
    return `${words.join(' ')} ${pick(KO_VERBS)}.`;
  }
  const n = 6 + Math.floor(r() * 12);
  const words = Array.from({ length: n }, () => pick(EN_WORDS));
  const s = words.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

/** Writes `conversations` generated conversations under `dir`; returns the number of segments. */
export function generateStore(dir: string, opts: { conversations: number; segments: number; seed: number }): number {
  const convDir = join(dir, 'conversations');
  mkdirSync(convDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'voices'), { recursive: true, mode: 0o700 });
  if (readdirSync(convDir).length > 0) throw new Error(`${convDir} already holds conversations; give an empty --dir`);
  const r = seededRandom(opts.seed);
  let total = 0;
  const day0 = Date.parse('2026-01-05T09:00:00Z');
  for (let c = 0; c < opts.conversations; c++) {
    const korean = c % 2 === 1;
    const id = newId();
    const names = korean ? KO_NAMES : EN_NAMES;
    const startedAt = new Date(day0 + c * 3_600_000 * 2);
    const lines: string[] = [];
    let t = 1 + r();
    for (let s = 0; s < opts.segments; s++) {
      const start = Math.round(t * 1000) / 1000;
      const end = Math.round((t + 1.5 + r() * 4) * 1000) / 1000;
      const speaker = (s + (r() < 0.15 ? 1 : 0)) % 2 === 0 ? 0 : 1;
      const seg: EventRecord = { k: 'segment', segment_id: s, speaker_id: speaker, start, end, similarity: [0.8, 0.2] };
      const text = r() < 0.3 ? `${sentence(r, korean)} ${sentence(r, korean)}` : sentence(r, korean);
      const tr: EventRecord = { k: 'transcription', segment_id: s, speaker_id: speaker, text, timestamp: new Date(startedAt.getTime() + end * 1000).toISOString(), start, end };
      lines.push(JSON.stringify(seg), JSON.stringify(tr));
      t = end + 0.2 + r() * 0.8;
    }
    total += opts.segments;
    const meta: ConversationMeta = {
      version: 1,
      id,
      title: korean ? `상담 ${c + 1}` : `Session ${c + 1}`,
      started_at: startedAt.toISOString(),
      ended_at: new Date(startedAt.getTime() + t * 1000).toISOString(),
      language: korean ? 'ko' : 'en',
      models: { asr: 'generated', speaker: 'generated', vad: 'generated' },
      speakers: [
        { id: 0, name: names[c % names.length]! },
        { id: 1, name: names[(c + 1) % names.length]! },
      ],
      audio_s: Math.round(t * 1000) / 1000,
      audio_file: null,
    };
    mkdirSync(join(convDir, id), { mode: 0o700 });
    writeFileSync(join(convDir, id, 'events.jsonl'), lines.join('\n') + '\n', { mode: 0o600 });
    writeFileSync(join(convDir, id, 'meta.json'), JSON.stringify(meta), { mode: 0o600 });
  }
  return total;
}

if (process.argv[1] && resolve(process.argv[1]).endsWith('gen-search-store.ts')) {
  const args = parseFlags();
  if (!args.dir) {
    process.stderr.write('usage: gen-search-store.ts --dir=PATH [--conversations=2000] [--segments=600] [--seed=1]\n');
    process.exit(2);
  }
  const t0 = performance.now();
  const n = generateStore(resolve(args.dir), { conversations: Number(args.conversations ?? 2000), segments: Number(args.segments ?? 600), seed: Number(args.seed ?? 1) });
  console.log(`wrote ${n} segments into ${args.dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
