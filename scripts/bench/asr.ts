/**
 * `npm run bench:asr [-- --models tiny,base] [--threads N] [--runs N]`
 *
 * Checks that the server's speech recognition runs at whisper.cpp's own speed: for each model
 * (random weights, real architecture, generated into build/bench-models), it compares the
 * encoder time per 30 s window measured by `whisper-bench` (built from the same sources) with
 * the encoder time inside the engine (`WhisperServerEngine`), read from the timings that
 * whisper-server prints on shutdown. Target: engine ≤ 1.25 × whisper-bench.
 *
 * Run it with nothing else busy: OpenMP threads spin-wait, so a parallel job skews it.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { resolveDevice, systemDeviceProbe } from '../../src/asr/device.js';
import { WhisperServerEngine } from '../../src/asr/whisper-server.js';
import { locateWhisperBuild } from '../../src/asr/whisper-build.js';
import { decodeWav } from '../../src/audio/wav.js';
import { loadConfig } from '../../src/config.js';
import { CORPUS_DIR } from '../../src/testing/paths.js';
import { fromRoot } from '../../src/paths.js';
import { ensureRandomWhisperModel } from '../../src/testing/whisper-model.js';

const TARGET_RATIO = 1.25;
const WINDOW_SAMPLES = 30 * 16_000;

const { values: flags } = parseArgs({
  strict: true,
  options: { models: { type: 'string' }, threads: { type: 'string' }, runs: { type: 'string' } },
});
const flag = (name: 'models' | 'threads' | 'runs'): string | undefined => flags[name];

const config = loadConfig(process.env);
const models = (flag('models') ?? 'tiny,base').split(',').map((m) => m.trim()).filter(Boolean);
const threads = Number(flag('threads') ?? (config.ASR_THREADS || availableParallelism()));
const runs = Math.max(1, Number(flag('runs') ?? 5));
const build = locateWhisperBuild(config.WHISPER_BUILD_DIR);
if (!existsSync(build.serverBin) || !existsSync(build.benchBin)) {
  console.error(`whisper.cpp is not built (${build.serverBin}, ${build.benchBin}): run \`npm run build:whisper\` first`);
  process.exit(1);
}

/** Totals (ms) from whisper_print_timings: `{ encode: 2400, mel: 80, ... }`, plus encode runs. */
function parseTimings(text: string): { totalsMs: Record<string, number>; encodeRuns: number } | null {
  const totalsMs: Record<string, number> = {};
  let encodeRuns = 0;
  for (const m of text.matchAll(/whisper_print_timings:\s+(\w+) time =\s*([\d.]+) ms(?: \/\s*(\d+) runs)?/g)) {
    totalsMs[m[1]!] = Number(m[2]);
    if (m[1] === 'encode') encodeRuns = Number(m[3] ?? 0);
  }
  return encodeRuns > 0 ? { totalsMs, encodeRuns } : null;
}

/** One whisper-bench run: its encoder time for one 30 s window (after its own warm-up). */
function runWhisperBench(model: string, gpu: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['-m', model, '-t', String(threads), ...(gpu ? [] : ['-ng'])];
    const child = spawn(build.benchBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const t = parseTimings(out);
      if (code === 0 && t) resolve(t.totalsMs.encode! / t.encodeRuns);
      else reject(new Error(`whisper-bench failed (exit ${code}): ${out.split('\n').slice(-8).join(' | ')}`));
    });
  });
}

/** The first 30 s of jfk.wav (11 s), zero-padded to one full 30 s window. */
function window30s(): Float32Array {
  const jfk = decodeWav(readFileSync(join(CORPUS_DIR, 'jfk.wav'))).samples;
  const out = new Float32Array(WINDOW_SAMPLES);
  out.set(jfk.subarray(0, WINDOW_SAMPLES));
  return out;
}

interface Row {
  model: string;
  /** whisper-bench encode, best of BENCH_REPEATS runs. */
  benchMs: number;
  /** Mean encoder time per run inside whisper-server, warm-up included; null if not printed. */
  engineMeanMs: number | null;
  engineRuns: number;
  /** Best run's round-trip minus the mean non-encoder compute (mel, decode): an upper bound on its encode. */
  engineBestMs: number;
  roundTripMedianMs: number;
  device: string;
}

