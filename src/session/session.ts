/**
 * One connection's lifecycle: a tagged-union state machine fed by one ordered inbox, so audio
 * and control messages are handled exactly in arrival order, with bounded buffering.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { SAMPLE_RATE } from '../audio/constants.js';
import { pcm16ToFloat } from '../audio/wav.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import {
  parseClientMessage,
  samplesToSeconds,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
  type SpeakerId,
} from '../protocol/messages.js';
import type { StoredSpeaker } from '../storage/types.js';
import { offsetFront, type ConversationLog, type Conversations, type RecordedMessage, type SuspendedState } from './conversations.js';
import { PartialRunner, type PartialPayload } from './partials.js';
import type { AssignedPart, ClosedSegment, Connection, ConversationFront, PipelineFactory, Recognizer, SpeakerRoom } from './ports.js';

type State =
  | { kind: 'idle' }
  | { kind: 'registering'; speakerId: SpeakerId; name: string | undefined; chunks: Float32Array[]; samples: number }
  | {
      kind: 'transcribing';
      language: string;
      front: ConversationFront;
      receivedSamples: number;
      segments: number;
      /** The durable record (null when the session runs without a conversation registry). */
      log: ConversationLog | null;
    }
  | { kind: 'closed' };

type InboxItem = { kind: 'message'; message: ClientMessage } | { kind: 'audio'; pcm16: Buffer };

/** Audio kept around a part for recognition: context before its first word, margin after. */
const ASR_LEAD_SAMPLES = Math.round(0.2 * SAMPLE_RATE);
const ASR_TAIL_SAMPLES = Math.round(0.15 * SAMPLE_RATE);
/**
 * Inbox items (control messages and audio frames) after which the socket stops being read,
 * whatever their size: bounds the per-item overhead of tiny frames and a flood of valid text
 * messages while the session is busy (e.g. a stop waiting for recognition).
 */
export const MAX_INBOX_ITEMS = 1024;
/**
 * Recognition failures the client hears about as `asr_failed`, by the failure's `code` (the
 * local engine's and the remote path's, see `Recognizer`), each with its cause in words. The
 * engine's own message stays in the server log: it may name hosts or files.
 */
const ASR_FAILURE_CAUSES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    timeout: 'the engine took too long and is being restarted',
    crashed: 'the engine stopped and is being restarted',
    failed: 'the engine answered with an error',
    unavailable: 'the recognition queue is unreachable',
    no_workers: 'no recognition worker is running',
    deadline: 'no worker answered in time',
    dead_letter: 'every attempt at this segment failed',
    engine: "a worker's engine failed on this segment",
  }),
);
/** How long a dropped connection may take to close its open segment and finish its text. */
const SUSPEND_TIMEOUT_MS = 8000;

export interface SessionOptions {
  config: Config;
  pipeline: PipelineFactory;
  log: Logger;
  /** Records conversations and lets a new connection resume a dropped one. */
  conversations?: Conversations;
  /** Told when a saved voice is used for a speaker (the access log); never given the voice itself. */
  onVoiceUse?: (voiceId: string) => void;
  /** Live sentiment (notes): told of each transcription sent; may answer with a `sentiment` message later. */
  onTranscription?(msg: { conversation_id?: string; segment_id: number; speaker_id: SpeakerId | null; text: string | null }, send: (m: ServerMessage) => void): void;
}

/** One connection's session; the gateway drives it through `onText`, `onBinary` and `close`. */
export class Session {
  private state: State = { kind: 'idle' };
  private readonly inbox: InboxItem[] = [];
  private backlogBytes = 0;
  private paused = false;
  private pumping: Promise<void> | null = null;
  private room: SpeakerRoom;
  /** Names (and saved-voice ids) of the registered speakers, for the record. */
  private readonly speakers: StoredSpeaker[] = [];
  private closing: Promise<void> | null = null;
  /** This session's lane in the shared recognition queue. */
  private readonly recognizer: Recognizer;
  private readonly abort = new AbortController();
  /** Transcriptions are sent in segment order through this chain. */
  private transcriptions: Promise<void> = Promise.resolve();
  private nextSegmentId = 0;
  private unexpectedAudioReported = false;
  private readonly maxBacklogBytes: number;
  /** Recognition jobs of this session not finished yet. */
  private pendingAsr = 0;
  private asrSlotFreed: (() => void) | null = null;
  /** Interim text of the open segment (null when the recognizer makes none: PARTIALS=off, no model). */
  private readonly partials: PartialRunner | null;

