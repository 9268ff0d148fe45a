/**
 * The server's own status sections: speech recognition, models, speaker encoder, recognition
 * queue, sessions and storage. Each reads state the server already holds (or one cheap disk
 * call); none logs or returns conversation content.
 */
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import type { AsrEngineStatus } from './asr/availability.js';
import type { Config } from './config.js';
import type { StatusBoard, StatusSection } from './status.js';

/** Free space under which storage counts as degraded, MiB: a conversation's audio is ~1 MiB per 10 min as Opus. */
export const LOW_DISK_MIB = 100;

/** What the core sections read; getters, so each report is current. */
export interface CoreStatusSources {
  config: Pick<Config, 'ASR_QUEUE_MAX' | 'MAX_SESSIONS' | 'SPEAKER_ENCODER' | 'DATA_DIR'>;
  asr: () => AsrEngineStatus;
  models: () => { asr: string | null; speaker: string; vad: string };
  queue: () => { pending: number; busy: boolean; lanes: number };
  sessions: () => number;
  /** Absolute path of DATA_DIR. */
  dataDir: string;
}

/** The speaker encoder's kind from its name: the built-in one is `builtin-…`. */
export function encoderKind(name: string): 'builtin' | 'neural' {
  return name.startsWith('builtin') ? 'builtin' : 'neural';
}

/** The storage section: the data folder writable, and its free space. */
export async function storageStatus(dir: string, shownAs: string): Promise<StatusSection> {
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, state: code === 'ENOENT' ? 'missing' : 'not_writable', dir: shownAs };
  }
  const fs = await statfs(dir);
  const freeMiB = Math.floor((fs.bavail * fs.bsize) / (1024 * 1024));
  const low = freeMiB < LOW_DISK_MIB;
  return { ok: !low, state: low ? 'low_space' : 'ok', dir: shownAs, freeMiB };
}

/** Registers the sections every server has. */
export function registerCoreStatus(board: StatusBoard, src: CoreStatusSources): void {
  board.register('engine', () => {
    const s = src.asr();
    // No engine on purpose (ASR_MODEL=none) is a mode, not a fault.
    return { ok: s.state === 'up' || (s.state === 'none' && s.reason === 'disabled'), ...s };
  });
  board.register('models', () => ({ ok: true, ...src.models() }));
  board.register('speakerEncoder', () => {
    const name = src.models().speaker;
    const kind = encoderKind(name);
    const fallback = src.config.SPEAKER_ENCODER === 'auto' && kind === 'builtin';
    return {
      ok: true,
      name,
      kind,
      configured: src.config.SPEAKER_ENCODER,
      hint: fallback ? 'npm run models -- --speaker --trust-on-first-use' : null,
    };
  });
  board.register('queue', () => {
    const q = src.queue();
    return { ok: q.pending < src.config.ASR_QUEUE_MAX, pending: q.pending, max: src.config.ASR_QUEUE_MAX, busy: q.busy, lanes: q.lanes };
  });
  board.register('sessions', () => ({ ok: true, open: src.sessions(), max: src.config.MAX_SESSIONS }));
  board.register('storage', () => storageStatus(src.dataDir, src.config.DATA_DIR));
}