/** Several whisper-bench runs; the best counts, as interference only ever slows a run down. */
const BENCH_REPEATS = 2;

async function benchModel(arch: string, audio: Float32Array): Promise<Row> {
  const modelPath = ensureRandomWhisperModel(arch, fromRoot('build/bench-models'));
  const decision = await resolveDevice(config.ASR_DEVICE, build.backends, systemDeviceProbe);
  const gpu = decision.device !== 'cpu';

  process.stderr.write(`[bench:asr] ${arch}: whisper-bench -t ${threads}${gpu ? '' : ' -ng'} ×${BENCH_REPEATS} …\n`);
  const benchRuns: number[] = [];
  for (let i = 0; i < BENCH_REPEATS; i++) benchRuns.push(await runWhisperBench(modelPath, gpu));

  const output: string[] = [];
  const engine = new WhisperServerEngine({
    serverBin: build.serverBin,
    modelPath,
    modelLabel: `${arch} (random weights)`,
    backends: build.backends,
    device: config.ASR_DEVICE,
    threads,
    log: (level, msg) => {
      if (level !== 'debug') process.stderr.write(`[bench:asr] ${level}: ${msg}\n`);
    },
    onOutput: (line) => output.push(line),
  });
  const roundTrips: number[] = [];
  try {
    await engine.load();
    process.stderr.write(`[bench:asr] ${arch}: ${engine.name}, 1 warm-up + ${runs} transcriptions of a 30 s window …\n`);
    await engine.transcribe(audio, { language: 'en' });
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await engine.transcribe(audio, { language: 'en' });
      roundTrips.push(performance.now() - t0);
    }
  } finally {
    // whisper-server prints whisper_print_timings (cumulative over its life) when it stops.
    await engine.close();
  }
  const timings = parseTimings(output.join('\n'));
  const requests = runs + 1;
  const nonEncodeMs = timings
    ? Object.entries(timings.totalsMs)
        .filter(([k]) => ['mel', 'sample', 'decode', 'batchd', 'prompt'].includes(k))
        .reduce((sum, [, v]) => sum + v, 0) / requests
    : 0;
  roundTrips.sort((a, b) => a - b);
  return {
    model: arch,
    benchMs: Math.min(...benchRuns),
    engineMeanMs: timings ? timings.totalsMs.encode! / timings.encodeRuns : null,
    engineRuns: timings?.encodeRuns ?? 0,
    engineBestMs: roundTrips[0]! - nonEncodeMs,
    roundTripMedianMs: roundTrips[Math.floor(roundTrips.length / 2)]!,
    device: engine.device,
  };
}

const audio = window30s();
const rows: Row[] = [];
for (const m of models) rows.push(await benchModel(m, audio));

const header = ['model', 'whisper-bench encode ms', 'engine encode ms: best · mean', 'engine round-trip ms', 'ratio (best)', `≤ ${TARGET_RATIO}×`];
const lines = rows.map((r) => {
  const ratio = r.engineBestMs / r.benchMs;
  return [
    r.model,
    r.benchMs.toFixed(0),
    `${r.engineBestMs.toFixed(0)} · ${r.engineMeanMs === null ? 'n/a' : `${r.engineMeanMs.toFixed(0)} (${r.engineRuns} runs)`}`,
    r.roundTripMedianMs.toFixed(0),
    `${ratio.toFixed(2)}×`,
    ratio <= TARGET_RATIO ? 'PASS' : 'FAIL',
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const fmtRow = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log('');
console.log(`${build.version || 'whisper.cpp'}; device ${rows[0]?.device ?? '?'}; ${threads} threads; random-weight models; one 30 s window per run`);
console.log(fmtRow(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const l of lines) console.log(fmtRow(l));
console.log('');
console.log(`whisper-bench: best of ${BENCH_REPEATS} runs (each after its own warm-up).`);
console.log(`engine, best: fastest of ${runs} POST /inference round-trips minus the mean mel + decode time whisper-server reports`);
console.log('  (so it still includes WAV encoding, HTTP and the server\'s request handling: an upper bound on the encoder time);');
console.log('engine, mean: encoder time per run from whisper-server\'s own timings, warm-up included.');
console.log('round-trip: median wall time of one POST /inference of the 30 s window. Ratio = engine best / whisper-bench.');
if (lines.some((l) => l[5] === 'FAIL')) process.exitCode = 1;
