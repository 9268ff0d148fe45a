/**
 * `npm run bench:latency -- --partials [--models=tiny,base] [--sessions=1,2,4] [--modes=off,on,auto]
 *   [--seconds=20] [--repeat=1] [--kind=easy] [--ctx-reps=3] [--no-ctx]`
 *
 * Interim text against final text, with the real whisper.cpp engine on this machine and
 * random-weight models of the real architecture (build/bench-models; ASR_MODEL_PATH to use a
 * trained one). For each model, each number of live sessions and each PARTIALS mode, a fresh
 * server gets N sessions streaming N dev conversations at real-time pace, and the table gives:
 * first-partial latency (audio at a segment's start sent → its first partial with text
 * received) p50/p95, `transcription` latency p95 and its ratio to the same N with partials off,
 * partials per segment, the engine's busy share (finals / partials, measured at the engine), and
 * the CPU of the server process and of the whisper-server child (% of one core). Also: finals
 * received / segments (every final arrives, or the errors column says why not), and the finals
 * that stopped a running partial: how many, and how long each waited for the engine to be free
 * (the stopped partial's tail: from the partial's stop to the final's start in the queue, plus
 * the wait whisper-server reports for its model lock, `duet_wait_ms`).
 *
 * `--repeat=N` runs every row N times (modes interleaved: off, on, …, off, on, …) on fresh
 * servers. The table pools the N runs (p95 of all their finals) and gives the spread of the
 * per-run ratio to off (min–max over the runs, run k of a mode against run k of off): with 20 s
 * per session a row has ~20 finals, and their p95 is almost their maximum.
 *
 * Then the audio-context table: one engine, each length of audio transcribed with the full 30 s
 * context and with about its own length (what partials use), median of `--ctx-reps` runs.
 *
 * The random-weight model says one word (" fake") and stops, so its decoder does less than a
 * trained model's answer would; the token caps (finals ASR_TOKENS_PER_S=6, partials
 * PARTIAL_TOKENS_PER_S=6, each + 4) are set as a trained model would need them but are never
 * reached by it. The encoder, which dominates on a CPU, runs at true cost.
 */
import { readFileSync } from 'node:fs';
import { createAsrEngine, type AsrEngine } from '../../../src/asr/index.js';
import type { AsrJobOptions, AsrResult } from '../../../src/asr/types.js';
import type { WhisperServerEngine } from '../../../src/asr/whisper-server.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { fromRoot } from '../../../src/paths.js';
import { startServer } from '../../../src/server.js';
import { ensureRandomWhisperModel } from '../../../src/testing/whisper-model.js';
import { loadSetConversation, setNames } from './corpus-sets.js';
import { fmt, measureProcess, percentile, runRealtimeClient, type RealtimeResult } from './realtime.js';

/** Measures the engine's busy time by class, passing every job through unchanged. */
class MeteredEngine implements AsrEngine {
  busyMs = { final: 0, partial: 0 };
  jobs = { final: 0, partial: 0 };
  /** Per final that came after a stopped partial: ms from the stop to the engine starting on it. */
  stopWaitsMs: number[] = [];
  /** When the last partial was stopped (its call rejected on abort), until the next final starts. */
  private stoppedAtMs: number | null = null;
  /** Audio seconds of the finals run (for their real-time factor, what PARTIALS=auto reads). */
  finalAudioS = 0;
  constructor(readonly inner: WhisperServerEngine) {}
  get name(): string {
    return this.inner.name;
  }
  get device(): string {
    return this.inner.device;
  }
  load(): Promise<void> {
    return this.inner.load();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async transcribe(samples: Float32Array, options: AsrJobOptions): Promise<AsrResult> {
    const kind = options.priority === 'partial' ? 'partial' : 'final';
    const t0 = performance.now();
    const stoppedAtMs = kind === 'final' ? this.stoppedAtMs : null;
    if (kind === 'final') this.stoppedAtMs = null;
    try {
      const result = await this.inner.transcribe(samples, options);
      // whisper-server (patched) says how long the final waited for the stopped partial's tail.
      if (stoppedAtMs !== null) this.stopWaitsMs.push(t0 - stoppedAtMs + (result.engineWaitMs ?? Number.NaN));
      return result;
    } finally {
      this.busyMs[kind] += performance.now() - t0;
      this.jobs[kind]++;
      if (kind === 'final') this.finalAudioS += samples.length / 16_000;
      if (kind === 'partial' && options.signal?.aborted) this.stoppedAtMs = performance.now();
    }
  }
}

/** CPU seconds (user + system) of process `pid` so far, from /proc; 0 when unreadable. */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the engine's child over a run, across restarts (a timed-out request restarts
 * whisper-server under a new pid): sampled every 250 ms, each pid counted from when it was seen
 * (a new child from 0, since it started inside the run).
 */
