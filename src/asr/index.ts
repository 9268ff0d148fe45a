/**
 * Speech recognition for the rest of the server: build the engine from the configuration
 * (or none: diarization-only mode), queue segments, filter hallucinations.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { fromRoot } from '../paths.js';
import { AsrQueue } from './queue.js';
import type { DeviceProbe } from './device.js';
import { RedisAsrEngine } from './redis/engine.js';
import { consoleAsrLog, type AsrEngine, type AsrLog } from './types.js';
import { WhisperServerEngine, type RequestTimeout } from './whisper-server.js';
import { locateWhisperBuild } from './whisper-build.js';
import { asrEngineStatus, asrModelPath, whyNoLocalAsr, type AsrEngineStatus, type AsrReason } from './availability.js';

export {
  AsrEngineError,
  consoleAsrLog,
  type AsrEngine,
  type AsrEngineErrorCode,
  type AsrLog,
  type AsrLogLevel,
  type AsrResult,
  type AsrSegment,
} from './types.js';
export { cleanTranscript } from './hallucination.js';
export { AsrQueue, AsrQueueError, type AsrLane, type AsrQueueErrorCode, type AsrQueueOptions, type EnqueueOptions, type LaneOptions, type PartialCounts, type PartialOptions, type QueueLoad, type StopWaits } from './queue.js';
export { resolveDevice, systemDeviceProbe, type AsrDevice, type AsrDeviceChoice, type DeviceDecision, type DeviceProbe } from './device.js';
export { CPU_REQUEST_TIMEOUT, GPU_REQUEST_TIMEOUT, WhisperServerEngine, type RequestTimeout, type WhisperServerOptions } from './whisper-server.js';
export { hasWhisperServer, locateWhisperBuild, type WhisperBackends, type WhisperBuild } from './whisper-build.js';
export { RedisAsrEngine, type RedisAsrEngineOptions } from './redis/engine.js';
export { AsrWorker, type AsrWorkerOptions } from './redis/worker.js';
export { RemoteAsrError, type RemoteAsrErrorCode } from './redis/streams.js';

type AsrConfig = Pick<
  Config,
  | 'ASR_MODEL'
  | 'ASR_MODEL_PATH'
  | 'MODELS_DIR'
  | 'ASR_DEVICE'
  | 'ASR_THREADS'
  | 'ASR_QUEUE_MAX'
  | 'ASR_TIMEOUT_BASE_S'
  | 'ASR_TIMEOUT_PER_AUDIO_S'
  | 'WHISPER_BUILD_DIR'
  | 'QUEUE_URL'
  | 'QUEUE_TLS_CA'
  | 'JOB_DEADLINE_MS'
>;

export { asrModelPath, asrEngineStatus, whyNoLocalAsr, ASR_HINTS, type AsrEngineStatus, type AsrHealth, type AsrReason } from './availability.js';

export interface CreateAsrOptions {
  log?: AsrLog;
  probe?: DeviceProbe;
  /** Per-request time limit; by default the settings' (`requestTimeoutOf`). */
  requestTimeout?: Partial<RequestTimeout>;
}

/**
 * The request time limit the settings ask for: ASR_TIMEOUT_BASE_S, plus ASR_TIMEOUT_PER_AUDIO_S
 * per second of audio, or the device's own rate (10 on a CPU, 2 on a GPU) when that is 0.
 */
export function requestTimeoutOf(config: Pick<Config, 'ASR_TIMEOUT_BASE_S' | 'ASR_TIMEOUT_PER_AUDIO_S'>): Partial<RequestTimeout> {
  return {
    baseMs: Math.round(config.ASR_TIMEOUT_BASE_S * 1000),
    ...(config.ASR_TIMEOUT_PER_AUDIO_S > 0 ? { perAudioSecondMs: Math.round(config.ASR_TIMEOUT_PER_AUDIO_S * 1000) } : {}),
  };
}

/**
 * The configured engine, not yet loaded (call `load()`), or null — with the reason logged —
 * when there is no model to run (`ASR_MODEL=none`, model file missing) or whisper.cpp has not
 * been built: the server then runs in diarization-only mode.
 */
