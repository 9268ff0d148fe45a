/** Test and harness helper: utterances of the shared dev LibriSpeech speakers. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { CORPUS_DIR } from './paths.js';

export const DEV_LIBRISPEECH_DIR = join(CORPUS_DIR, 'librispeech');

/** Utterance `i` (sorted by file name) of dev speaker `speaker`, as 16 kHz floats. */
export function utterance(speaker: string, i: number): Float32Array {
  const files = readdirSync(join(DEV_LIBRISPEECH_DIR, speaker)).filter((f) => f.endsWith('.wav')).sort();
  return decodeWav(readFileSync(join(DEV_LIBRISPEECH_DIR, speaker, files[i]!))).samples;
}
