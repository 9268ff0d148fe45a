/**
 * Why speech recognition is or is not running, in words a user can act on: the state that
 * `/api/status` reports and the page's banner shows (with the command to run).
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { hasWhisperServer, locateWhisperBuild } from './whisper-build.js';
import { fromRoot } from '../paths.js';
import { join } from 'node:path';

/**
 * - `running`: the engine is up.
 * - `disabled`: `ASR_MODEL=none` (or no engine given): speakers only, on purpose.
 * - `model_missing`: the model file is not there (`npm run models`).
 * - `build_missing`: whisper.cpp has not been built (`npm run build:whisper`).
 * - `load_failed`: the engine did not start (see the server log).
 * - `restarting`: the engine failed and is being restarted.
 * - `no_workers`: recognition goes to workers and none is alive (`npm run worker`).
 * - `queue_unreachable`: Redis (QUEUE_URL) cannot be reached.
 * - `closed`: the server is shutting down.
 */
export type AsrReason = 'running' | 'disabled' | 'model_missing' | 'build_missing' | 'load_failed' | 'restarting' | 'no_workers' | 'queue_unreachable' | 'closed';

/** What an engine says about itself while it exists (see `AsrEngine.health`). */
export interface AsrHealth {
  up: boolean;
  reason: AsrReason;
  message: string;
}

/** Speech recognition's state as `/api/status` reports it. */
export interface AsrEngineStatus {
  /** `up`: text is produced; `down`: an engine exists but cannot work now; `none`: no engine. */
  state: 'up' | 'down' | 'none';
  reason: AsrReason;
  /** One sentence for a person. */
  message: string;
  /** The command that fixes it, or null. */
  hint: string | null;
  /** The engine's description (`whisper.cpp base (cpu, 4 threads)`), or null. */
  name: string | null;
}

/** The command that fixes each reason, where there is one. */
export const ASR_HINTS: Readonly<Partial<Record<AsrReason, string>>> = {
  model_missing: 'npm run models',
  build_missing: 'npm run build:whisper',
  load_failed: 'npm run build:whisper',
  no_workers: 'npm run worker',
};

/** The model file the configuration points at (absolute), or null for `ASR_MODEL=none`. */
export function asrModelPath(config: Pick<Config, 'ASR_MODEL' | 'ASR_MODEL_PATH' | 'MODELS_DIR'>): string | null {
  if (config.ASR_MODEL_PATH) return fromRoot(config.ASR_MODEL_PATH);
  if (config.ASR_MODEL === 'none' || config.ASR_MODEL === '') return null;
  return fromRoot(join(config.MODELS_DIR, `ggml-${config.ASR_MODEL}.bin`));
}

/** Why the local engine cannot be built from these settings, or null when it can. */
export function whyNoLocalAsr(
  config: Pick<Config, 'ASR_MODEL' | 'ASR_MODEL_PATH' | 'MODELS_DIR' | 'WHISPER_BUILD_DIR'>,
): { reason: AsrReason; message: string; path?: string } | null {
  const modelPath = asrModelPath(config);
  if (!modelPath) return { reason: 'disabled', message: 'ASR_MODEL=none: speech recognition off (diarization only)' };
  if (!existsSync(modelPath)) return { reason: 'model_missing', message: `model file ${modelPath} not found (run \`npm run models\`): speech recognition off (diarization only)`, path: modelPath };
  const build = locateWhisperBuild(config.WHISPER_BUILD_DIR);
  if (!hasWhisperServer(build)) {
    return { reason: 'build_missing', message: `${build.serverBin} not found (run \`npm run build:whisper\`): speech recognition off (diarization only)`, path: build.serverBin };
  }
  return null;
}

/** Words for the page (no paths: the page may be open on another machine). */
const PLAIN: Record<AsrReason, string> = {
  running: 'Speech recognition is running.',
  disabled: 'Speech recognition is turned off (ASR_MODEL=none): the page shows who spoke when, without text.',
  model_missing: 'No speech recognition model is installed, so the page shows who spoke when, without text.',
  build_missing: 'The speech recognition engine (whisper.cpp) has not been built, so the page shows who spoke when, without text.',
  load_failed: 'The speech recognition engine failed to start, so the page shows who spoke when, without text. The server log says why.',
  restarting: 'The speech recognition engine stopped and is being restarted; text may be missing meanwhile.',
  no_workers: 'No recognition worker is running, so text waits or is missing.',
  queue_unreachable: 'The recognition queue (Redis) cannot be reached, so text is missing.',
  closed: 'The server is shutting down.',
};

/** The status of speech recognition from what the server knows of it. */
export function asrEngineStatus(engine: { name: string; health?(): AsrHealth } | null, noEngine: { reason: AsrReason } | null): AsrEngineStatus {
  if (!engine) {
    const reason = noEngine?.reason ?? 'disabled';
    return { state: 'none', reason, message: PLAIN[reason], hint: ASR_HINTS[reason] ?? null, name: null };
  }
  const h = engine.health?.() ?? { up: true, reason: 'running' as const, message: '' };
  return { state: h.up ? 'up' : 'down', reason: h.reason, message: PLAIN[h.reason], hint: ASR_HINTS[h.reason] ?? null, name: engine.name };
}
