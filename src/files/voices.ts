/**
 * Saved voices (the conversation store's `voices/`) as the two enrollment profiles of a file
 * job: the same check as a live `use_saved_voice` (`profileFromJson`: same encoder name and
 * model version, well-formed embeddings).
 */
import { profileFromJson } from '../session/pipeline.js';
import type { ConversationStore } from '../storage/store.js';
import type { SpeakerEncoder, SpeakerProfile } from '../speaker/types.js';

/** Which saved voice a speaker was taken from (its stored conversation names the speaker after it). */
export interface SavedVoiceRef {
  id: string;
  name: string;
}

export type SavedVoicesResult =
  | { ok: true; profiles: [SpeakerProfile, SpeakerProfile]; voices: [SavedVoiceRef, SavedVoiceRef] }
  | { ok: false; code: 'bad_voices' | 'unknown_voice' | 'voice_incompatible'; message: string };

/** Parses `id1,id2` (speaker 0, speaker 1); null when it is not two ids. */
export function parseVoiceIds(value: string): [string, string] | null {
  const ids = value.split(',').map((s) => s.trim());
  return ids.length === 2 && ids.every((id) => id.length > 0) ? [ids[0]!, ids[1]!] : null;
}

export async function loadSavedVoices(store: Pick<ConversationStore, 'getVoice'>, encoder: SpeakerEncoder, value: string): Promise<SavedVoicesResult> {
  const ids = parseVoiceIds(value);
  if (!ids) return { ok: false, code: 'bad_voices', message: 'voices must be two saved voice ids separated by a comma (speaker 1, speaker 2)' };
  if (ids[0] === ids[1]) return { ok: false, code: 'bad_voices', message: 'the two voices must be different' };
  const profiles: SpeakerProfile[] = [];
  const refs: SavedVoiceRef[] = [];
  for (const id of ids) {
    const voice = await store.getVoice(id);
    if (!voice) return { ok: false, code: 'unknown_voice', message: `there is no saved voice ${id} (it may have been deleted)` };
    const profile = profileFromJson({ encoder: voice.encoder, profile: voice.profile }, encoder);
    if (!profile) return { ok: false, code: 'voice_incompatible', message: `the voice ${id} was saved with another speaker model (${voice.encoder}); register it again` };
    profiles.push(profile);
    refs.push({ id: voice.id, name: voice.name });
  }
  return { ok: true, profiles: [profiles[0]!, profiles[1]!], voices: [refs[0]!, refs[1]!] };
}
