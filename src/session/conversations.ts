/**
 * Conversations that outlive a connection: the recorder port a session writes through (every
 * `segment` and `transcription` is on disk before it is sent), and the registry of open and
 * suspended conversations that a reconnecting client can resume within RESUME_WINDOW_S.
 */
import type { Logger } from '../log.js';
import type { ServerMessage, SpeakerId } from '../protocol/messages.js';
import { openAudioSink, type AudioSink } from '../storage/audio.js';
import { newId } from '../storage/ids.js';
import type { ConversationStore } from '../storage/store.js';
import type { StoredSpeaker } from '../storage/types.js';
import type { ClosedSegment, ConversationFront, SpeakerRoom } from './ports.js';

export type RecordedMessage = Extract<ServerMessage, { type: 'segment' | 'transcription' }>;

/** What a dropped connection leaves behind so that the next one can continue. */
export interface SuspendedState {
  room: SpeakerRoom;
  speakers: StoredSpeaker[];
  language: string;
  nextSegmentId: number;
  /** Samples of conversation audio processed: where the audio clock continues. */
  receivedSamples: number;
  segments: number;
}

/**
 * One conversation's record. `record` resolves once the message is durable (or the store has
 * failed: then the failure is reported once and the conversation goes on in memory).
 */
export class ConversationLog {
  /** Every recorded message in order, for the re-send on resume (works without a disk too). */
  readonly history: RecordedMessage[] = [];
  private failed = false;
  /** KEEP_AUDIO: where the conversation's audio goes. */
  sink: AudioSink | null = null;

  constructor(
    readonly id: string,
    private readonly store: ConversationStore | null,
    private onFailure: () => void,
    private readonly log: Logger,
  ) {}

  /** Keeps conversation audio (KEEP_AUDIO); a no-op otherwise. */
  audio(pcm16: Buffer): void {
    this.sink?.write(pcm16);
  }

  /** Reports storage failures to the connection now attached. */
  rebind(onFailure: () => void): void {
    this.onFailure = onFailure;
  }

