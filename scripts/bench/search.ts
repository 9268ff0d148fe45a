/**
 * `npm run bench:search -- [--conversations=2000] [--segments=600] [--queries=300] [--dir=PATH] [--cold] [--encrypt]`
 *
 * Search at the size of a real practice: generates a store (scripts/bench/gen-search-store.ts) into a
 * temporary DATA_DIR (never into the repository), starts the real server on it (diarization
 * only, port 0, its own certificate) and measures:
 * - start, twice: a first start (builds the index from the records where no kept part is fresh —
 *   all of a new store, or with `--cold` — then writes every part), and a restart, which loads
 *   the kept parts (search.json per conversation): each until the server listens, and until the
 *   index holds every conversation;
 * - the index's memory after the restart: heap growth over it (with --expose-gc) and the index's own count;
 * - search answer times over HTTPS (p50 / p95 / max) for a mix of English and Korean queries:
 *   common and rare words, the prefix of a word being typed, phrases, two words, names;
 * - Korean recall: segments containing the query (a brute-force scan of the records) against
 *   what whole-word tokens would find and what the index finds.
 * `--dir` reuses (or keeps) a generated store; without it the temporary store is removed.
 * `--encrypt`: the store encrypted at rest (DATA_KEY_FILE: a key kept beside the store, at
 * `<dir>.key`, outside it; the generated store is sealed with `rekey` first); no recall table then.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { loadOrCreateTls } from '../../src/transport/certs.js';
import { parseEvents, segmentsOf } from '../../src/storage/store.js';
import { SEARCH_FILE } from '../../src/search/persisted.js';
import { KEY_CHECK_FILE } from '../../src/storage/encrypted-fs.js';
import { dataKey } from '../../src/storage/record-codec.js';
import { rekeyDataDir } from '../../src/storage/rekey.js';
import { PERSIST_DELAY_MS } from '../../src/search/service.js';
import { generateStore } from './gen-search-store.js';
import { parseFlags } from './lib/args.js';

const args = parseFlags();
const conversations = Number(args.conversations ?? 2000);
const segments = Number(args.segments ?? 600);
const queryCount = Number(args.queries ?? 300);
const keep = args.dir !== undefined;
/** Removes the kept index first, so that the first start rebuilds it all (as after an upgrade). */
const cold = args.cold !== undefined;
const encrypt = args.encrypt !== undefined;
const dataDir = keep ? resolve(args.dir!) : mkdtempSync(join(tmpdir(), 'duet-bench-search-'));
const keyPath = `${dataDir}.key`;
const certDir = mkdtempSync(join(tmpdir(), 'duet-bench-search-certs-'));
const gc = (globalThis as { gc?: () => void }).gc;

/** One kept-alive connection, as a browser holds it while someone types. */
const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });

