/** Loading the shared corpus: conversations with their enrollment audio and reference RTTM. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav } from '../audio/wav.js';
import { parseRttm, type RttmTurn } from '../eval/rttm.js';
import { CONVERSATIONS_DIR } from './paths.js';

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

/** Names of the shared conversations, from their index. */
export function conversationNames(): string[] {
  const index = JSON.parse(readFileSync(join(CONVERSATIONS_DIR, 'index.json'), 'utf8')) as Array<{ name: string }>;
  return index.map((c) => c.name);
}

export function loadConversation(name: string): Conversation {
  const dir = join(CONVERSATIONS_DIR, name);
  const wav = (f: string) => decodeWav(readFileSync(join(dir, f))).samples;
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { hard: boolean; speaker_id: Record<string, 0 | 1> };
  return {
    name,
    hard: meta.hard,
    speakerId: meta.speaker_id,
    enrollA: wav('enroll_A.wav'),
    enrollB: wav('enroll_B.wav'),
    audio: wav('conv.wav'),
    reference: parseRttm(readFileSync(join(dir, 'conv.rttm'), 'utf8')),
  };
}