export function createAsrEngine(config: AsrConfig, options: CreateAsrOptions = {}): WhisperServerEngine | null {
  const log = options.log ?? consoleAsrLog;
  const missing = whyNoLocalAsr(config);
  if (missing) {
    log(missing.reason === 'disabled' ? 'info' : 'warn', missing.message);
    return null;
  }
  const modelPath = asrModelPath(config)!;
  const build = locateWhisperBuild(config.WHISPER_BUILD_DIR);
  return new WhisperServerEngine({
    serverBin: build.serverBin,
    modelPath,
    modelLabel: config.ASR_MODEL_PATH ? undefined : config.ASR_MODEL,
    backends: build.backends,
    device: config.ASR_DEVICE,
    threads: config.ASR_THREADS,
    log,
    probe: options.probe,
    requestTimeout: options.requestTimeout ?? requestTimeoutOf(config),
  });
}

/**
 * With QUEUE_URL: recognition by workers through Redis Streams (the model lives on the
 * workers, so only `ASR_MODEL=none` turns it off here), or null in diarization-only mode.
 */
export function createRemoteAsrEngine(
  config: Pick<Config, 'ASR_MODEL' | 'QUEUE_URL' | 'QUEUE_TLS_CA' | 'JOB_DEADLINE_MS'>,
  log: AsrLog = consoleAsrLog,
): RedisAsrEngine | null {
  if (config.ASR_MODEL === 'none' || config.ASR_MODEL === '') {
    log('info', 'ASR_MODEL=none: speech recognition off (diarization only)');
    return null;
  }
  return new RedisAsrEngine({ url: config.QUEUE_URL, tlsCa: queueTlsCa(config), deadlineMs: config.JOB_DEADLINE_MS, log });
}

/** The QUEUE_TLS_CA file's contents, or undefined (the system's CAs). */
export function queueTlsCa(config: Pick<Config, 'QUEUE_TLS_CA'>): Buffer | undefined {
  return config.QUEUE_TLS_CA ? readFileSync(fromRoot(config.QUEUE_TLS_CA)) : undefined;
}

/** Process-wide speech recognition, ready to use: what the pipeline needs. */
export interface AsrService {
  /** For `model_loaded.models.asr`: e.g. `whisper.cpp base (cpu, 2 threads)`, or null (diarization only). */
  readonly name: string | null;
  /** The shared queue: each session opens its own lane (`queue.openLane()`), served in turn. */
  readonly queue: AsrQueue;
  /** Fails waiting jobs, waits for the running one, stops whisper-server. Idempotent. */
  close(): Promise<void>;
  /** Whether recognition is up, and why not (for /api/status and the page's banner). */
  status(): AsrEngineStatus;
}

/**
 * Builds and loads the engine (or takes `engine` as given, e.g. a fake or null) and puts the
 * shared queue in front of it. A model that fails to load means diarization-only mode, logged,
 * not a failed start.
 */
export async function startAsr(config: AsrConfig, options: CreateAsrOptions & { engine?: AsrEngine | null; wrap?: (engine: AsrEngine) => AsrEngine } = {}): Promise<AsrService> {
  const log = options.log ?? consoleAsrLog;
  let engine = options.engine !== undefined ? options.engine : config.QUEUE_URL ? createRemoteAsrEngine(config, log) : createAsrEngine(config, options);
  // Instrumentation (metrics) sees the engine behind its own interface.
  if (engine && options.wrap) engine = options.wrap(engine);
  // Why there is no engine, for /api/status and the page's banner.
  let noEngine: { reason: AsrReason } | null = engine ? null : options.engine !== undefined || config.QUEUE_URL ? { reason: 'disabled' } : whyNoLocalAsr(config);
  if (engine) {
    try {
      await engine.load();
    } catch (err) {
      log('error', `speech recognition failed to start: ${(err as Error).message}; running diarization only`);
      await engine.close();
      engine = null;
      noEngine = { reason: config.QUEUE_URL ? 'queue_unreachable' : 'load_failed' };
    }
  }
  const queue = new AsrQueue(engine, { maxQueued: config.ASR_QUEUE_MAX, log });
  let closing: Promise<void> | null = null;
  const running = engine;
  return {
    name: engine?.name ?? null,
    status: () => asrEngineStatus(running, noEngine),
    queue,
    close: () =>
      (closing ??= (async () => {
        await queue.close();
        await engine?.close();
      })()),
  };
}