function childCpuMeter(pidOf: () => number | undefined): { stop(): number } {
  const seen = new Map<number, { first: number; last: number }>();
  const sample = () => {
    const pid = pidOf();
    if (pid === undefined) return;
    const now = cpuSecondsOf(pid);
    const entry = seen.get(pid);
    if (entry) entry.last = Math.max(entry.last, now);
    else seen.set(pid, { first: seen.size === 0 ? now : 0, last: now });
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    stop() {
      sample();
      clearInterval(timer);
      let total = 0;
      for (const e of seen.values()) total += e.last - e.first;
      return total;
    },
  };
}

interface Row {
  model: string;
  sessions: number;
  mode: string;
  /** Which run of `--repeat` (0-based); pooled rows keep the first. */
  run: number;
  /** Transcriptions received (each segment should get one). */
  finals: number;
  /** Per final after a stopped partial, ms it waited for the engine (see MeteredEngine). */
  stopWaitsMs: number[];
  firstPartial: number[];
  transcription: number[];
  segments: number;
  partials: number;
  segmentsWithPartial: number;
  finalBusy: number;
  finalRtf: number;
  partialBusy: number;
  serverCpu: number;
  childCpu: number;
  errors: string[];
}

const median = (xs: number[]) => percentile(xs, 50);

/**
 * A client that failed (refused, or its `transcription_stopped` never came): counted in the
 * errors column as `client`, so a run under overload ends with its numbers instead of a crash.
 */
function failedClient(err: unknown): RealtimeResult {
  process.stderr.write(`[bench:partials] a client failed: ${(err as Error).message}\n`);
  return { segmentLatencyS: [], transcriptionLatencyS: [], segments: 0, errors: ['client'], firstPartialLatencyS: [], partials: 0 };
}

/** p95 of `r`'s finals over that of the off row of the same model, sessions (and run, when `sameRun`). */
function ratioToOff(rows: readonly Row[], r: Row, sameRun: boolean): number {
  const off = rows.find((o) => o.model === r.model && o.sessions === r.sessions && o.mode === 'off' && (!sameRun || o.run === r.run));
  return off ? percentile(r.transcription, 95) / percentile(off.transcription, 95) : Number.NaN;
}

/** Errors by code, e.g. `overloaded×3`. */
function errorSummary(errors: readonly string[]): string {
  if (errors.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const e of errors) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts].map(([code, n]) => (n > 1 ? `${code}×${n}` : code)).join(', ');
}

/** `n, p50 / p95 / max ms` of the finals that came after a stopped partial. */
function stopWaitCell(waits: readonly number[]): string {
  if (waits.length === 0) return '0';
  const known = waits.filter(Number.isFinite);
  if (known.length === 0) return `${waits.length}, wait not reported`;
  const ms = (x: number) => x.toFixed(0);
  return `${waits.length}, ${ms(percentile(known, 50))} / ${ms(percentile(known, 95))} / ${ms(Math.max(...known))}`;
}

/**
 * One table row; the ratio is to the row of the same model and sessions with PARTIALS=off, and
 * `spread` (when given: the runs of `--repeat`) adds the per-run ratios' min–max.
 */
function rowLine(rows: readonly Row[], r: Row, spread?: readonly Row[]): string {
  const p95 = percentile(r.transcription, 95);
  const ratio = ratioToOff(rows, r, false);
  let ratioCell = r.mode === 'off' ? '1' : fmt(ratio, 2);
  if (spread && r.mode !== 'off') {
    const perRun = spread.filter((o) => o.model === r.model && o.sessions === r.sessions && o.mode === r.mode).map((o) => ratioToOff(spread, o, true));
    if (perRun.length > 1) ratioCell += ` (${fmt(Math.min(...perRun), 2)}–${fmt(Math.max(...perRun), 2)})`;
  }
  return (
    `| ${r.model} | ${r.sessions} | ${r.mode} | ${fmt(percentile(r.firstPartial, 50))} | ${fmt(percentile(r.firstPartial, 95))} | ${fmt(p95)} | ${ratioCell} | ` +
    `${r.finals} / ${r.segments} | ${r.partials} / ${r.segments} (${r.segmentsWithPartial}) | ${stopWaitCell(r.stopWaitsMs)} | ${(r.finalBusy * 100).toFixed(0)} % / ${(r.partialBusy * 100).toFixed(0)} % | ${fmt(r.finalRtf, 2)} | ` +
    `${r.serverCpu.toFixed(0)} / ${r.childCpu.toFixed(0)} | ${errorSummary(r.errors)} |`
  );
}