  constructor(
    private readonly conn: Connection,
    private readonly opts: SessionOptions,
  ) {
    this.room = opts.pipeline.createRoom();
    // An opaque id, not derived from the connection or its token: it only groups this
    // session's recognition jobs (a remote engine carries it for logs and metrics).
    this.recognizer = opts.pipeline.createRecognizer(randomUUID());
    // Each recognition job waiting in the queue listens on this signal; their number is bounded
    // by the queue's size, which may be above Node's default warning threshold of 10.
    setMaxListeners(opts.config.ASR_QUEUE_MAX + 16, this.abort.signal);
    this.maxBacklogBytes = Math.round(opts.config.MAX_BACKLOG_S * SAMPLE_RATE * 2);
    this.partials = this.recognizer.partial
      ? new PartialRunner({
          recognizer: this.recognizer,
          intervalSamples: Math.round((opts.config.PARTIAL_INTERVAL_MS * SAMPLE_RATE) / 1000),
          minSpeechSamples: Math.round((opts.config.PARTIAL_MIN_SPEECH_MS * SAMPLE_RATE) / 1000),
          maxPerSegment: opts.config.PARTIAL_MAX_PER_SEGMENT,
          tokensPerS: opts.config.PARTIAL_TOKENS_PER_S,
          send: (p) => this.sendPartial(p),
        })
      : null;
    conn.send({
      type: 'model_loaded',
      message: opts.pipeline.models.asr
        ? 'Models loaded: ready'
        : 'Models loaded: diarization only (no speech recognition model)',
      models: { ...opts.pipeline.models },
    });
  }

  onText(text: string): void {
    if (this.state.kind === 'closed') return;
    const parsed = parseClientMessage(text);
    if (!parsed.ok) return this.error(parsed.code, parsed.message);
    this.enqueue({ kind: 'message', message: parsed.message });
  }

  onBinary(data: Buffer): void {
    if (this.state.kind === 'closed') return;
    if (data.byteLength > this.opts.config.MAX_FRAME_BYTES) {
      return this.error('frame_too_large', `audio frames are limited to ${this.opts.config.MAX_FRAME_BYTES} bytes; frame dropped`);
    }
    if (data.byteLength % 2 !== 0) {
      return this.error('odd_length_audio', 'audio frames must hold whole PCM16 samples (an even number of bytes); frame dropped');
    }
    if (data.byteLength === 0) return;
    // Conversation audio only: enrollment audio comes as fast as the client can send it.
    if (this.state.kind === 'transcribing') this.partials?.arrived(data.byteLength / 2);
    this.backlogBytes += data.byteLength;
    this.enqueue({ kind: 'audio', pcm16: data });
  }

  /**
   * Aborts pending work and frees state; safe to call twice. Aborted work is never reported.
   * A conversation in progress is first suspended: its open segment is closed and its text
   * finished and recorded (nobody sees them now; a resume re-sends them).
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    const st = this.state;
    const conversations = this.opts.conversations;
    let suspended: { log: ConversationLog; state: SuspendedState } | null = null;
    if (st.kind === 'transcribing' && st.log && conversations) {
      this.inbox.length = 0;
      const finished = this.finishForSuspend(st);
      await Promise.race([finished, new Promise((r) => setTimeout(r, SUSPEND_TIMEOUT_MS).unref())]);
      // The snapshot is taken before the session closes, so nothing numbered after it is recorded.
      if (this.state === st) {
        suspended = {
          log: st.log,
          state: {
            room: this.room,
            speakers: this.speakers.map((sp) => ({ ...sp })),
            language: st.language,
            nextSegmentId: this.nextSegmentId,
            receivedSamples: st.receivedSamples,
            segments: st.segments,
          },
        };
      }
    }
    if (this.state.kind !== 'closed') {
      this.state = { kind: 'closed' };
      this.inbox.length = 0;
      this.abort.abort();
      this.partials?.close();
      this.recognizer.close();
      this.asrSlotFreed?.();
      const settle = Promise.allSettled([this.pumping ?? Promise.resolve(), this.transcriptions]);
      await Promise.race([settle, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    if (suspended && conversations) await conversations.suspend(suspended.log, suspended.state);
  }

  private enqueue(item: InboxItem): void {
    this.inbox.push(item);
    if (!this.paused && (this.backlogBytes > this.maxBacklogBytes || this.inbox.length > MAX_INBOX_ITEMS)) {
      this.paused = true;
      this.conn.pause();
    }
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null;
    });
  }

  /** Resumes reading once both the audio backlog and the item count are down to half. */
  private maybeResume(): void {
    if (this.paused && this.backlogBytes <= this.maxBacklogBytes / 2 && this.inbox.length <= MAX_INBOX_ITEMS / 2) {
      this.paused = false;
      this.conn.resume();
    }
  }

