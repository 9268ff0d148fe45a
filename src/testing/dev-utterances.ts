/** Test helper: utterances of the four dev LibriSpeech speakers vendored in the test fixtures. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { fixturePath } from './paths.js';

/**
 * Utterance number `i` (the `-000i` suffix of its file name) of dev speaker `speaker`, as
 * 16 kHz floats. Throws, naming it, when the fixtures lack that utterance.
 */
export function utterance(speaker: string, i: number): Float32Array {
  const dir = fixturePath('librispeech', speaker);
  const suffix = `-${String(i).padStart(4, '0')}.wav`;
  const file = readdirSync(dir).find((f) => f.endsWith(suffix));
  if (file === undefined) throw new Error(`test fixture missing: utterance ${i} of LibriSpeech speaker ${speaker} (*${suffix} in ${dir})`);
  return decodeWav(readFileSync(join(dir, file))).samples;
}
