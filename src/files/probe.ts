/**
 * Reads a file's announced duration from its container header before any decoding, so a
 * recording longer than the server takes is refused at once with the limit named, instead of
 * after hours of decoding. ffmpeg is run with an input and no output: it prints the input
 * description (with `Duration:`) and exits; nothing is decoded.
 */
import { spawn } from 'node:child_process';
import { parseDurationS, resolveDecoder, type Decoder } from './decode.js';

/** The header is read in well under a second; a file that keeps ffmpeg longer is not waited for. */
const PROBE_TIMEOUT_MS = 15_000;
/** Bytes of ffmpeg's log kept (the input description comes first). */
const PROBE_LOG_BYTES = 16_384;

/**
 * The duration the file's header announces, in seconds; null when it announces none (raw
 * streams, some Ogg files) or the probe failed — the decoder then judges the file as usual.
 * Never throws.
 */
export async function probeDurationS(path: string, decoder?: Decoder): Promise<number | null> {
  let bin: string;
  try {
    bin = (decoder ?? resolveDecoder()).bin;
  } catch {
    return null;
  }
  return new Promise((resolve) => {
    let log = '';
    let done = false;
    const finish = (value: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    };
    const child = spawn(bin, ['-nostdin', '-hide_banner', '-i', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(parseDurationS(log));
    }, PROBE_TIMEOUT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (log.length < PROBE_LOG_BYTES) log += s;
    });
    child.on('error', () => finish(null));
    child.on('close', () => finish(parseDurationS(log)));
  });
}
