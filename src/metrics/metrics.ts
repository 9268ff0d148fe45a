/**
 * The server's Prometheus metrics (prom-client), in a registry of their own so that several
 * servers in one process (tests) never share counters. The pipeline's parts are measured by
 * wrapping them behind their own interfaces (engine, VAD, speaker encoder, store filesystem,
 * recognizer): nothing inside the pipeline knows about metrics.
 *
 * Labels are bounded by construction: `class` (live|file), `code` (timeout|crashed|failed),
 * `op` (append|write), `status` (queued|running|done|failed). No conversation, session or
 * voice id is ever a label. docs/integrations.md lists every metric.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SAMPLE_RATE } from '../audio/constants.js';
import { AsrEngineError, type AsrEngine } from '../asr/types.js';
import type { Recognizer } from '../session/ports.js';
import type { SpeakerEncoder } from '../speaker/types.js';
import type { StorageFs } from '../storage/fs.js';
import type { VadModel, VadStream } from '../vad/types.js';

/** Who a recognition job is for: a live session, or the file jobs' shared lane. */
export type RecognitionClass = 'live' | 'file';
type FileStatus = 'queued' | 'running' | 'done' | 'failed';

/** Live values read at scrape time. Each must be cheap and must not throw. */
export interface MetricSources {
  sessions(): number;
  openConversations(): number;
  fileJobs(): Record<FileStatus, number>;
  /** Live recognition workers' slots by their heartbeats (Redis mode); absent without Redis. */
  workerSlots?(): number;
}

/** Recognition latency buckets, seconds: a live part is answered in well under a second on a GPU, several on a slow CPU. */
const LATENCY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];
/** Real-time factor buckets: processing seconds per second of audio. */
const RTF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 4];
/** Store write (fsync'd) buckets, seconds. */
const WRITE_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const seconds = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e9;

/**
 * `inner` with the members of `own` in place of its own, and every other member — present now or
 * added to its interface later (an engine's `health()` or `device`, a recognizer's `partial()`) —
 * read from `inner` itself, methods bound to it. A wrapper that copied members by hand lost each
 * one added after it was written.
 */
