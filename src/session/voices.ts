/**
 * The two speakers of one connection: their voices (the speaker room: registered from
 * enrollment audio, saved to and chosen from the saved voices) and their names (with the
 * saved voice each came from), as the conversation record lists them.
 */
import type { Logger } from '../log.js';
import type { ServerMessage, SpeakerId } from '../protocol/messages.js';
import type { StoredSpeaker } from '../storage/types.js';
import type { Conversations } from './conversations.js';
import type { SpeakerRoom } from './ports.js';

/** Enrollment audio being recorded for one speaker (the `registering` state's data). */
export interface VoiceRecording {
  speakerId: SpeakerId;
  name: string | undefined;
  chunks: Float32Array[];
  /** Samples kept so far. */
  samples: number;
}

/**
 * Keeps `samples` of enrollment audio, up to `limitSamples` in all (the rest is dropped).
 * Returns true once the limit is reached.
 */
export function recordEnrollment(rec: VoiceRecording, samples: Float32Array, limitSamples: number): boolean {
  const room = limitSamples - rec.samples;
  rec.chunks.push(room < samples.length ? samples.subarray(0, room) : samples);
  rec.samples += Math.min(room, samples.length);
  return rec.samples >= limitSamples;
}

export interface VoicesOptions {
  room: SpeakerRoom;
  send(msg: ServerMessage): void;
  log: Logger;
  /** Where saved voices are kept (none: saving is refused). */
  conversations?: Conversations;
  /** Told when a saved voice is used for a speaker (the access log); never given the voice itself. */
  onVoiceUse?: (voiceId: string) => void;
  /** Whether the session has closed (nothing is sent then). */
  closed(): boolean;
  /** Reports a failed write of the store. */
  storageFailed(): void;
}

/** Speaker voices and names of one connection; see the module comment. */
export class Voices {
  private currentRoom: SpeakerRoom;
  /** Names (and saved-voice ids) of the registered speakers, for the record. */
  private readonly speakers: StoredSpeaker[] = [];

  constructor(private readonly opts: VoicesOptions) {
    this.currentRoom = opts.room;
  }

  /** The speaker room now (a resumed conversation brings its own). */
  get room(): SpeakerRoom {
    return this.currentRoom;
  }

  /** Speakers (0, 1) without a voice. */
  missing(): SpeakerId[] {
    return ([0, 1] as const).filter((id) => !this.currentRoom.has(id));
  }

  /** Builds a speaker's voice from its recorded enrollment audio and answers the client. */
  async enroll(rec: VoiceRecording): Promise<void> {
    const all = new Float32Array(rec.samples);
    let at = 0;
    for (const c of rec.chunks) {
      all.set(c, at);
      at += c.length;
    }
    rec.chunks.length = 0;
    const result = await this.currentRoom.enroll(rec.speakerId, all);
    if (this.opts.closed()) return;
    if (result.ok) {
      this.nameSpeaker(rec.speakerId, rec.name ?? null);
      this.opts.send({
        type: 'speaker_registration_completed',
        speaker_id: rec.speakerId,
        message: `Voice of ${rec.name ?? `speaker ${rec.speakerId}`} registered`,
        speech_seconds: Math.round(result.speechSeconds * 100) / 100,
      });
    } else {
      this.opts.send({
        type: 'speaker_registration_failed',
        speaker_id: rec.speakerId,
        message: result.message,
        reason: result.reason,
      });
    }
  }

  /** `save_voice`: keeps a registered voice under a name (given, known, or "Speaker N"). */
  async save(speakerId: SpeakerId, name: string | undefined): Promise<void> {
    const voice = this.currentRoom.exportVoice?.(speakerId) ?? null;
    if (!voice) return this.error('not_registered', `speaker ${speakerId} has no registered voice to save`);
    const store = this.opts.conversations?.store;
    if (!store) return this.error('storage_failed', 'this server does not keep saved voices');
    const label = (name ?? this.speakers.find((s) => s.id === speakerId)?.name ?? '').trim() || `Speaker ${speakerId + 1}`;
    try {
      const saved = await store.saveVoice({ name: label, encoder: voice.encoder, profile: voice.profile });
      this.nameSpeaker(speakerId, label, saved.id);
      this.opts.send({ type: 'voice_saved', speaker_id: speakerId, voice_id: saved.id, name: saved.name });
    } catch (err) {
      this.opts.log.warn(`saving a voice failed: ${(err as Error).message}`);
      this.opts.storageFailed();
    }
  }

  /** `use_saved_voice`: takes a saved voice as a speaker's, with its name. */
  async useSaved(speakerId: SpeakerId, voiceId: string): Promise<void> {
    const failed = (reason: 'unknown_voice' | 'voice_incompatible' | 'too_similar', message: string) =>
      this.opts.send({ type: 'speaker_registration_failed', speaker_id: speakerId, message, reason });
    const voice = await this.opts.conversations?.store?.getVoice(voiceId).catch(() => null);
    if (!voice) return failed('unknown_voice', 'There is no saved voice with this id (it may have been deleted).');
    const adopted = this.currentRoom.adoptVoice?.(speakerId, { encoder: voice.encoder, profile: voice.profile }) ?? { ok: false, reason: 'voice_incompatible' as const };
    if (!adopted.ok) {
      return adopted.reason === 'too_similar'
        ? failed('too_similar', 'This saved voice is almost identical to the other registered voice.')
        : failed('voice_incompatible', 'This voice was saved with another speaker model; register it again.');
    }
    this.nameSpeaker(speakerId, voice.name, voice.id);
    this.opts.onVoiceUse?.(voice.id);
    this.opts.send({
      type: 'speaker_registration_completed',
      speaker_id: speakerId,
      message: `Saved voice of ${voice.name} selected`,
      speech_seconds: Math.round(adopted.speechSeconds * 100) / 100,
      voice_id: voice.id,
      name: voice.name,
    });
  }

  /** Both speakers for the record, unnamed ones as `name: null`. */
  speakerList(): StoredSpeaker[] {
    return ([0, 1] as const).map((id) => this.speakers.find((s) => s.id === id) ?? { id, name: null });
  }

  /** The registered voices as JSON, for the record. */
  profiles(): Array<{ id: SpeakerId; profile: unknown }> {
    return ([0, 1] as const).flatMap((id) => {
      const v = this.currentRoom.exportVoice?.(id);
      return v ? [{ id, profile: v }] : [];
    });
  }

  /** A copy of the named speakers (a suspended conversation keeps it). */
  snapshot(): StoredSpeaker[] {
    return this.speakers.map((sp) => ({ ...sp }));
  }

  /** Takes over a resumed conversation's room and speakers. */
  restore(room: SpeakerRoom, speakers: StoredSpeaker[]): void {
    this.currentRoom = room;
    this.speakers.splice(0, this.speakers.length, ...speakers);
  }

  private nameSpeaker(id: SpeakerId, name: string | null, voiceId?: string): void {
    const i = this.speakers.findIndex((s) => s.id === id);
    const entry: StoredSpeaker = { id, name, ...(voiceId ? { voice_id: voiceId } : {}) };
    if (i >= 0) this.speakers[i] = entry;
    else this.speakers.push(entry);
  }

  private error(code: 'not_registered' | 'storage_failed', message: string): void {
    this.opts.send({ type: 'error', code, message });
  }
}
