/**
 * The real AMI meeting excerpts (`corpus/real-ami`): per-file reference turns and each
 * speaker's solo speech (where only that speaker talks), for registration checks.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { parseRttm, type RttmTurn } from '../eval/rttm.js';
import { parseUem } from '../eval/speech.js';
import { CORPUS_DIR } from './paths.js';

export const REAL_AMI_DIR = join(CORPUS_DIR, 'real-ami');

export interface RealAmiFile {
  name: string;
  audio: Float32Array;
  /** Reference turns inside the UEM (other time is not annotated). */
  turns: RttmTurn[];
  uem: { startS: number; endS: number };
}

/** The excerpts present in `dir` (each `trnNN.wav` with reference lines), sorted by name. */
export function realAmiNames(dir = REAL_AMI_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.wav')).map((f) => f.replace(/\.wav$/, '')).sort();
}

export function loadRealAmi(name: string, dir = REAL_AMI_DIR): RealAmiFile {
  const turns = parseRttm(readFileSync(join(dir, 'reference.rttm'), 'utf8'), name);
  const uem = parseUem(readFileSync(join(dir, 'reference.uem'), 'utf8')).get(name)?.at(-1) ?? { startS: 0, endS: Infinity };
  const audio = decodeWav(readFileSync(join(dir, `${name}.wav`))).samples;
  return { name, audio, turns, uem };
}

/**
 * Each speaker's solo speech: the stretches (≥ `minRegionS`) inside the UEM where that speaker
 * and nobody else is talking, concatenated, at 16 kHz. Speakers sorted by name.
 */
export function soloSpeech(file: RealAmiFile, minRegionS = 0.3): Array<{ speaker: string; seconds: number; audio: Float32Array }> {
  const step = 0.01;
  const n = Math.ceil(Math.min(file.uem.endS, file.audio.length / 16_000) / step);
  const speakers = [...new Set(file.turns.map((t) => t.speaker))].sort();
  const owner = new Int16Array(n).fill(-1); // -1 nobody, -2 several
  for (const t of file.turns) {
    const k = speakers.indexOf(t.speaker);
    for (let i = Math.max(0, Math.round(t.startS / step)); i < Math.min(n, Math.round(t.endS / step)); i++) {
      if (i * step < file.uem.startS) continue;
      owner[i] = owner[i] === -1 || owner[i] === k ? k : -2;
    }
  }
  return speakers.map((speaker, k) => {
    const pieces: Float32Array[] = [];
    let i = 0;
    while (i < n) {
      if (owner[i] !== k) { i++; continue; }
      let j = i;
      while (j < n && owner[j] === k) j++;
      if ((j - i) * step >= minRegionS) pieces.push(file.audio.subarray(Math.round(i * step * 16_000), Math.round(j * step * 16_000)));
      i = j;
    }
    const total = pieces.reduce((a, p) => a + p.length, 0);
    const audio = new Float32Array(total);
    let at = 0;
    for (const p of pieces) (audio.set(p, at), (at += p.length));
    return { speaker, seconds: total / 16_000, audio };
  });
}
