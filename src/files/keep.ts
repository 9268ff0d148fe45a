/**
 * A finished file job kept in the conversation store, like a live conversation: listed,
 * opened, renamed, exported and deleted through `/api/conversations` and the page's history.
 */
import type { ConversationStore } from '../storage/store.js';
import type { StoredSpeaker } from '../storage/types.js';
import type { FileTranscription } from './conversation.js';
import type { JobRequest } from './jobs.js';

/** Stores the result; resolves with the stored conversation's id. */
export async function keepInStore(store: ConversationStore, result: FileTranscription, request: Pick<JobRequest, 'language' | 'voices'>): Promise<string> {
  const c = result.conversation;
  const speakers: StoredSpeaker[] = c.speakers.map((s) => {
    const id = s.id as 0 | 1;
    const voice = request.voices?.[id];
    return voice ? { id, name: voice.name, voice_id: voice.id } : { id, name: null };
  });
  const meta = await store.createFinished({
    language: request.language,
    models: { ...result.models },
    speakers,
    startedAt: new Date(c.started_at),
    title: c.title,
    endedAt: new Date(c.ended_at),
    audioS: c.duration_s,
    segments: c.segments.map((s) => ({ segment_id: s.segment_id, speaker_id: s.speaker_id as 0 | 1 | null, start: s.start, end: s.end, text: result.models.asr === null ? null : s.text })),
  });
  return meta.id;
}
