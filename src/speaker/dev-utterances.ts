/** Test and harness helper: utterances of the shared dev LibriSpeech speakers. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { CORPUS_DIR } from '../testing/paths.js';

export const DEV_LIBRISPEECH_DIR = join(CORPUS_DIR, 'librispeech');

/** Utterance `i` (sorted by file name) of dev speaker `speaker`, as 16 kHz floats. */
export function utterance(speaker: string, i: number): Float32Array {
  const files = readdirSync(join(DEV_LIBRISPEECH_DIR, speaker)).filter((f) => f.endsWith('.wav')).sort();
  return decodeWav(readFileSync(join(DEV_LIBRISPEECH_DIR, speaker, files[i]!))).samples;
}

/** Concatenation of float arrays. */
export function concat(...xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of xs) (out.set(x, at), (at += x.length));
  return out;
}