function get(base: string, token: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(new URL(path, base), { headers: { Authorization: `Bearer ${token}` }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const fmt = (ms: number) => ms.toFixed(1);

async function main(): Promise<void> {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const convDir = join(dataDir, 'conversations');
  if (!existsSync(convDir) || readdirSync(convDir).length === 0) {
    const t0 = performance.now();
    const n = generateStore(dataDir, { conversations, segments, seed: 1 });
    console.log(`generated ${conversations} conversations × ${segments} segments (${n} segments) in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${dataDir}`);
  } else console.log(`reusing the store in ${dataDir} (${readdirSync(convDir).length} conversations)`);

  if (cold) for (const id of readdirSync(convDir)) rmSync(join(convDir, id, SEARCH_FILE), { force: true });
  if (encrypt && !existsSync(join(dataDir, KEY_CHECK_FILE))) {
    const hex = randomBytes(32).toString('hex');
    writeFileSync(keyPath, hex, { mode: 0o600 });
    const t0 = performance.now();
    await rekeyDataDir(dataDir, null, dataKey(Buffer.from(hex, 'hex')));
    console.log(`sealed the store under a new key (${keyPath}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const config = loadConfig({}, [], {
    HOST: '127.0.0.1',
    PORT: 0,
    ASR_MODEL: 'none',
    AUTH: true,
    ACCESS_TOKEN: 'bench-search-token-0123456789',
    TLS_CERT: join(certDir, 'fullchain.pem'),
    TLS_KEY: join(certDir, 'privkey.pem'),
    DATA_DIR: dataDir,
    ...(encrypt ? { DATA_KEY_FILE: keyPath } : {}),
    LOG_LEVEL: 'warn',
  });
  // A server has its certificate already: generating one (an RSA key) is not part of a start.
  await loadOrCreateTls(join(certDir, 'fullchain.pem'), join(certDir, 'privkey.pem'));
  const start = async (label: string) => {
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const server = await startServer(config);
    const listenS = (performance.now() - t0) / 1000;
    await server.search.ready;
    const readyS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    gc?.();
    const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
    const { index, startup } = server.search.service;
    console.log(`${label}: listening after ${listenS.toFixed(2)} s; every conversation searchable after ${readyS.toFixed(2)} s (${index.size} conversations, ${index.keys} keys; ${startup.loaded} loaded from their kept index, ${startup.rebuilt} rebuilt from the records); CPU time of the whole start ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
    return { server, heapMb };
  };
  const first = await start('first start');
  const w0 = performance.now();
  await first.server.search.service.persist(Infinity);
  console.log(`first start: every conversation's index part written after a further ${((performance.now() - w0) / 1000).toFixed(2)} s (in the background; a server writes a part ${PERSIST_DELAY_MS / 1000} s after its conversation changed)`);
  await first.server.close();
  const { server, heapMb } = await start('restart');
  const index = server.search.service.index;
  console.log(`memory: heap growth over the restart ${heapMb.toFixed(0)} MB${gc ? '' : ' (run with --expose-gc for a steadier figure)'}; the index's own count ${(index.approxBytes() / 1e6).toFixed(0)} MB; rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);

  const kinds: Record<string, string[]> = {
    'en common word': ['medication', 'doctor', 'morning', 'people', 'water'],
    'en rare word': ['insurance', 'headache', 'holiday', 'pharmacy', 'stomach'],
    'en prefix (typing)': ['medi', 'pha', 'ins', 'head', 'wee'],
    'en phrase': ['"blood pressure"', '"the water"', '"take the"', '"sleep morning"', '"in the"'],
    'en two words': ['doctor sleep', 'coffee letter', 'anxiety walk', 'family work', 'dose tablet'],
    'ko one syllable': ['약', '병', '잠', '차', '꿈'],
    'ko word': ['병원', '감기약', '선생님', '보험', '혈압'],
    'ko two words': ['약 병원', '어머니 학교', '커피 편지', '두통 운동', '상담 치료'],
    names: ['Alice', 'Clara', '김민수', '박서준', 'Henry'],
  };
  const all: number[] = [];
  const rows: string[] = [];
  const perKind = Math.max(1, Math.round(queryCount / Object.keys(kinds).length));
  for (const [kind, qs] of Object.entries(kinds)) {
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < perKind; i++) {
      const text = qs[i % qs.length]!;
      const s = performance.now();
      const r = await get(server.url, server.token, `/api/search?q=${encodeURIComponent(text)}&limit=20`);
      times.push(performance.now() - s);
      if (r.status !== 200) throw new Error(`search ${text} answered ${r.status}: ${r.body.slice(0, 200)}`);
      found += (JSON.parse(r.body) as { results: unknown[] }).results.length;
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    rows.push(`| ${kind} | ${times.length} | ${fmt(q(times, 0.5))} | ${fmt(q(times, 0.95))} | ${fmt(times[times.length - 1]!)} | ${(found / times.length).toFixed(1)} |`);
  }
  all.sort((a, b) => a - b);
  console.log('\n| queries | n | p50 ms | p95 ms | max ms | results/page |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`| **all** | ${all.length} | ${fmt(q(all, 0.5))} | ${fmt(q(all, 0.95))} | ${fmt(all[all.length - 1]!)} | |`);

  if (encrypt) {
    console.log(`\n(encrypted store: no recall table, it reads the records directly)\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    agent.destroy();
    await server.close();
    return;
  }
  // Korean recall: what a substring scan finds, what whole-word tokens would find, what search finds.
  console.log('\n| Korean query | segments containing it (scan) | whole-word tokens would find | search finds |\n|---|---|---|---|');
  const ids = readdirSync(convDir);
  const texts: string[] = [];
  for (const id of ids.slice(0, 400)) {
    const recs = parseEvents(readFileSync(join(convDir, id, 'events.jsonl'), 'utf8')).records;
    for (const s of segmentsOf(recs)) if (s.text) texts.push(s.text);
  }
  const sample = new Set(ids.slice(0, 400));
  for (const word of ['약', '병원', '감기약']) {
    const scan = texts.filter((t) => t.includes(word)).length;
    const whole = texts.filter((t) => t.split(/[\s.,?!]+/).includes(word)).length;
    let ours = 0;
    let cursor: string | null = '';
    while (cursor !== null) {
      const r = await get(server.url, server.token, `/api/search?q=${encodeURIComponent(word)}&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      const a = JSON.parse(r.body) as { results: Array<{ conversation_id: string; hit_count: number }>; next_cursor: string | null };
      for (const res of a.results) if (sample.has(res.conversation_id)) ours += res.hit_count;
      cursor = a.next_cursor;
    }
    console.log(`| ${word} | ${scan} | ${whole} (${((100 * whole) / Math.max(1, scan)).toFixed(0)} %) | ${ours} (${((100 * ours) / Math.max(1, scan)).toFixed(0)} %) |`);
  }
  console.log(`(recall over the first ${sample.size} conversations of the store)`);
  console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  agent.destroy();
  await server.close();
}

main()
  .catch((err: Error) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    rmSync(certDir, { recursive: true, force: true });
    if (!keep) rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    if (!keep) rmSync(keyPath, { force: true });
  });