  private async pump(): Promise<void> {
    while (this.inbox.length > 0 && this.state.kind !== 'closed') {
      const item = this.inbox.shift()!;
      if (item.kind === 'audio') this.backlogBytes -= item.pcm16.byteLength;
      this.maybeResume();
      try {
        if (item.kind === 'audio') {
          await this.handleAudio(item.pcm16);
        } else {
          await this.handleMessage(item.message);
        }
      } catch (err) {
        if (this.closed) return;
        this.opts.log.error(`session error: ${(err as Error).stack ?? String(err)}`);
        this.error('internal', 'internal error while processing; the session continues');
      }
    }
  }

  /** Read through a getter so narrowing inside async code does not hide a close() in between. */
  private get closed(): boolean {
    return this.state.kind === 'closed';
  }

  private error(code: ErrorCode, message: string): void {
    this.conn.send({ type: 'error', code, message });
  }

  private setState(next: State): void {
    if (this.state.kind === 'closed') return;
    this.state = next;
    this.unexpectedAudioReported = false;
  }

  private async handleMessage(msg: ClientMessage): Promise<void> {
    const st = this.state;
    switch (msg.type) {
      case 'start_speaker_registration': {
        if (st.kind === 'transcribing') {
          return this.error('wrong_state', 'cannot register a voice during a conversation; stop it first');
        }
        this.setState({ kind: 'registering', speakerId: msg.speaker_id, name: msg.name, chunks: [], samples: 0 });
        this.conn.send({
          type: 'speaker_registration_started',
          speaker_id: msg.speaker_id,
          message: `Recording voice of speaker ${msg.speaker_id}`,
        });
        return;
      }
      case 'complete_speaker_registration': {
        if (st.kind !== 'registering' || st.speakerId !== msg.speaker_id) {
          return this.error('wrong_state', `no registration of speaker ${msg.speaker_id} is in progress`);
        }
        return this.finishRegistration(st);
      }
      case 'start_transcription': {
        if (st.kind === 'transcribing') return this.error('wrong_state', 'a conversation is already running');
        if (st.kind === 'registering') {
          return this.error('wrong_state', 'finish the voice registration first (complete_speaker_registration)');
        }
        if (msg.conversation_id !== undefined) return this.resumeConversation(msg.conversation_id, msg.last_segment_id ?? -1);
        const missing = ([0, 1] as const).filter((id) => !this.room.has(id));
        if (missing.length > 0 && !this.opts.config.AUTO_ENROLL) {
          return this.error('not_registered', `register both voices first (missing: speaker ${missing.join(' and ')})`);
        }
        const language = msg.language ?? 'auto';
        const log = this.opts.conversations
          ? await this.opts.conversations.begin({ language, speakers: this.speakerList(), profiles: this.profiles() }, () => this.storageFailed())
          : null;
        if (this.state !== st) {
          // Closed while the record was being created: end it rather than leave it open.
          if (log) await this.opts.conversations?.end(log, { receivedSamples: 0, speakers: this.speakerList() });
          return;
        }
        this.setState({
          kind: 'transcribing',
          language,
          front: this.opts.pipeline.createFront(this.room),
          receivedSamples: 0,
          segments: 0,
          log,
        });
        this.conn.send({
          type: 'transcription_started',
          language,
          ...(log ? { conversation_id: log.id, resumed: false, next_segment_id: this.nextSegmentId, resume_from: 0 } : {}),
        });
        return;
      }
      case 'save_voice':
        return this.saveVoice(msg.speaker_id, msg.name);
      case 'use_saved_voice':
        if (st.kind !== 'idle') return this.error('wrong_state', 'saved voices can be chosen only between conversations');
        return this.useSavedVoice(msg.speaker_id, msg.voice_id);
      case 'stop_transcription': {
        if (st.kind !== 'transcribing') return this.error('wrong_state', 'no conversation is running');
        return this.stopConversation(st);
      }
    }
  }

