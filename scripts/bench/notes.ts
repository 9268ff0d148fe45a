/**
 * `npm run bench:notes [-- --minutes=30,90 --answer-tokens=1024 --context=16384 --threads=0 --live-seconds=40 --model=qwen|tiny]`
 *
 * 1. Time and memory to note a generated 30- and 90-minute two-speaker transcript (English,
 *    ~150 words a minute) with the local engine on CPU: node-llama-cpp on a random-weight GGUF
 *    of the default model's architecture (qwen2, Qwen2.5-1.5B-Instruct's dimensions, 4-bit),
 *    written once into build/bench-models. Random weights never close a string early, so every
 *    answer runs to its token limit: the times are the worst case of the real architecture.
 *    Peak memory is the model process's VmHWM.
 * 2. Live `segment` latency p95 of two real-time sessions (the shared corpus, ASR off), first
 *    alone, then while a note runs (target: within 1.2× of alone).
 *
 * `--model=tiny` runs the same on the tiny test model (a smoke run in seconds).
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request } from 'node:https';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { LocalEngine } from '../../src/notes/local-engine.js';
import { NotesService } from '../../src/notes/service.js';
import type { NoteLimits } from '../../src/notes/schema.js';
import { fromRoot } from '../../src/paths.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { StoredSegment } from '../../src/storage/types.js';
import { sharedConversationNames as conversationNames, loadSharedConversation as loadConversation } from '../../src/testing/corpus.js';
import { ensureRandomLlm, QWEN25_1_5B_LIKE, TINY_LLM } from '../../src/testing/llm-model.js';
import { parseFlags } from './lib/args.js';
import { fmt, percentile, runRealtimeClient } from './lib/realtime.js';

const args = parseFlags();
const minutesList = String(args.minutes ?? '30,90').split(',').map(Number).filter((m) => m > 0);
const answerTokens = Number(args['answer-tokens'] ?? 1024);
const contextTokens = Number(args.context ?? 16384);
const threads = Number(args.threads ?? 0) || Math.max(1, Math.floor(availableParallelism() / 2));
const liveSeconds = Number(args['live-seconds'] ?? 40);

const WORDS = (
  'we should look at the budget again before friday and i think the client wants the report by thursday so who can send it ' +
  'maybe anna can take the first part and i will check the numbers with the finance team after lunch tomorrow morning ' +
  'that sounds fine but we still have an open question about the hiring plan and the new office next quarter'
).split(' ');

const spec = { ...(args.model === 'tiny' ? TINY_LLM : QWEN25_1_5B_LIKE), words: [...new Set(WORDS)] };
/**
 * Note bounds for random weights, which never close a string early: small enough that the
 * longest possible note fits the answer's token limit (a trained model stops well before).
 */
const LIMITS: NoteLimits = { titleChars: 20, summaryChars: 80, itemChars: 20, maxItems: 1, sectionChars: 20 };