  async record(msg: RecordedMessage): Promise<void> {
    this.history.push(msg);
    if (!this.store) return;
    const { type, conversation_id: _c, ...rest } = msg;
    try {
      await this.store.append(this.id, type === 'segment' ? { k: 'segment', ...(rest as Omit<Extract<RecordedMessage, { type: 'segment' }>, 'type'>) } : { k: 'transcription', ...(rest as Omit<Extract<RecordedMessage, { type: 'transcription' }>, 'type'>) });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Marks the record as failed (reported once per conversation). */
  fail(err: unknown): void {
    if (this.failed) return;
    this.log.warn(`conversation storage failed (reported once per conversation): ${(err as Error).message}`);
    this.failed = true;
    this.onFailure();
  }
}

interface Entry {
  log: ConversationLog;
  status: 'live' | 'suspended';
  state: SuspendedState | null;
  timer: NodeJS.Timeout | null;
}

export type AttachResult =
  | { ok: true; log: ConversationLog; state: SuspendedState }
  | { ok: false; code: 'unknown_conversation' | 'conversation_busy'; message: string };

export interface ConversationsOptions {
  /** null: nothing is written (conversations still resume, from memory). */
  store: ConversationStore | null;
  resumeWindowS: number;
  models: { asr: string | null; speaker: string; vad: string };
  log: Logger;
  /** KEEP_AUDIO: keep each conversation's audio beside its record. */
  keepAudio?: boolean;
  /** Suspended conversations kept at most (each holds two voices and its messages); beyond, the oldest is ended. Default 32. */
  maxSuspended?: number;
  /** Called once a conversation has ended and its record is written (notifications, automatic notes). Must not throw. */
  onEnded?(id: string): void;
}

export class Conversations {
  private readonly open = new Map<string, Entry>();

  constructor(private readonly opts: ConversationsOptions) {}

  get store(): ConversationStore | null {
    return this.opts.store;
  }

  /** Conversations open or suspended in this process (metrics). */
  get size(): number {
    return this.open.size;
  }

  /** Starts a conversation's record; a refusing disk gives an in-memory one and one report. */
  async begin(info: { language: string; speakers: StoredSpeaker[]; profiles: Array<{ id: SpeakerId; profile: unknown }> }, onFailure: () => void): Promise<ConversationLog> {
    const { store, log } = this.opts;
    let id = newId();
    let failure: unknown = null;
    if (store) {
      try {
        id = (await store.create({ language: info.language, models: this.opts.models, speakers: info.speakers })).id;
        await store.writeSpeakers(id, info.profiles);
      } catch (err) {
        failure = err;
      }
    }
    const conv = new ConversationLog(id, store, onFailure, log);
    if (failure) conv.fail(failure);
    else if (store && this.opts.keepAudio) {
      try {
        conv.sink = await openAudioSink(store.dirOf(id), log);
        const file = conv.sink.file;
        await store.updateMeta(id, (m) => ({ ...m, audio_file: file }));
      } catch (err) {
        conv.fail(err);
      }
    }
    this.open.set(id, { log: conv, status: 'live', state: null, timer: null });
    return conv;
  }

  /** The connection dropped: keep the conversation for RESUME_WINDOW_S, then end it. */
  async suspend(conv: ConversationLog, state: SuspendedState): Promise<void> {
    const entry = this.open.get(conv.id);
    if (!entry) return;
    entry.status = 'suspended';
    entry.state = state;
    const resumeFrom = state.receivedSamples / 16_000;
    await this.write(conv, async (s) => {
      await s.append(conv.id, { k: 'suspended', at: new Date().toISOString(), resume_from: resumeFrom });
      await s.updateMeta(conv.id, (m) => ({ ...m, audio_s: Math.max(m.audio_s, resumeFrom), speakers: mergeNames(m.speakers, state.speakers) }));
    });
    entry.timer = setTimeout(() => void this.end(conv, state), this.opts.resumeWindowS * 1000);
    entry.timer.unref();
    const suspended = [...this.open.values()].filter((e) => e.status === 'suspended');
    const max = this.opts.maxSuspended ?? 32;
    if (suspended.length > max) {
      // Map order is creation order: the oldest conversation goes first.
      const oldest = suspended[0]!;
      this.opts.log.warn(`more than ${max} dropped conversations wait to be resumed; ending the oldest`);
      await this.end(oldest.log, oldest.state!);
    }
  }

  /** Takes a suspended conversation over for a new connection. */
  attach(id: string, onFailure: () => void): AttachResult {
    const entry = this.open.get(id);
    if (!entry) return { ok: false, code: 'unknown_conversation', message: 'no such conversation to resume (unknown, expired or ended)' };
    if (entry.status === 'live' || !entry.state) {
      return { ok: false, code: 'conversation_busy', message: 'this conversation is attached to another connection; try again in a few seconds' };
    }
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.status = 'live';
    const state = entry.state;
    entry.state = null;
    entry.log.rebind(onFailure);
    void this.write(entry.log, (s) => s.append(id, { k: 'resumed', at: new Date().toISOString(), resume_from: state.receivedSamples / 16_000 }));
    return { ok: true, log: entry.log, state };
  }

  /** Ends a conversation (stop, expiry of the resume window, or a too long conversation). */
  async end(conv: ConversationLog, final: { receivedSamples: number; speakers: StoredSpeaker[]; profiles?: Array<{ id: SpeakerId; profile: unknown }> }): Promise<void> {
    const entry = this.open.get(conv.id);
    if (entry?.timer) clearTimeout(entry.timer);
    this.open.delete(conv.id);
    const audioS = final.receivedSamples / 16_000;
    await conv.sink?.close();
    await this.write(conv, async (s) => {
      if (final.profiles) await s.writeSpeakers(conv.id, final.profiles);
      await s.updateMeta(conv.id, (m) => ({ ...m, ended_at: new Date().toISOString(), audio_s: Math.max(m.audio_s, audioS), speakers: mergeNames(m.speakers, final.speakers) }));
    });
    // Announced once, when this call is the one that ended it.
    if (entry) {
      try {
        this.opts.onEnded?.(conv.id);
      } catch (err) {
        this.opts.log.error(`conversation end listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Forgets a conversation deleted through the API (a suspended one cannot be resumed any more). */
  forget(id: string): void {
    const entry = this.open.get(id);
    if (entry?.timer) clearTimeout(entry.timer);
    if (entry?.log.sink) {
      const sink = entry.log.sink;
      entry.log.sink = null;
      void sink.close();
    }
    this.open.delete(id);
  }

  /** Whether a conversation is open or suspended in this process. */
  isOpen(id: string): boolean {
    return this.open.has(id);
  }

  /** Stops the expiry timers and finishes kept audio (server shutdown); the next start ends what was left open. */
  async close(): Promise<void> {
    const entries = [...this.open.values()];
    this.open.clear();
    for (const e of entries) if (e.timer) clearTimeout(e.timer);
    await Promise.allSettled(entries.map((e) => e.log.sink?.close()));
  }

  private async write(conv: ConversationLog, work: (s: ConversationStore) => Promise<unknown>): Promise<void> {
    if (!this.opts.store) return;
    try {
      await work(this.opts.store);
    } catch (err) {
      conv.fail(err);
    }
  }
}

/** Names known to the session win over stored ones only where the stored one is empty. */
function mergeNames(stored: StoredSpeaker[], live: StoredSpeaker[]): StoredSpeaker[] {
  const out = stored.map((s) => ({ ...s }));
  for (const l of live) {
    const s = out.find((x) => x.id === l.id);
    if (!s) out.push({ ...l });
    else {
      if (s.name === null) s.name = l.name;
      if (l.voice_id && !s.voice_id) s.voice_id = l.voice_id;
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * A front whose sample indices start at `offsetSamples`: after a resume the conversation's
 * audio clock continues where the dropped connection left it.
 */
export function offsetFront(front: ConversationFront, offsetSamples: number): ConversationFront {
  if (offsetSamples === 0) return front;
  const shift = (segs: ClosedSegment[]) =>
    segs.map((s) => ({ ...s, startSample: s.startSample + offsetSamples, endSample: s.endSample + offsetSamples, audioStartSample: s.audioStartSample + offsetSamples }));
  return {
    push: async (pcm16) => shift(await front.push(pcm16)),
    flush: async () => shift(await front.flush()),
  };
}