function passThrough<T extends object>(inner: T, own: Partial<T>): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(own, prop)) return (own as Record<PropertyKey, unknown>)[prop];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export class DuetMetrics {
  readonly registry = new Registry();
  private readonly pendingByClass: Record<RecognitionClass, Set<Recognizer>> = { live: new Set(), file: new Set() };
  private readonly latency: Histogram<'class'>;
  private readonly rtf: Histogram;
  private readonly engineErrors: Counter<'code'>;
  private readonly restarts: Counter;
  private readonly filesFinished: Counter<'status'>;
  private readonly writeSeconds: Histogram<'op'>;
  private readonly writeFailures: Counter<'op'>;
  private readonly vadSeconds: Counter;
  private readonly vadAudio: Counter;
  private readonly speakerSeconds: Counter;
  private readonly speakerAudio: Counter;
  /** Running totals behind the per-audio-second gauges (prom-client counters are not readable synchronously). */
  private readonly totals = { vadS: 0, vadAudioS: 0, speakerS: 0, speakerAudioS: 0 };

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    // Process figures by hand: prom-client's default set names some gauges `_total`, which
    // promtool's lint rejects.
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage().rss);
      },
    });
    new Gauge({
      name: 'nodejs_heap_memory_bytes',
      help: 'V8 heap memory in bytes, by kind (used, total) and memory outside the heap (external, array_buffers).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const m = process.memoryUsage();
        this.set({ kind: 'used' }, m.heapUsed);
        this.set({ kind: 'total' }, m.heapTotal);
        this.set({ kind: 'external' }, m.external);
        this.set({ kind: 'array_buffers' }, m.arrayBuffers);
      },
    });
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time spent, seconds.',
      registers,
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since the unix epoch, seconds.', registers }).set(Math.round(Date.now() / 1000 - process.uptime()));
    new Gauge({ name: 'duet_live_sessions', help: 'Open WebSocket sessions.', registers, collect() { this.set(sources.sessions()); } });
    new Gauge({ name: 'duet_open_conversations', help: 'Conversations open or suspended (waiting for their client to resume).', registers, collect() { this.set(sources.openConversations()); } });
    const byClass = this.pendingByClass;
    new Gauge({
      name: 'duet_recognition_queue_depth',
      help: 'Recognition jobs not finished yet (waiting or running), by class of client.',
      labelNames: ['class'] as const,
      registers,
      collect() {
        for (const cls of ['live', 'file'] as const) {
          let n = 0;
          for (const r of byClass[cls]) n += r.pending;
          this.set({ class: cls }, n);
        }
      },
    });
    this.latency = new Histogram({ name: 'duet_recognition_latency_seconds', help: 'Time from queuing a part for recognition to its text (queue wait included), seconds.', labelNames: ['class'] as const, buckets: LATENCY_BUCKETS_S, registers });
    this.rtf = new Histogram({ name: 'duet_recognition_real_time_factor', help: 'Engine processing time per second of audio of each recognised part.', buckets: RTF_BUCKETS, registers });
    this.engineErrors = new Counter({ name: 'duet_asr_engine_errors_total', help: 'Recognition jobs the engine failed, by code (timeout, crashed, failed).', labelNames: ['code'] as const, registers });
    this.restarts = new Counter({ name: 'duet_asr_engine_restarts_total', help: 'Engine restarts (after a timeout or a crash).', registers });
    new Gauge({
      name: 'duet_file_jobs',
      help: 'File transcription jobs kept now, by status.',
      labelNames: ['status'] as const,
      registers,
      collect() {
        const counts = sources.fileJobs();
        for (const status of ['queued', 'running', 'done', 'failed'] as const) this.set({ status }, counts[status]);
      },
    });
    this.filesFinished = new Counter({ name: 'duet_file_jobs_finished_total', help: 'File transcription jobs finished since start, by outcome (done, failed).', labelNames: ['status'] as const, registers });
    if (sources.workerSlots) {
      const slots = sources.workerSlots;
      new Gauge({ name: 'duet_asr_worker_slots', help: 'Jobs the live recognition workers take at once, by their last heartbeats (Redis mode).', registers, collect() { this.set(slots()); } });
    }
    this.writeSeconds = new Histogram({ name: 'duet_store_write_seconds', help: 'Conversation store writes (data forced to disk), seconds, by operation.', labelNames: ['op'] as const, buckets: WRITE_BUCKETS_S, registers });
    this.writeFailures = new Counter({ name: 'duet_store_write_failures_total', help: 'Conversation store writes that failed, by operation.', labelNames: ['op'] as const, registers });
    this.vadSeconds = new Counter({ name: 'duet_vad_seconds_total', help: 'Time spent scoring frames in the voice activity model, seconds.', registers });
    this.vadAudio = new Counter({ name: 'duet_vad_audio_seconds_total', help: 'Audio scored by the voice activity model, seconds.', registers });
    this.speakerSeconds = new Counter({ name: 'duet_speaker_seconds_total', help: 'Time spent computing voice embeddings, seconds.', registers });
    this.speakerAudio = new Counter({ name: 'duet_speaker_audio_seconds_total', help: 'Audio turned into voice embeddings, seconds.', registers });
    const totals = this.totals;
    new Gauge({ name: 'duet_vad_seconds_per_audio_second', help: 'Voice activity model time per second of audio since start (0 before any audio).', registers, collect() { this.set(totals.vadAudioS > 0 ? totals.vadS / totals.vadAudioS : 0); } });
    new Gauge({ name: 'duet_speaker_seconds_per_audio_second', help: 'Voice embedding time per second of audio since start (0 before any audio).', registers, collect() { this.set(totals.speakerAudioS > 0 ? totals.speakerS / totals.speakerAudioS : 0); } });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** Counts a finished file job. */
  fileJobFinished(status: 'done' | 'failed'): void {
    this.filesFinished.inc({ status });
  }

  /** A recognizer that reports its latency and queue depth under `cls`. */
  recognizer(inner: Recognizer, cls: RecognitionClass): Recognizer {
    const latency = this.latency;
    const set = this.pendingByClass[cls];
    set.add(inner);
    // Interim text (partial, partialsAllowed) passes through unmeasured: it is best-effort.
    return passThrough(inner, {
      async transcribe(samples, language, signal, conversation) {
        const t0 = process.hrtime.bigint();
        const text = await inner.transcribe(samples, language, signal, conversation);
        latency.observe({ class: cls }, seconds(t0));
        return text;
      },
      close() {
        set.delete(inner);
        inner.close();
      },
    });
  }

  /** An engine that reports its real-time factor, failures and restarts. */
  engine(inner: AsrEngine): AsrEngine {
    const { rtf, engineErrors, restarts } = this;
    return passThrough(inner, {
      async transcribe(samples, options) {
        const t0 = process.hrtime.bigint();
        try {
          const result = await inner.transcribe(samples, options);
          if (samples.length > 0) rtf.observe(seconds(t0) / (samples.length / SAMPLE_RATE));
          return result;
        } catch (err) {
          if (err instanceof AsrEngineError) {
            engineErrors.inc({ code: err.code });
            // The engine restarts itself after these two (types.ts).
            if (err.code === 'timeout' || err.code === 'crashed') restarts.inc();
          }
          throw err;
        }
      },
    });
  }

  /** A VAD model whose streams report processing time per audio second. */
  vad(inner: VadModel): VadModel {
    const measure = this.perAudioSecond('vad');
    return passThrough(inner, {
      createStream(): VadStream {
        const stream = inner.createStream();
        return passThrough(stream, { process: (frame) => measure(frame, () => stream.process(frame)) });
      },
    });
  }

  /** A speaker encoder that reports embedding time per audio second; everything else passes through. */
  encoder(inner: SpeakerEncoder): SpeakerEncoder {
    const measure = this.perAudioSecond('speaker');
    const own: Record<string, unknown> = {};
    // embedWindows is an optional extra of some encoders (not in the interface).
    for (const name of ['embed', 'embedWindows']) {
      const method = (inner as unknown as Record<string, unknown>)[name] as ((samples: Float32Array, ...rest: unknown[]) => Promise<unknown>) | undefined;
      if (method) own[name] = (samples: Float32Array, ...rest: unknown[]) => measure(samples, () => method.call(inner, samples, ...rest));
    }
    return passThrough(inner, own as Partial<SpeakerEncoder>);
  }

  /** Times `work` on `samples` into the VAD's or the encoder's seconds and audio seconds. */
  private perAudioSecond(kind: 'vad' | 'speaker'): <T>(samples: Float32Array, work: () => Promise<T>) => Promise<T> {
    const [spent, audio] = kind === 'vad' ? [this.vadSeconds, this.vadAudio] : [this.speakerSeconds, this.speakerAudio];
    const totals = this.totals;
    return async (samples, work) => {
      const t0 = process.hrtime.bigint();
      const out = await work();
      const s = seconds(t0);
      const audioS = samples.length / SAMPLE_RATE;
      spent.inc(s);
      audio.inc(audioS);
      if (kind === 'vad') {
        totals.vadS += s;
        totals.vadAudioS += audioS;
      } else {
        totals.speakerS += s;
        totals.speakerAudioS += audioS;
      }
      return out;
    };
  }

  /** A store filesystem that reports write latency and failures. */
  storageFs(inner: StorageFs): StorageFs {
    const timed = <A extends unknown[]>(op: 'append' | 'write', fn: (...args: A) => Promise<void>) =>
      async (...args: A): Promise<void> => {
        const end = this.writeSeconds.startTimer({ op });
        try {
          await fn(...args);
          end();
        } catch (err) {
          this.writeFailures.inc({ op });
          throw err;
        }
      };
    return {
      ...inner,
      append: timed('append', (path: string, data: string) => inner.append(path, data)),
      writeAtomic: timed('write', (path: string, data: string) => inner.writeAtomic(path, data)),
    };
  }
}