  private async handleAudio(pcm16: Buffer): Promise<void> {
    const st = this.state;
    if (st.kind === 'registering') {
      const limit = Math.round(this.opts.config.MAX_ENROLLMENT_S * SAMPLE_RATE);
      const room = limit - st.samples;
      const samples = pcm16ToFloat(pcm16);
      st.chunks.push(room < samples.length ? samples.subarray(0, room) : samples);
      st.samples += Math.min(room, samples.length);
      if (st.samples >= limit) {
        this.error('registration_too_long', `enrollment is limited to ${this.opts.config.MAX_ENROLLMENT_S} s; registration completed automatically`);
        await this.finishRegistration(st);
      }
      return;
    }
    if (st.kind === 'transcribing') {
      const limit = this.opts.config.MAX_CONVERSATION_S * SAMPLE_RATE;
      if (st.receivedSamples >= limit) return;
      st.receivedSamples += pcm16.byteLength / 2;
      st.log?.audio(pcm16);
      const closed = await st.front.push(pcm16);
      for (const seg of closed) await this.emitSegment(st, seg);
      if (this.state === st && st.front.open) this.partials?.afterPush(st.front.open(), this.backlogBytes / 2, st.language, st.log?.id);
      if (st.receivedSamples >= limit && this.state === st) {
        this.error('conversation_too_long', `conversations are limited to ${this.opts.config.MAX_CONVERSATION_S} s; stopped`);
        await this.stopConversation(st);
      }
      return;
    }
    if (!this.unexpectedAudioReported) {
      this.unexpectedAudioReported = true;
      this.error('unexpected_audio', 'audio received outside a registration or conversation; dropped');
    }
  }

  private async finishRegistration(st: Extract<State, { kind: 'registering' }>): Promise<void> {
    this.setState({ kind: 'idle' });
    const all = new Float32Array(st.samples);
    let at = 0;
    for (const c of st.chunks) {
      all.set(c, at);
      at += c.length;
    }
    st.chunks.length = 0;
    const result = await this.room.enroll(st.speakerId, all);
    if (this.state.kind === 'closed') return;
    if (result.ok) {
      this.nameSpeaker(st.speakerId, st.name ?? null);
      this.conn.send({
        type: 'speaker_registration_completed',
        speaker_id: st.speakerId,
        message: `Voice of ${st.name ?? `speaker ${st.speakerId}`} registered`,
        speech_seconds: Math.round(result.speechSeconds * 100) / 100,
      });
    } else {
      this.conn.send({
        type: 'speaker_registration_failed',
        speaker_id: st.speakerId,
        message: result.message,
        reason: result.reason,
      });
    }
  }

  private async emitSegment(st: Extract<State, { kind: 'transcribing' }>, seg: ClosedSegment): Promise<void> {
    // Before any await: no partial of the open segment may follow its `segment`.
    this.partials?.endSeries();
    const parts = await this.room.assign(seg);
    if (this.state !== st) return;
    for (const part of parts) {
      const segmentId = this.nextSegmentId++;
      st.segments++;
      const start = samplesToSeconds(part.startSample);
      const end = samplesToSeconds(part.endSample);
      await this.deliver(st, {
        type: 'segment',
        segment_id: segmentId,
        speaker_id: part.speakerId,
        start,
        end,
        similarity: [round3(part.similarity[0]), round3(part.similarity[1])],
      });
      // This session's share of the queue (its lane's capacity, from the number of open
      // sessions): a fast file replay waits here (and pauses its socket once its backlog
      // fills) instead of overflowing the queue and losing text as `overloaded`.
      while (this.pendingAsr >= this.recognizer.capacity && !this.closed) {
        await new Promise<void>((r) => (this.asrSlotFreed = r));
      }
      if (this.closed) return;
      this.pendingAsr++;
      const text = this.recognise(partAudio(seg, part), st.language, st.log?.id).finally(() => {
        this.pendingAsr--;
        const wake = this.asrSlotFreed;
        this.asrSlotFreed = null;
        wake?.();
      });
      this.transcriptions = this.transcriptions.then(async () => {
        const t = await text;
        if (this.state.kind === 'closed') return;
        await this.deliver(st, {
          type: 'transcription',
          segment_id: segmentId,
          speaker_id: part.speakerId,
          text: t,
          timestamp: new Date().toISOString(),
          start,
          end,
        });
      });
    }
  }

