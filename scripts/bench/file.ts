/**
 * `npm run bench:file [-- --only=der|speed] [--minutes=10] [--asr-arch=base] [--full=0]`
 *
 * The offline file path (src/files/):
 * 1. DER of the file path on the shared `conversations/` and `field/` sets: each conv.wav is
 *    transcribed as a file, without enrollment (clustering), scored with the best mapping of
 *    the two found speakers onto the reference; beside it the same file path with the two
 *    enrollment clips, which attributes exactly as the live path does (enrollment + the
 *    assigner), as the baseline for the "within 1 point" target.
 * 2. Speed on a 10-minute file (the conversations concatenated, encoded as MP3 by ffmpeg):
 *    decode only, diarization only (ASR off), and full with the random-weight base model of
 *    the real architecture; × real time, and the full run's cost per 30 s of audio against
 *    whisper-bench's encoder time for one 30 s window.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { computeDer, type DerResult, type LabelledTurn } from '../../src/eval/der.js';
import { formatDerTable, meanScores, type ConversationScore } from '../../src/eval/report.js';
import { parseRttm } from '../../src/eval/rttm.js';
import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { decodeAudio, resolveDecoder } from '../../src/files/decode.js';
import { transcribeFile } from '../../src/files/pipeline.js';
import { fileStagesFrom } from '../../src/files/stages.js';
import { createLogger } from '../../src/log.js';
import { buildPipeline } from '../../src/session/pipeline.js';
import { locateWhisperBuild } from '../../src/asr/whisper-build.js';
import { CORPUS_DIR } from '../../src/testing/paths.js';
import { ensureRandomWhisperModel } from '../../src/testing/whisper-model.js';
import { fromRoot } from '../../src/paths.js';
import { parseFlags } from './lib/args.js';

const args = parseFlags();
const only = args.only ?? 'all';
const log = createLogger('warn');
const decoder = resolveDecoder();
console.log(`decoder: ${decoder.name}`);

interface CorpusSet {
  label: string;
  dir: string;
  names: string[];
}
const sets: CorpusSet[] = ['conversations', 'field'].map((s) => ({
  label: `${s}/`,
  dir: join(CORPUS_DIR, s),
  names: (JSON.parse(readFileSync(join(CORPUS_DIR, s, 'index.json'), 'utf8')) as Array<{ name: string }>).map((c) => c.name),
}));

/** DER with the better of the two mappings of hypothesis speakers 0/1 onto the reference. */
function bestMappedDer(ref: LabelledTurn[], hyp: LabelledTurn[], durationS: number): DerResult {
  const swap = hyp.map((t) => ({ ...t, speaker: t.speaker === null ? null : 1 - t.speaker }));
  const a = computeDer(ref, hyp, { durationS });
  const b = computeDer(ref, swap, { durationS });
  return a.der <= b.der ? a : b;
}

if (only === 'all' || only === 'der') {
  const config = loadConfig(process.env, [], { ASR_MODEL: 'none', LOG_LEVEL: 'warn' });
  const pipeline = await buildPipeline(config, {}, log);
  const stages = fileStagesFrom(pipeline, config);
  try {
    for (const set of sets) {
      const clustered: ConversationScore[] = [];
      const enrolled: ConversationScore[] = [];
      for (const name of set.names) {
        const dir = join(set.dir, name);
        const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { hard: boolean; speaker_id: Record<string, 0 | 1> };
        const ref = parseRttm(readFileSync(join(dir, 'conv.rttm'), 'utf8')).map((t) => ({ speaker: meta.speaker_id[t.speaker]!, startS: t.startS, endS: t.endS }));
        const wav = (f: string) => decodeWav(readFileSync(join(dir, f))).samples;
        const durationS = wav('conv.wav').length / 16_000;
        const input = { path: join(dir, 'conv.wav') };
        const free = await transcribeFile(input, stages, { decoder });
        const hypFree = free.conversation.segments.map((s) => ({ speaker: s.speaker_id, startS: s.start, endS: s.end }));
        clustered.push({ name, hard: meta.hard, result: bestMappedDer(ref, hypFree, durationS), segments: hypFree.length });
        const clips: [Float32Array, Float32Array] = meta.speaker_id.A === 0 ? [wav('enroll_A.wav'), wav('enroll_B.wav')] : [wav('enroll_B.wav'), wav('enroll_A.wav')];
        const withEnroll = await transcribeFile(input, stages, { decoder, enroll: { clips } });
        const hypEnr = withEnroll.conversation.segments.map((s) => ({ speaker: s.speaker_id, startS: s.start, endS: s.end }));
        enrolled.push({ name, hard: meta.hard, result: computeDer(ref, hypEnr, { durationS }), segments: hypEnr.length });
        process.stderr.write(`[bench:file] ${name}: ${free.conversation.speakers.length} speakers found\n`);
      }
      console.log('');
      console.log(formatDerTable(clustered, `${set.label} — file path, no enrollment (clustering, best mapping); DER (collar 0.25 s)`));
      console.log('');
      console.log(formatDerTable(enrolled, `${set.label} — file path with the enrollment clips (= live attribution); DER (collar 0.25 s)`));
      const all = (s: ConversationScore[]) => meanScores(s).der;
      const gap = 100 * (all(clustered) - all(enrolled));
      console.log(`mean DER, all: clustering ${(100 * all(clustered)).toFixed(1)} % vs enrollment ${(100 * all(enrolled)).toFixed(1)} %: ${gap >= 0 ? '+' : ''}${gap.toFixed(1)} points (target ≤ +1.0) ${gap <= 1 ? 'PASS' : 'FAIL'}`);
    }
  } finally {
    await pipeline.close();
  }
}

