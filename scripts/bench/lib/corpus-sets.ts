/**
 * The benchmark corpora by set: `conversations/` (clean dev), `field/` (dev pairs through a
 * room and a codec) and `real-ami/` (real meeting excerpts with a UEM). Reads the shared corpus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUem, type SpanS } from '../../../src/eval/speech.js';
import { loadConversationDir, namesIn, type Conversation } from '../../../src/testing/corpus.js';
import { CORPUS_DIR } from '../../../src/testing/paths.js';
import { loadRealAmi, REAL_AMI_DIR } from '../../../src/testing/real-ami.js';

export type ConversationSet = 'conversations' | 'field';

/** Names listed in a set's index.json. */
export function setNames(set: ConversationSet): string[] {
  return namesIn(CORPUS_DIR, set);
}

/** One conversation of a set, in the same shape as `loadConversation`. */
export function loadSetConversation(set: ConversationSet, name: string): Conversation {
  return loadConversationDir(join(CORPUS_DIR, set, name), name);
}

/** One real-ami excerpt: audio, every speaker's turns, and its scored spans. */
export interface RealRecording {
  name: string;
  audio: Float32Array;
  reference: SpanS[];
  uem: SpanS[];
}

/** Every real-ami excerpt (audio and turns by `loadRealAmi`), with all of its UEM spans. */
export function realAmiRecordings(): RealRecording[] {
  const uem = parseUem(readFileSync(join(REAL_AMI_DIR, 'reference.uem'), 'utf8'));
  return [...uem.keys()].sort().map((name) => {
    const file = loadRealAmi(name);
    return { name, audio: file.audio, reference: file.turns, uem: uem.get(name)! };
  });
}