  /** Text for one part; never rejects (a failure gives "" and a coded error). */
  private async recognise(samples: Float32Array, language: string, conversation: string | undefined): Promise<string | null> {
    try {
      return await this.recognizer.transcribe(samples, language, this.abort.signal, conversation);
    } catch (err) {
      if (this.abort.signal.aborted) return null;
      const code = (err as { code?: string }).code;
      const cause = code !== undefined ? ASR_FAILURE_CAUSES.get(code) : undefined;
      if (code === 'overloaded') {
        this.error('overloaded', 'speech recognition is overloaded; this segment was not transcribed');
      } else if (cause !== undefined) {
        this.opts.log.warn(`transcription failed (${code}): ${(err as Error).message}`);
        this.error('asr_failed', `speech recognition failed for one segment (${code}: ${cause}); it recovers for the next ones`);
      } else {
        this.opts.log.warn(`transcription failed: ${(err as Error).message}`);
        this.error('internal', 'speech recognition failed for one segment');
      }
      return '';
    }
  }

  private async stopConversation(st: Extract<State, { kind: 'transcribing' }>): Promise<void> {
    this.partials?.endSeries();
    try {
      const closed = await st.front.flush();
      for (const seg of closed) await this.emitSegment(st, seg);
    } catch (err) {
      // The stop must still be answered: report the failed step, then finish what is pending.
      if (this.closed) return;
      this.opts.log.error(`session error while stopping: ${(err as Error).stack ?? String(err)}`);
      this.error('internal', 'internal error while closing the last segment; the conversation is stopped');
    }
    await this.transcriptions;
    if (this.state !== st) return;
    this.setState({ kind: 'idle' });
    if (st.log && this.opts.conversations) {
      await this.opts.conversations.end(st.log, { receivedSamples: st.receivedSamples, speakers: this.speakerList(), profiles: this.profiles() });
    }
    this.conn.send({ type: 'transcription_stopped', segments: st.segments });
  }

  /**
   * Sends a partial of the open segment, numbered with the id its `segment` will carry (no
   * segment is being assigned now: `emitSegment` ends the series first). Never recorded.
   */
  private sendPartial(p: PartialPayload): boolean {
    const st = this.state;
    if (st.kind !== 'transcribing') return false;
    this.conn.send({ type: 'partial', segment_id: this.nextSegmentId, ...p, ...(st.log ? { conversation_id: st.log.id } : {}) });
    return true;
  }

  /** Records a segment or transcription (durably, when there is a record), then sends it. */
  private async deliver(st: Extract<State, { kind: 'transcribing' }>, msg: RecordedMessage): Promise<void> {
    if (!st.log) return this.conn.send(msg);
    const tagged = { ...msg, conversation_id: st.log.id };
    await st.log.record(tagged);
    this.conn.send(tagged);
    if (tagged.type === 'transcription') this.opts.onTranscription?.(tagged, (m) => !this.closed && this.conn.send(m));
  }

  private storageFailed(): void {
    this.error('storage_failed', 'the conversation could not be written to disk (disk full or write error); it continues, but is not being saved');
  }

  /** The connection dropped mid-conversation: close the open segment and finish its text. */
  private async finishForSuspend(st: Extract<State, { kind: 'transcribing' }>): Promise<void> {
    await this.pumping;
    if (this.state !== st) return;
    try {
      for (const seg of await st.front.flush()) await this.emitSegment(st, seg);
    } catch (err) {
      this.opts.log.error(`session error while suspending: ${(err as Error).stack ?? String(err)}`);
    }
    await this.transcriptions;
  }

