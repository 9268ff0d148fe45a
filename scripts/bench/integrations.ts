/**
 * `npm run bench:integrations [-- --runs=3] [--seconds=34] [--asr=none|tiny|base] [--file=path]`
 *
 * What the integration edges cost on top of the file pipeline, against the real server over
 * HTTPS (Silero VAD, the built-in speaker encoder; with --asr=tiny|base also whisper.cpp with a
 * random-weight model of the real architecture, which makes each run minutes long on 2 busy
 * cores). The input is the first --seconds of --file (default: the two-speaker fixture):
 * 1. the same recording through `POST /v1/audio/transcriptions` (multipart, answered when done)
 *    and through `POST /api/transcriptions` + polling every 20 ms: wall time of each, median of
 *    --runs, alternated so both see the same machine load;
 * 2. the refusal of a file whose header announces 2,000 minutes (before any decoding);
 * 3. one `GET /metrics` scrape: time and size.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { probeDurationS } from '../../src/files/probe.js';
import { startServer } from '../../src/server.js';
import { FIXTURE_CORPUS_DIR } from '../../src/testing/paths.js';
import { ensureRandomWhisperModel } from '../../src/testing/whisper-model.js';
import { fromRoot } from '../../src/paths.js';
import { parseFlags } from './lib/args.js';

const args = parseFlags();
const runs = Math.max(1, Number(args.runs ?? 3));
const asr = args.asr ?? 'none';
const seconds = Math.max(1, Number(args.seconds ?? 34));
const source = args.file ?? join(FIXTURE_CORPUS_DIR, 'conversations', '1688-1998-easy', 'conv.wav');
const work = mkdtempSync(join(tmpdir(), 'duet-bench-int-'));
const file = join(work, 'input.wav');
execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', source, '-t', String(seconds), '-ac', '1', '-ar', '16000', file]);

const config = loadConfig({}, [], {
  HOST: '127.0.0.1',
  PORT: 0,
  TLS_CERT: join(work, 'cert.pem'),
  TLS_KEY: join(work, 'key.pem'),
  DATA_DIR: join(work, 'data'),
  LOG_LEVEL: 'warn',
  SPEAKER_ENCODER: 'builtin',
  ...(asr === 'none' ? { ASR_MODEL: 'none' } : { ASR_MODEL: asr, ASR_MODEL_PATH: ensureRandomWhisperModel(asr, fromRoot('build/test-models')), ASR_DEVICE: 'cpu' as const }),
});
const server = await startServer(config);

function call(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, ...(body ? { 'Content-Length': String(body.length) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function multipart(fields: Record<string, string>, name: string, data: Buffer): { body: Buffer; type: string } {
  const b = 'benchboundary' + Date.now();
  const parts: Buffer[] = Object.entries(fields).map(([k, v]) => Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n\r\n`), data, Buffer.from(`\r\n--${b}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${b}` };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const model = asr === 'none' ? 'duet-diarize' : 'whisper-1';
const audio = readFileSync(file);
const v1Body = multipart({ model, response_format: 'diarized_json', store: 'false' }, 'bench.wav', audio);

const v1Ms: number[] = [];
const apiMs: number[] = [];
for (let i = 0; i < runs; i++) {
  let t0 = performance.now();
  const r = await call('POST', '/v1/audio/transcriptions', v1Body.body, { 'Content-Type': v1Body.type });
  if (r.status !== 200) throw new Error(`/v1 answered ${r.status}: ${r.body}`);
  v1Ms.push(performance.now() - t0);
  console.log(`run ${i + 1}: /v1 ${(v1Ms[i]! / 1000).toFixed(2)} s`);

  t0 = performance.now();
  const posted = await call('POST', '/api/transcriptions?language=auto', audio);
  const { id } = JSON.parse(posted.body) as { id: string };
  for (;;) {
    const v = JSON.parse((await call('GET', `/api/transcriptions/${id}`)).body) as { status: string };
    if (v.status === 'done' || v.status === 'failed') break;
    await new Promise((res) => setTimeout(res, 20));
  }
  apiMs.push(performance.now() - t0);
  console.log(`run ${i + 1}: /api/transcriptions ${(apiMs[i]! / 1000).toFixed(2)} s`);
  await call('DELETE', `/api/transcriptions/${id}`);
}

const flac = join(work, 'long.flac');
execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1', flac]);
const bytes = readFileSync(flac);
bytes.writeBigUInt64BE((bytes.readBigUInt64BE(18) & ~((1n << 36n) - 1n)) | BigInt(2000 * 60 * 8000), 18);
const longBody = multipart({ model }, 'long.flac', bytes);
const refuseMs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const r = await call('POST', '/v1/audio/transcriptions', longBody.body, { 'Content-Type': longBody.type });
  if (r.status !== 400) throw new Error(`the long file got ${r.status}`);
  refuseMs.push(performance.now() - t0);
}

const scrapeMs: number[] = [];
let scrapeBytes = 0;
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const r = await call('GET', '/metrics');
  scrapeMs.push(performance.now() - t0);
  scrapeBytes = Buffer.byteLength(r.body);
}

const audioS = (await probeDurationS(file)) ?? 0;
console.log(`file: first ${seconds} s of ${source} as WAV (${(audio.length / 1048576).toFixed(1)} MB, ~${audioS.toFixed(0)} s of audio), asr: ${config.ASR_MODEL === 'none' ? 'none' : `random-weight ${asr}`}, runs: ${runs}`);
console.log('');
console.log('| path | median wall time | all runs |');
console.log('|---|---|---|');
console.log(`| POST /v1/audio/transcriptions (answered when done) | ${(median(v1Ms) / 1000).toFixed(2)} s | ${v1Ms.map((x) => (x / 1000).toFixed(2)).join(', ')} |`);
console.log(`| POST /api/transcriptions + poll every 20 ms | ${(median(apiMs) / 1000).toFixed(2)} s | ${apiMs.map((x) => (x / 1000).toFixed(2)).join(', ')} |`);
console.log(`| refusal of a 2,000-minute header (/v1) | ${median(refuseMs).toFixed(0)} ms | ${refuseMs.map((x) => x.toFixed(0)).join(', ')} ms |`);
console.log(`| GET /metrics (${(scrapeBytes / 1024).toFixed(1)} KiB) | ${median(scrapeMs).toFixed(1)} ms | min ${Math.min(...scrapeMs).toFixed(1)}, max ${Math.max(...scrapeMs).toFixed(1)} ms |`);

await server.close();
rmSync(work, { recursive: true, force: true });