/** The runs of one model, sessions and mode pooled into one row (latencies joined, shares averaged). */
function pool(runs: readonly Row[]): Row[] {
  const out: Row[] = [];
  for (const r of runs) {
    const same = out.find((o) => o.model === r.model && o.sessions === r.sessions && o.mode === r.mode);
    if (!same) {
      out.push({ ...r, firstPartial: [...r.firstPartial], transcription: [...r.transcription], stopWaitsMs: [...r.stopWaitsMs], errors: [...r.errors], run: 0 });
      continue;
    }
    const k = runs.filter((o) => o.model === r.model && o.sessions === r.sessions && o.mode === r.mode && o.run < r.run).length;
    const avg = (a: number, b: number) => (a * k + b) / (k + 1);
    same.firstPartial.push(...r.firstPartial);
    same.transcription.push(...r.transcription);
    same.stopWaitsMs.push(...r.stopWaitsMs);
    same.errors.push(...r.errors);
    same.segments += r.segments;
    same.finals += r.finals;
    same.partials += r.partials;
    same.segmentsWithPartial += r.segmentsWithPartial;
    same.finalBusy = avg(same.finalBusy, r.finalBusy);
    same.partialBusy = avg(same.partialBusy, r.partialBusy);
    same.finalRtf = avg(same.finalRtf, r.finalRtf);
    same.serverCpu = avg(same.serverCpu, r.serverCpu);
    same.childCpu = avg(same.childCpu, r.childCpu);
  }
  return out;
}

const HEADER =
  '| model | sessions | PARTIALS | first partial p50 s | p95 s | transcription p95 s | ratio to off | finals / segments | partials / segments (with one) | finals after a stopped partial: n, wait p50 / p95 / max ms | engine busy finals / partials | finals RTF | CPU server / whisper % | errors |';

