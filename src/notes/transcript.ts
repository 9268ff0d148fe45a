/**
 * The one place notes read a conversation's transcript. Transcript corrections (another
 * change) plug in here: whatever view of the text this returns is what every note is made of.
 */
import type { ConversationStore } from '../storage/store.js';
import type { Turn } from './prompt.js';

export interface NoteSource {
  id: string;
  language: string;
  /** Display names of speaker 0 and 1. */
  speakers: [string, string];
  turns: Turn[];
}

/** A speaker's display name: the given name, else "Speaker 1" / "Speaker 2". */
export function speakerName(names: ReadonlyArray<{ id: 0 | 1; name: string | null }>, id: 0 | 1 | null): string {
  if (id === null) return 'Unknown';
  return names.find((s) => s.id === id)?.name ?? `Speaker ${id + 1}`;
}

/** The conversation's turns with text, in order; null when it does not exist (or was deleted). */
export async function readTranscript(store: ConversationStore, id: string): Promise<NoteSource | null> {
  const rec = await store.get(id);
  if (!rec) return null;
  const turns: Turn[] = rec.segments
    .filter((s) => s.text !== null && s.text.trim() !== '')
    .map((s) => ({ segment_id: s.segment_id, speaker_id: s.speaker_id, speaker: speakerName(rec.speakers, s.speaker_id), start: s.start, text: s.text!.trim() }));
  return { id: rec.id, language: rec.language, speakers: [speakerName(rec.speakers, 0), speakerName(rec.speakers, 1)], turns };
}