if (only === 'all' || only === 'speed') {
  const minutes = Number(args.minutes ?? 10);
  const work = mkdtempSync(join(tmpdir(), 'duet-bench-file-'));
  try {
    // A long recording: the conversations back to back until `minutes` are filled.
    const pieces: Float32Array[] = [];
    let total = 0;
    const target = minutes * 60 * 16_000;
    for (let k = 0; total < target; k++) {
      const set = sets[k % 2 === 0 ? 0 : 1]!;
      const name = set.names[Math.floor(k / 2) % set.names.length]!;
      const a = decodeWav(readFileSync(join(set.dir, name, 'conv.wav'))).samples;
      const piece = a.subarray(0, Math.min(a.length, target - total));
      pieces.push(piece);
      total += piece.length;
    }
    const all = new Float32Array(total);
    let at = 0;
    for (const p of pieces) (all.set(p, at), (at += p.length));
    const wavPath = join(work, 'long.wav');
    writeFileSync(wavPath, encodeWav(all));
    const mp3 = join(work, 'long.mp3');
    const enc = spawnSync(decoder.bin, ['-v', 'error', '-i', wavPath, '-ac', '2', '-ar', '44100', '-b:a', '128k', mp3]);
    if (enc.status !== 0) throw new Error(`encoding the bench file failed: ${enc.stderr}`);
    rmSync(wavPath);
    const audioS = total / 16_000;
    console.log('');
    console.log(`speed: ${audioS.toFixed(0)} s of audio (${minutes} min, MP3 128 kb/s stereo 44.1 kHz), ${process.env.ASR_THREADS ?? 'default'} ASR threads`);
    const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
    console.log(`load average at start: ${load} on ${(await import('node:os')).cpus().length} cores (other work on the machine slows the wall-clock column)`);
    console.log('| run | wall s | × real time | this process CPU s | × real time per CPU s | segments |');
    console.log('|---|---|---|---|---|---|');
    {
      const t0 = performance.now();
      for await (const c of decodeAudio({ path: mp3 }, { decoder }).chunks()) void c;
      const s = (performance.now() - t0) / 1000;
      console.log(`| decode only (${decoder.name}, a child process) | ${s.toFixed(2)} | ${(audioS / s).toFixed(0)}× | — | — | — |`);
    }
    const runs: Array<{ label: string; overrides: Record<string, unknown> }> = [
      { label: 'diarization only (ASR off)', overrides: { ASR_MODEL: 'none' } },
    ];
    const arch = args['asr-arch'] ?? 'base';
    const build = locateWhisperBuild(fromRoot('build/whisper'));
    let modelPath: string | null = null;
    if (args.full === '0') console.log('(--full=0: the full run with speech recognition is skipped)');
    else if (existsSync(build.serverBin)) {
      modelPath = ensureRandomWhisperModel(arch, fromRoot('build/bench-models'));
      runs.push({ label: `full (whisper.cpp ${arch}, random weights)`, overrides: { ASR_MODEL_PATH: modelPath, ASR_DEVICE: 'cpu' } });
    } else console.log(`(no whisper-server at ${build.serverBin}: full run skipped; npm run build:whisper)`);
    let fullPer30s: number | null = null;
    for (const run of runs) {
      const config = loadConfig(process.env, [], { LOG_LEVEL: 'warn', ...run.overrides });
      const pipeline = await buildPipeline(config, {}, log);
      try {
        const cpu0 = process.cpuUsage();
        const r = await transcribeFile({ path: mp3 }, fileStagesFrom(pipeline, config), { decoder, language: 'en' });
        const cpu = process.cpuUsage(cpu0);
        const cpuS = (cpu.user + cpu.system) / 1e6;
        const s = r.processing_s;
        console.log(`| ${run.label} | ${s.toFixed(2)} | ${(audioS / s).toFixed(1)}× | ${cpuS.toFixed(2)} | ${(audioS / cpuS).toFixed(1)}× | ${r.conversation.segments.length} |`);
        if (run.overrides.ASR_MODEL_PATH) fullPer30s = (s * 1000 * 30) / audioS;
      } finally {
        await pipeline.close();
      }
    }
    if (fullPer30s !== null && modelPath && existsSync(build.benchBin)) {
      const benchMs = await whisperBenchEncodeMs(build.benchBin, modelPath);
      console.log('');
      console.log(`full path: ${fullPer30s.toFixed(0)} ms per 30 s of audio; whisper-bench encode of one 30 s window: ${benchMs.toFixed(0)} ms; ratio ${(fullPer30s / benchMs).toFixed(2)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** whisper-bench's encoder time for one 30 s window (ms), with the server's thread count. */
function whisperBenchEncodeMs(bin: string, model: string): Promise<number> {
  const threads = String(loadConfig(process.env).ASR_THREADS || 2);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-m', model, '-t', threads, '-ng'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      const m = /encode time =\s*([\d.]+) ms\s*\/\s*(\d+) runs/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]) / Number(m[2]));
      else reject(new Error(`whisper-bench failed (exit ${code})`));
    });
  });
}
