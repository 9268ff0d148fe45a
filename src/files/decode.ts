/**
 * Decoding any common audio or video file to 16 kHz mono PCM16, as a stream, through an
 * `ffmpeg` binary: the system one when present, else one shipped by a registry package
 * (`@ffmpeg-installer/ffmpeg`, `ffmpeg-static`) when installed. Memory stays constant whatever
 * the length: ffmpeg's stdout is read chunk by chunk, and a slow consumer pauses the pipe.
 */
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SAMPLE_RATE } from '../audio/constants.js';

/** Stable codes of the ways a file can fail to decode (the API and CLI show them). */
export type DecodeErrorCode =
  | 'decoder_missing'
  | 'empty_input'
  | 'not_audio'
  | 'no_audio_track'
  | 'truncated_input'
  | 'decode_failed';

export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** A usable ffmpeg binary and how it was found. */
export interface Decoder {
  /** Executable path or command name. */
  bin: string;
  /** For results and logs, e.g. `ffmpeg 5.1.9 (system)`. */
  name: string;
}

export interface ResolveDecoderOptions {
  /** An explicit binary to use (tried first). */
  ffmpegPath?: string;
  /** Tests: do not look on PATH. */
  skipSystem?: boolean;
  /** Tests: packages tried after the system binary (default the two known ones). */
  packages?: readonly string[];
}

/** Registry packages that ship an ffmpeg binary inside the package (no download at install). */
const FFMPEG_PACKAGES = ['@ffmpeg-installer/ffmpeg', 'ffmpeg-static'] as const;

function versionOf(bin: string): string | null {
  try {
    const r = spawnSync(bin, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) return null;
    const m = /ffmpeg version (\S+)/.exec(r.stdout);
    return m ? m[1]!.replace(/-.*$/, '') : 'unknown';
  } catch {
    return null;
  }
}

function packageBinary(pkg: string): string | null {
  try {
    const req = createRequire(import.meta.url);
    const mod = req(pkg) as string | { path?: string };
    const path = typeof mod === 'string' ? mod : mod.path;
    return path && statSync(path).isFile() ? path : null;
  } catch {
    return null;
  }
}

let cached: Decoder | null = null;

/**
 * Finds ffmpeg: `ffmpegPath`, then `ffmpeg` on PATH, then the packages. Throws a
 * `DecodeError('decoder_missing')` that says how to get one.
 */
export function resolveDecoder(options: ResolveDecoderOptions = {}): Decoder {
  const useCache = !options.ffmpegPath && !options.skipSystem && !options.packages;
  if (useCache && cached) return cached;
  const tried: string[] = [];
  const found = (bin: string, how: string): Decoder | null => {
    tried.push(bin);
    const v = versionOf(bin);
    return v ? { bin, name: `ffmpeg ${v} (${how})` } : null;
  };
  let d: Decoder | null = null;
  if (options.ffmpegPath) d = found(options.ffmpegPath, 'configured');
  if (!d && !options.skipSystem) d = found('ffmpeg', 'system');
  for (const pkg of options.packages ?? FFMPEG_PACKAGES) {
    if (d) break;
    const bin = packageBinary(pkg);
    if (bin) d = found(bin, pkg);
  }
  if (!d) {
    throw new DecodeError(
      'decoder_missing',
      `no ffmpeg found (tried ${tried.length ? tried.join(', ') : 'nothing'} and the packages ${(options.packages ?? FFMPEG_PACKAGES).join(', ')}): ` +
        'install the system package (apt-get install ffmpeg) to transcribe files',
    );
  }
  if (useCache) cached = d;
  return d;
}

/** What to decode: a file path, or an ffmpeg lavfi graph (tests: e.g. hours of silence). */
export type DecodeInput = { path: string } | { lavfi: string };

export interface DecodeOptions {
  decoder?: Decoder;
  signal?: AbortSignal;
  /** Bytes per chunk handed on (a multiple of 2). Default 64 KiB (2 s of audio). */
  chunkBytes?: number;
}

/** A running decode: its chunks, and what the input header said. */
export interface DecodeStream {
  decoder: Decoder;
  /** Duration from the container header once known (null until then or when absent), seconds. */
  readonly durationS: number | null;
  /** PCM16 LE mono 16 kHz chunks of even length; ends when the file does; throws DecodeError. */
  chunks(): AsyncGenerator<Buffer>;
}

