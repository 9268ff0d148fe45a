/**
 * Loading conversations with their enrollment audio and reference RTTM. Tests use
 * `loadConversation` / `conversationNames`, which read only the fixtures vendored in the
 * repository; benchmarks use the `Shared` variants, which read the larger shared corpus.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import type { LabelledTurn } from '../eval/der.js';
import { parseRttm, type RttmTurn } from '../eval/rttm.js';
import { CORPUS_DIR, FIXTURE_CORPUS_DIR } from './paths.js';

/** A reference speech region (speaker `A` or `B`). */
export type ReferenceTurn = RttmTurn;

export interface Conversation {
  name: string;
  hard: boolean;
  /** speaker label (A/B) → speaker_id */
  speakerId: Record<string, 0 | 1>;
  enrollA: Float32Array;
  enrollB: Float32Array;
  audio: Float32Array;
  reference: RttmTurn[];
}

/** The reference turns by speaker id (A/B → the ids the conversation enrolls them as), for `computeDer`. */
export function referenceTurns(conv: Pick<Conversation, 'reference' | 'speakerId'>): LabelledTurn[] {
  return conv.reference.map((t) => ({ speaker: conv.speakerId[t.speaker]!, startS: t.startS, endS: t.endS }));
}

/** Conversation folders of a corpus, in the order they are searched by name. */
const KINDS = ['conversations', 'field'] as const;

/** Names listed in `<corpusDir>/<kind>/index.json`. */
export function namesIn(corpusDir: string, kind: (typeof KINDS)[number] = 'conversations'): string[] {
  return namesInDir(join(corpusDir, kind));
}

/** Names listed in a folder's `index.json` (as the shared tools write it: one folder per conversation). */
export function namesInDir(dir: string): string[] {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).map((c: { name: string }) => c.name);
}

function loadFrom(corpusDir: string, name: string): Conversation {
  const dir = KINDS.map((k) => join(corpusDir, k, name)).find((d) => existsSync(d));
  if (dir === undefined) {
    throw new Error(`conversation ${name} not found in ${corpusDir} (looked in ${KINDS.join(', ')}); tests may use only the vendored ones, see test/fixtures/README.md`);
  }
  return loadConversationDir(dir, name);
}

/** One conversation folder (enroll_A/B.wav, conv.wav, conv.rttm, meta.json). */
export function loadConversationDir(dir: string, name: string): Conversation {
  const wav = (f: string) => decodeWav(readFileSync(join(dir, f))).samples;
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { hard?: boolean; speaker_id: Record<string, 0 | 1> };
  return {
    name,
    hard: meta.hard ?? false,
    speakerId: meta.speaker_id,
    enrollA: wav('enroll_A.wav'),
    enrollB: wav('enroll_B.wav'),
    audio: wav('conv.wav'),
    reference: parseRttm(readFileSync(join(dir, 'conv.rttm'), 'utf8')),
  };
}

/**
 * Share of reference speech (10 ms steps inside `segments`) attributed to its true speaker:
 * how well a run's `segment` messages match `conv`'s reference.
 */
export function attributedShare(conv: Conversation, segments: ReadonlyArray<{ start: number; end: number; speaker_id: 0 | 1 | null }>): number {
  let agree = 0;
  let total = 0;
  for (const s of segments) {
    for (let t = s.start; t < s.end; t += 0.01) {
      const ref = conv.reference.find((r) => t >= r.startS && t < r.endS);
      if (!ref) continue;
      total++;
      if (s.speaker_id === conv.speakerId[ref.speaker]) agree++;
    }
  }
  return agree / total;
}

/** Names of the vendored test conversations (`conversations/index.json` of the fixtures). */
export function conversationNames(): string[] {
  return namesIn(FIXTURE_CORPUS_DIR);
}

/** A vendored test conversation (from `conversations/` or `field/`); throws naming what is missing. */
export function loadConversation(name: string): Conversation {
  return loadFrom(FIXTURE_CORPUS_DIR, name);
}

/** Benchmarks: names of the shared corpus's conversations. */
export function sharedConversationNames(): string[] {
  return namesIn(CORPUS_DIR);
}

/** Benchmarks: a conversation of the shared corpus. */
export function loadSharedConversation(name: string): Conversation {
  return loadFrom(CORPUS_DIR, name);
}
