/**
 * Where `npm run build:whisper` (scripts/build-whisper.mjs) put whisper.cpp's binaries, and
 * which GPU backends it compiled in (its `backends.json`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../paths.js';

export interface WhisperBackends {
  cuda: boolean;
  vulkan: boolean;
}

export interface WhisperBuild {
  /** Absolute build folder. */
  dir: string;
  serverBin: string;
  benchBin: string;
  backends: WhisperBackends;
  /** e.g. `whisper.cpp 1.9.1 (nodejs-whisper 0.3.1)`; '' when unknown. */
  version: string;
}

/** Reads the build in `buildDir` (relative to the repository root); absent files read as no GPU. */
export function locateWhisperBuild(buildDir: string): WhisperBuild {
  const dir = fromRoot(buildDir);
  let backends: WhisperBackends = { cuda: false, vulkan: false };
  let version = '';
  const file = join(dir, 'backends.json');
  if (existsSync(file)) {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<WhisperBackends> & { version?: unknown };
      backends = { cuda: raw.cuda === true, vulkan: raw.vulkan === true };
      if (typeof raw.version === 'string') version = raw.version;
    } catch {
      // a damaged file means "CPU only", the safe reading
    }
  }
  return { dir, serverBin: join(dir, 'bin', 'whisper-server'), benchBin: join(dir, 'bin', 'whisper-bench'), backends, version };
}

/** True when `whisper-server` has been built. */
export function hasWhisperServer(build: WhisperBuild): boolean {
  return existsSync(build.serverBin);
}