/** A two-speaker transcript of `minutes` minutes: ~150 words a minute in 10-20 s turns. */
function transcript(minutes: number, seed = 1): StoredSegment[] {
  let a = seed;
  const rand = () => ((a = (a * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: StoredSegment[] = [];
  let t = 0;
  for (let i = 0; t < minutes * 60; i++) {
    const dur = 10 + rand() * 10;
    const words = Array.from({ length: Math.round(dur * 2.5) }, () => WORDS[Math.floor(rand() * WORDS.length)]);
    out.push({ segment_id: i, speaker_id: (i % 2) as 0 | 1, start: t, end: t + dur, text: words.join(' ') + '.' });
    t += dur + 0.5;
  }
  return out;
}

function vmHwmMiB(pid: number | null): number {
  if (!pid) return NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function post(server: RunningServer, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method: 'POST', rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const log = createLogger('warn');
console.log(`cores: ${cpus().length}; load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const t0 = Date.now();
const modelPath = ensureRandomLlm(fromRoot('build/bench-models'), spec);
console.log(`model: ${modelPath} (${spec.arch} ${spec.embd}×${spec.layers}, vocab ${spec.vocab}, ${spec.weights}; ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
console.log(`settings: context ${contextTokens} tokens, answer ≤ ${answerTokens} tokens, ${threads} thread(s), CPU, sentiment off`);
console.log('');

// ---- 1. time and memory per transcript length ----
const config = loadConfig(process.env, [], {
  HOST: '127.0.0.1',
  PORT: 0,
  LOG_LEVEL: 'warn',
  ASR_MODEL: 'none',
  NOTES_SENTIMENT: false,
  LLM_MAX_ANSWER_TOKENS: answerTokens,
  TLS_CERT: 'build/bench-certs/fullchain.pem',
  TLS_KEY: 'build/bench-certs/privkey.pem',
  DATA_DIR: `build/bench-notes-data-${process.pid}`,
});
// Part 1 times the note alone, at normal priority; the server's own engine (part 2) runs as in production, at nice 19.
const makeEngine = (nice = 19) => new LocalEngine({ modelPath, contextTokens, threads, gpu: 'off', reserveBytes: 0, idleUnloadMs: 0, timeoutMs: 3_600_000, nice });
const server = await startServer(config, { log, notesEngine: makeEngine(), notesLimits: LIMITS });
try {
  console.log('| transcript | turns | characters | parts | requests | load s | note s | peak RSS of the model process MiB |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const minutes of minutesList) {
    const segments = transcript(minutes);
    const meta = await server.store.createFinished({ language: 'en', models: { asr: 'bench', speaker: 'bench', vad: 'bench' }, speakers: [{ id: 0, name: 'Ana' }, { id: 1, name: 'Ben' }], title: `${minutes} min`, endedAt: new Date(), audioS: minutes * 60, segments });
    const engine = makeEngine(0);
    const service = new NotesService({ engine, store: server.store, maxAnswerTokens: answerTokens, sentiment: false, log, limits: LIMITS });
    const l0 = Date.now();
    await engine.load();
    const loadS = (Date.now() - l0) / 1000;
    const n0 = Date.now();
    const started = await service.start(meta.id, { name: 'general', label: 'General', instruction: 'Write a note.', sections: [] });
    if (!('id' in started)) throw new Error(started.message);
    let v = await service.get(meta.id, started.id);
    let requests = 0;
    let lastStage = '';
    while (v && (v.status === 'queued' || v.status === 'running')) {
      if (v.stage && v.stage !== lastStage) {
        requests++;
        lastStage = v.stage;
      }
      await new Promise((r) => setTimeout(r, 200));
      v = await service.get(meta.id, started.id);
    }
    const noteS = (Date.now() - n0) / 1000;
    const rss = vmHwmMiB(engine.pid);
    const chars = segments.reduce((n, s) => n + (s.text?.length ?? 0), 0);
    console.log(`| ${minutes} min | ${segments.length} | ${chars} | ${v?.parts ?? '?'} | ${v?.status === 'done' ? '' : `${v?.status} (${v?.error?.code}) `}≥${requests} | ${fmt(loadS, 1)} | ${fmt(noteS, 1)} | ${fmt(rss, 0)} |`);
    await service.close();
  }
  console.log('');

  // ---- 2. live segment latency beside a running note ----
  if (liveSeconds > 0) {
    const convs = conversationNames().map(loadConversation);
    const live = async () => {
      const rs = await Promise.all([0, 1].map((i) => runRealtimeClient(server, convs[i % convs.length]!, liveSeconds)));
      return rs.flatMap((r) => r.segmentLatencyS);
    };
    const alone = await live();
    const long = transcript(Math.max(...minutesList, 30));
    const meta = await server.store.createFinished({ language: 'en', models: { asr: 'bench', speaker: 'bench', vad: 'bench' }, speakers: [{ id: 0, name: 'Ana' }, { id: 1, name: 'Ben' }], title: 'live', endedAt: new Date(), audioS: 1800, segments: long });
    const status = await post(server, `/api/conversations/${meta.id}/notes`, { template: 'general' });
    if (status !== 202) throw new Error(`note not started: ${status}`);
    await new Promise((r) => setTimeout(r, 3000));
    const beside = await live();
    const pa = percentile(alone, 0.95);
    const pb = percentile(beside, 0.95);
    console.log(`live: two sessions × ${liveSeconds} s of the shared corpus at real time, ASR off`);
    console.log('| run | segments | p50 s | p95 s |');
    console.log('|---|---|---|---|');
    console.log(`| alone | ${alone.length} | ${fmt(percentile(alone, 0.5))} | ${fmt(pa)} |`);
    console.log(`| beside a running note | ${beside.length} | ${fmt(percentile(beside, 0.5))} | ${fmt(pb)} |`);
    console.log(`ratio p95 beside / alone: ${fmt(pb / pa, 2)} (target ≤ 1.2) → ${pb / pa <= 1.2 ? 'PASS' : 'FAIL'}`);
  }
} finally {
  await server.close();
  await rm(fromRoot(config.DATA_DIR), { recursive: true, force: true });
}
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
process.exit(0);