/** Parses `Duration: 00:01:02.50` from ffmpeg's input header; null for `N/A`. */
export function parseDurationS(stderr: string): number | null {
  const m = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(stderr);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}

/** One input stream as ffmpeg's header describes it. */
export interface InputStream {
  kind: 'audio' | 'video' | 'other';
  /** A still picture (cover art) stored as a video stream: it has no duration of its own. */
  attachedPic: boolean;
  /** The stream's own duration from its `DURATION` tag (Matroska, WebM), seconds; null when absent. */
  durationS: number | null;
}

/** Parses `HH:MM:SS.frac` into seconds; null when it is not one. */
function clockS(text: string): number | null {
  const m = /^(\d+):(\d\d):(\d\d(?:\.\d+)?)$/.exec(text.trim());
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}

/**
 * The streams of the first input in ffmpeg's header (`Stream #0:1: Audio: …` lines and the
 * `DURATION` tag in the metadata lines under each), in order. Total: unknown lines are skipped.
 */
export function parseInputStreams(stderr: string): InputStream[] {
  const out: InputStream[] = [];
  let current: InputStream | null = null;
  for (const line of stderr.split('\n')) {
    const s = /^\s*Stream #0:\d+\S*: (\w+):(.*)$/.exec(line);
    if (s) {
      const kind = s[1] === 'Audio' ? 'audio' : s[1] === 'Video' ? 'video' : 'other';
      current = { kind, attachedPic: /\(attached pic\)/.test(s[2]!), durationS: null };
      out.push(current);
      continue;
    }
    // The output's description follows the input's; its streams are not the file's.
    if (/^(Output #|Stream mapping)/.test(line)) break;
    if (/^\S/.test(line)) {
      current = null;
      continue;
    }
    const d = /^\s+DURATION\s*:\s*(\S+)/.exec(line);
    if (d && current && current.durationS === null) current.durationS = clockS(d[1]!);
  }
  return out;
}

/**
 * The duration to hold the decoded audio against: the audio stream's own, not the container's.
 * A video whose picture outlasts its sound (screen recordings, `-shortest` edits) has a
 * container longer than its audio, and is not truncated. Returns, in order of preference: the
 * container's duration when no moving picture is in the file (then it is the audio's); the
 * audio stream's `DURATION` tag; what `probe` reports (ffprobe's stream duration); else null,
 * and the check is skipped rather than guessed.
 */
export async function audioDurationS(head: string, containerS: number | null, probe: () => Promise<number | null>): Promise<number | null> {
  const streams = parseInputStreams(head);
  const moving = streams.some((s) => s.kind === 'video' && !s.attachedPic);
  if (!moving) return containerS;
  const audio = streams.find((s) => s.kind === 'audio');
  if (audio?.durationS != null) return audio.durationS;
  return probe();
}

/**
 * The first audio stream's duration as ffprobe (beside the ffmpeg binary, else on PATH) reads
 * it from the stream's own header, seconds; null when there is no ffprobe or no such field.
 */
export function probeAudioStreamS(decoder: Decoder, path: string, timeoutMs = 30_000): Promise<number | null> {
  const sibling = decoder.bin.includes('/') ? decoder.bin.replace(/ffmpeg([^/]*)$/, 'ffprobe$1') : 'ffprobe';
  const candidates = [...new Set([sibling, 'ffprobe'])];
  return new Promise((resolve) => {
    const next = (i: number) => {
      if (i >= candidates.length) return resolve(null);
      const child = spawn(candidates[i]!, ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=duration', '-of', 'default=nw=1:nk=1', path], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => (out = (out + d).slice(0, 256)));
      child.on('error', () => {
        clearTimeout(timer);
        next(i + 1);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        const v = Number(out.trim().split('\n')[0]);
        if (code === 0) resolve(out.trim() !== '' && Number.isFinite(v) && v > 0 ? v : null);
        else next(i + 1);
      });
    };
    next(0);
  });
}

/** Turns ffmpeg's exit and log into a coded error. */
export function classifyFailure(stderr: string, exitCode: number | null): DecodeError {
  const last = stderr.trim().split('\n').filter((l) => !/^\s/.test(l) && l.trim()).slice(-1)[0] ?? '';
  if (/matches no streams|does not contain any stream|Output file #0 does not contain/i.test(stderr)) {
    return new DecodeError('no_audio_track', 'the file has no audio track');
  }
  if (/Invalid data found when processing input|could not find codec parameters|Unknown input format|EBML header parsing failed|moov atom not found/i.test(stderr)) {
    return new DecodeError('not_audio', 'the file is not an audio or video file that can be decoded');
  }
  return new DecodeError('decode_failed', `decoding failed (ffmpeg exit ${exitCode}): ${last.slice(0, 200)}`);
}

/**
 * A file's tail may be missing (an interrupted copy or recording): when the header promised
 * more than this much more audio than was decoded, the input counts as truncated.
 */
const TRUNCATION_TOLERANCE_S = 0.5;
const TRUNCATION_TOLERANCE_SHARE = 0.02;

/**
 * Starts decoding. The first audio track is taken, all channels mixed down, resampled to
 * 16 kHz; video and other streams are ignored. Aborting `signal` kills ffmpeg and ends the
 * stream quietly.
 */
export function decodeAudio(input: DecodeInput, options: DecodeOptions = {}): DecodeStream {
  const decoder = options.decoder ?? resolveDecoder();
  const chunkBytes = Math.max(2, (options.chunkBytes ?? 65_536) & ~1);
  let durationS: number | null = null;
  const inputArgs = 'path' in input ? ['-i', input.path] : ['-f', 'lavfi', '-i', input.lavfi];
  return {
    decoder,
    get durationS() {
      return durationS;
    },
    async *chunks() {
      if ('path' in input) {
        let size: number;
        try {
          size = statSync(input.path).size;
        } catch {
          throw new DecodeError('decode_failed', 'the file could not be read');
        }
        if (size === 0) throw new DecodeError('empty_input', 'the file is empty (0 bytes)');
      }
      const args = ['-nostdin', '-hide_banner', '-nostats', ...inputArgs, '-map', '0:a:0', '-vn', '-sn', '-dn', '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', '-acodec', 'pcm_s16le', 'pipe:1'];
      const child = spawn(decoder.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      // Only the head (input description) and the tail (errors) of the log are kept: bounded.
      let head = '';
      let tail = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s: string) => {
        if (head.length < 16_384) {
          head += s;
          if (durationS === null) durationS = parseDurationS(head);
        }
        tail = (tail + s).slice(-4096);
      });
      const exited = new Promise<number | null>((resolve) => {
        child.on('close', (code) => resolve(code));
        child.on('error', () => resolve(-1));
      });
      const onAbort = () => child.kill('SIGKILL');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let samples = 0;
      let pending: Buffer = Buffer.alloc(0);
      try {
        for await (const data of child.stdout as AsyncIterable<Buffer>) {
          pending = pending.length ? Buffer.concat([pending, data]) : data;
          while (pending.length >= chunkBytes) {
            const out = pending.subarray(0, chunkBytes);
            pending = pending.subarray(chunkBytes);
            samples += out.length / 2;
            yield out;
          }
        }
        const code = await exited;
        if (options.signal?.aborted) return;
        if (code !== 0) throw classifyFailure(head + '\n' + tail, code);
        const rest = pending.subarray(0, pending.length & ~1);
        if (rest.length) {
          samples += rest.length / 2;
          yield rest;
        }
        const decodedS = samples / SAMPLE_RATE;
        if ('path' in input && samples === 0) throw new DecodeError('no_audio_track', 'the file holds no audio samples');
        const expectedS = 'path' in input && durationS !== null ? await audioDurationS(head, durationS, () => probeAudioStreamS(decoder, input.path)) : null;
        if (expectedS !== null && expectedS - decodedS > Math.max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_SHARE * expectedS)) {
          throw new DecodeError(
            'truncated_input',
            `the file ends early: ${decodedS.toFixed(1)} s of the ${expectedS.toFixed(1)} s of audio its header announces could be decoded (truncated or damaged)`,
          );
        }
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  };
}