  private async resumeConversation(id: string, lastSegmentId: number): Promise<void> {
    const conversations = this.opts.conversations;
    const attached = conversations
      ? conversations.attach(id, () => this.storageFailed())
      : ({ ok: false, code: 'unknown_conversation', message: 'this server does not keep conversations' } as const);
    if (!attached.ok) return this.error(attached.code, attached.message);
    const { log, state } = attached;
    this.room = state.room;
    this.speakers.splice(0, this.speakers.length, ...state.speakers);
    this.nextSegmentId = state.nextSegmentId;
    this.setState({
      kind: 'transcribing',
      language: state.language,
      front: offsetFront(this.opts.pipeline.createFront(), state.receivedSamples),
      receivedSamples: state.receivedSamples,
      segments: state.segments,
      log,
    });
    this.conn.send({
      type: 'transcription_started',
      language: state.language,
      conversation_id: log.id,
      resumed: true,
      next_segment_id: state.nextSegmentId,
      resume_from: state.receivedSamples / SAMPLE_RATE,
    });
    for (const m of log.history) if (m.segment_id > lastSegmentId) this.conn.send(m);
  }

  private async saveVoice(speakerId: SpeakerId, name: string | undefined): Promise<void> {
    const voice = this.room.exportVoice?.(speakerId) ?? null;
    if (!voice) return this.error('not_registered', `speaker ${speakerId} has no registered voice to save`);
    const store = this.opts.conversations?.store;
    if (!store) return this.error('storage_failed', 'this server does not keep saved voices');
    const label = (name ?? this.speakers.find((s) => s.id === speakerId)?.name ?? '').trim() || `Speaker ${speakerId + 1}`;
    try {
      const saved = await store.saveVoice({ name: label, encoder: voice.encoder, profile: voice.profile });
      this.nameSpeaker(speakerId, label, saved.id);
      this.conn.send({ type: 'voice_saved', speaker_id: speakerId, voice_id: saved.id, name: saved.name });
    } catch (err) {
      this.opts.log.warn(`saving a voice failed: ${(err as Error).message}`);
      this.storageFailed();
    }
  }

  private async useSavedVoice(speakerId: SpeakerId, voiceId: string): Promise<void> {
    const failed = (reason: 'unknown_voice' | 'voice_incompatible' | 'too_similar', message: string) =>
      this.conn.send({ type: 'speaker_registration_failed', speaker_id: speakerId, message, reason });
    const voice = await this.opts.conversations?.store?.getVoice(voiceId).catch(() => null);
    if (!voice) return failed('unknown_voice', 'There is no saved voice with this id (it may have been deleted).');
    const adopted = this.room.adoptVoice?.(speakerId, { encoder: voice.encoder, profile: voice.profile }) ?? { ok: false, reason: 'voice_incompatible' as const };
    if (!adopted.ok) {
      return adopted.reason === 'too_similar'
        ? failed('too_similar', 'This saved voice is almost identical to the other registered voice.')
        : failed('voice_incompatible', 'This voice was saved with another speaker model; register it again.');
    }
    this.nameSpeaker(speakerId, voice.name, voice.id);
    this.opts.onVoiceUse?.(voice.id);
    this.conn.send({
      type: 'speaker_registration_completed',
      speaker_id: speakerId,
      message: `Saved voice of ${voice.name} selected`,
      speech_seconds: Math.round(adopted.speechSeconds * 100) / 100,
      voice_id: voice.id,
      name: voice.name,
    });
  }

  private nameSpeaker(id: SpeakerId, name: string | null, voiceId?: string): void {
    const i = this.speakers.findIndex((s) => s.id === id);
    const entry: StoredSpeaker = { id, name, ...(voiceId ? { voice_id: voiceId } : {}) };
    if (i >= 0) this.speakers[i] = entry;
    else this.speakers.push(entry);
  }

  private speakerList(): StoredSpeaker[] {
    return ([0, 1] as const).map((id) => this.speakers.find((s) => s.id === id) ?? { id, name: null });
  }

  private profiles(): Array<{ id: SpeakerId; profile: unknown }> {
    return ([0, 1] as const).flatMap((id) => {
      const v = this.room.exportVoice?.(id);
      return v ? [{ id, profile: v }] : [];
    });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The audio of one part, with a little context on both sides (within the segment's audio). */
function partAudio(seg: ClosedSegment, part: AssignedPart): Float32Array {
  const from = Math.max(0, part.startSample - ASR_LEAD_SAMPLES - seg.audioStartSample);
  const to = Math.min(seg.audio.length, part.endSample + ASR_TAIL_SAMPLES - seg.audioStartSample);
  return seg.audio.subarray(from, Math.max(from, to));
}