export async function runPartialsBench(args: Record<string, string>): Promise<void> {
  const models = (args.models ?? args.model ?? 'tiny,base').split(',');
  const sessionsList = (args.sessions ?? '1,2,4').split(',').map(Number);
  const modes = (args.modes ?? 'off,on,auto').split(',');
  const seconds = Number(args.seconds ?? 20);
  const repeats = Math.max(1, Math.floor(Number(args.repeat ?? 1)) || 1);
  const kind = args.kind ?? 'easy';
  const ctxReps = Number(args['ctx-reps'] ?? 3);
  const pairs = setNames('field').map((n) => n.replace(/-field$/, ''));
  const convs = pairs.map((p) => (kind === 'field' ? loadSetConversation('field', `${p}-field`) : loadSetConversation('conversations', `${p}-${kind}`)));
  const rows: Row[] = [];
  const ctxRows: string[] = [];
  const log = createLogger('warn');
  let device = 'cpu';

  for (const model of models) {
    const modelPath = process.env.ASR_MODEL_PATH || ensureRandomWhisperModel(model, fromRoot('build/bench-models'));
    for (const n of sessionsList) {
      for (let run = 0; run < repeats; run++) {
        for (const mode of modes) {
          const config = loadConfig(process.env, [], {
            HOST: '127.0.0.1',
            PORT: 0,
            LOG_LEVEL: 'warn',
            TLS_CERT: 'build/bench-certs/fullchain.pem',
            TLS_KEY: 'build/bench-certs/privkey.pem',
            MAX_SESSIONS: Math.max(4, n),
            ASR_MODEL_PATH: modelPath,
            PARTIALS: mode as 'auto' | 'on' | 'off',
            ASR_TOKENS_PER_S: 6,
            // A shared, overloaded CPU can take many times its quiet time: a long limit keeps the
            // engine from being restarted mid-run, so the rows measure latency, not restarts.
            ASR_TIMEOUT_BASE_S: 60,
            // After its stop a client only waits for its finals; with a backlog (many sessions, a
            // busy CPU) that can take longer than the idle limit (120 s), which closes the session
            // and loses them. The rows measure latency, so the limit is lifted.
            IDLE_TIMEOUT_MS: 3_600_000,
            DATA_DIR: fromRoot('build/bench-data'),
          });
          const inner = createAsrEngine(config, { log: () => undefined });
          if (!inner) throw new Error('no whisper.cpp engine: run `npm run build:whisper`');
          const engine = new MeteredEngine(inner);
          const server = await startServer(config, { log, asr: engine });
          device = inner.device;
          try {
            // A short warm-up so the first measured job does not pay the model's first touch.
            await inner.transcribe(new Float32Array(16_000), { language: 'en' }).catch(() => undefined);
            engine.busyMs = { final: 0, partial: 0 };
            engine.finalAudioS = 0;
            engine.stopWaitsMs = [];
            const meter = childCpuMeter(() => inner.pid);
            process.stderr.write(`[bench:partials] ${model}, ${n} session(s), PARTIALS=${mode}${repeats > 1 ? `, run ${run + 1}/${repeats}` : ''}: streaming ${seconds} s…\n`);
            const { result, cpuPercent, wallS } = await measureProcess(() =>
              Promise.all(Array.from({ length: n }, (_, i) => runRealtimeClient(server, convs[i % convs.length]!, seconds).catch(failedClient))),
            );
            const childCpu = (meter.stop() / wallS) * 100;
            rows.push({
              model,
              sessions: n,
              mode,
              run,
              finals: result.reduce((a, r) => a + r.transcriptionLatencyS.length, 0),
              stopWaitsMs: engine.stopWaitsMs,
              firstPartial: result.flatMap((r) => r.firstPartialLatencyS),
              transcription: result.flatMap((r) => r.transcriptionLatencyS),
              segments: result.reduce((a, r) => a + r.segments, 0),
              partials: result.reduce((a, r) => a + r.partials, 0),
              segmentsWithPartial: result.reduce((a, r) => a + r.firstPartialLatencyS.length, 0),
              finalBusy: engine.busyMs.final / 1000 / wallS,
              finalRtf: engine.busyMs.final / 1000 / Math.max(1e-9, engine.finalAudioS),
              partialBusy: engine.busyMs.partial / 1000 / wallS,
              serverCpu: cpuPercent,
              childCpu,
              errors: result.flatMap((r) => r.errors),
            });
            const last = rows[rows.length - 1]!;
            process.stderr.write(`[bench:partials] ${rowLine(rows.filter((o) => o.run === run), last)}\n`);
          } finally {
            await server.close();
          }
        }
      }
    }

    if (args['no-ctx'] === undefined) {
      const config = loadConfig(process.env, [], { ASR_MODEL_PATH: modelPath, LOG_LEVEL: 'warn', ASR_TIMEOUT_BASE_S: 60 });
      const engine = createAsrEngine(config, { log: () => undefined })!;
      await engine.load();
      try {
        const speech = convs[0]!.audio;
        await engine.transcribe(speech.subarray(0, 16_000), { language: 'en' });
        for (const lengthS of [1, 2, 4, 8]) {
          const audio = speech.subarray(16_000, 16_000 + lengthS * 16_000);
          const full: number[] = [];
          const short: number[] = [];
          for (let k = 0; k < ctxReps; k++) {
            let t0 = performance.now();
            await engine.transcribe(audio, { language: 'en' });
            full.push(performance.now() - t0);
            t0 = performance.now();
            await engine.transcribe(audio, { language: 'en', audioCtx: Math.ceil(lengthS * 50) + 16, maxTokens: lengthS * 6 + 4 });
            short.push(performance.now() - t0);
          }
          const f = median(full) / 1000;
          const s = median(short) / 1000;
          ctxRows.push(`| ${model} | ${lengthS} | ${fmt(f)} | ${fmt(s)} (${Math.ceil(lengthS * 50) + 16}) | ${fmt(f / s, 1)}× |`);
        }
      } finally {
        await engine.close();
      }
    }
  }

  console.log('');
  console.log(
    `Partials vs finals: ${sessionsList.join('/')} live sessions × ${seconds} s of ${kind} conversations at real-time pace, engine on ${device}${repeats > 1 ? `; each row ${repeats} runs pooled, ratio (min–max of the per-run ratios)` : ''}.`,
  );
  console.log('first partial = audio at the segment start sent → first partial with text; transcription = audio at the segment end sent → transcription.');
  console.log('');
  console.log(HEADER);
  console.log(`|${'---|'.repeat(HEADER.split('|').length - 2)}`);
  const pooled = pool(rows);
  for (const r of pooled) console.log(rowLine(pooled, r, rows));
  if (ctxRows.length) {
    console.log('');
    console.log(`Audio context (encoder frames of 20 ms): one job at a time, median of ${ctxReps}.`);
    console.log('');
    console.log('| model | audio s | full 30 s context s | own length s (frames) | speed-up |');
    console.log('|---|---|---|---|---|');
    for (const r of ctxRows) console.log(r);
  }
  console.log('');
  console.log('Token caps: finals ASR_TOKENS_PER_S=6, partials PARTIAL_TOKENS_PER_S=6 (each + 4 tokens); the random-weight model stops after one word, so they are never reached.');
}
