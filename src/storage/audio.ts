/**
 * KEEP_AUDIO: a conversation's audio written beside its record as it arrives. With ffmpeg and
 * libopus on the PATH it is Opus in Ogg (`audio.ogg`, 24 kbit/s, ~11 MB per hour; a file cut
 * by a crash stays playable up to the cut); without them it is PCM16 WAV (`audio.wav`,
 * 115 MB per hour, uncompressed: the header sizes are written when the conversation ends).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { openPrivate, writePrivateFile } from './private-fs.js';

export interface AudioSink {
  /** File name inside the conversation's folder. */
  readonly file: string;
  /** Appends PCM16 LE mono 16 kHz bytes (in conversation order). */
  write(pcm16: Buffer): void;
  /** Finishes the file; safe to call twice. */
  close(): Promise<void>;
}

/** Audio waiting to be encoded beyond this is dropped (with one log line), never buffered on. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

let opusAvailable: boolean | null = null;

/** Whether `ffmpeg` with the libopus encoder can be run (checked once per process). */
export function hasOpusEncoder(): boolean {
  if (opusAvailable === null) {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: 10_000 });
    opusAvailable = r.status === 0 && /\blibopus\b/.test(r.stdout);
  }
  return opusAvailable;
}

/** Opens the sink for a conversation folder; `format` forces one (tests). */
export async function openAudioSink(dir: string, log: Logger, format: 'auto' | 'opus' | 'wav' = 'auto'): Promise<AudioSink> {
  const opus = format === 'opus' || (format === 'auto' && hasOpusEncoder());
  if (opus) {
    // Created owner-only before ffmpeg opens it: `-y` truncates an existing file and keeps its mode.
    await writePrivateFile(join(dir, 'audio.ogg'), '');
    return opusSink(dir, log);
  }
  return wavSink(dir);
}

function opusSink(dir: string, log: Logger): AudioSink {
  const file = 'audio.ogg';
  const ff = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-c:a', 'libopus', '-b:a', '24k', '-application', 'voip', '-y', join(dir, file)],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ff.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-500)));
  ff.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    ff.once('error', (err) => {
      log.warn(`KEEP_AUDIO: ffmpeg failed to start: ${err.message}`);
      resolve();
    });
    ff.once('exit', (code) => {
      if (code !== 0) log.warn(`KEEP_AUDIO: ffmpeg exited with ${code}: ${stderr.trim()}`);
      resolve();
    });
  });
  let dropped = false;
  let closing: Promise<void> | null = null;
  return {
    file,
    write(pcm16) {
      if (closing || ff.exitCode !== null) return;
      if (ff.stdin!.writableLength > MAX_PENDING_BYTES) {
        if (!dropped) log.warn('KEEP_AUDIO: the encoder is behind; audio is being dropped from the kept file');
        dropped = true;
        return;
      }
      ff.stdin!.write(pcm16);
    },
    close() {
      closing ??= (async () => {
        ff.stdin!.end();
        const killer = setTimeout(() => ff.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      })();
      return closing;
    },
  };
}

function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(16_000, 24);
  h.writeUInt32LE(32_000, 28); // bytes per second
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff - 36, dataBytes), 40);
  return h;
}

async function wavSink(dir: string): Promise<AudioSink> {
  const file = 'audio.wav';
  const fh: FileHandle = await openPrivate(join(dir, file), 'w');
  await fh.write(wavHeader(0), 0, 44, 0);
  let bytes = 0;
  let chain: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | null = null;
  return {
    file,
    write(pcm16) {
      if (closing) return;
      const at = 44 + bytes;
      bytes += pcm16.length;
      const copy = Buffer.from(pcm16);
      chain = chain.then(() => fh.write(copy, 0, copy.length, at)).catch(() => undefined);
    },
    close() {
      closing ??= (async () => {
        await chain;
        await fh.write(wavHeader(bytes), 0, 44, 0).catch(() => undefined);
        await fh.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}
