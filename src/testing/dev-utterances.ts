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

/** Speech-only part of an utterance: drops leading/trailing 32 ms blocks under −45 dBFS. */
export function trimSilence(x: Float32Array): Float32Array {
  const loud = (i: number) => {
    let s = 0;
    for (let j = i; j < i + 512; j++) s += x[j]! * x[j]!;
    return 10 * Math.log10(s / 512 + 1e-12) > -45;
  };
  let a = 0;
  while (a + 512 < x.length && !loud(a)) a += 512;
  let b = x.length - 512;
  while (b > a && !loud(b)) b -= 512;
  return x.subarray(a, b + 512);
}
