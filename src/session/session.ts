/**
 * One connection's lifecycle: a tagged-union state machine fed by one ordered inbox, so audio
 * and control messages are handled exactly in arrival order, with bounded buffering. It owns
 * the state, the inbox and the backpressure, answers messages sent in the wrong state, and
 * delegates the work: speaker voices and names to `voices.ts`, a conversation's start, resume,
 * stop and suspend to `lifecycle.ts`, recognition with ordered delivery to
 * `recognition-lane.ts`, interim text to `partials.ts`.
 */
import { randomUUID } from 'node:crypto';
import { SAMPLE_RATE } from '../audio/constants.js';
import { pcm16ToFloat } from '../audio/wav.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { parseClientMessage, type ClientMessage, type ErrorCode, type ServerMessage, type SpeakerId } from '../protocol/messages.js';
import type { Conversations } from './conversations.js';
import { Lifecycle, type LiveConversation, type Suspension } from './lifecycle.js';
import { PartialRunner } from './partials.js';
import type { Connection, PipelineFactory } from './ports.js';
import { RecognitionLane } from './recognition-lane.js';
import { recordEnrollment, Voices, type VoiceRecording } from './voices.js';

type State = { kind: 'idle' } | ({ kind: 'registering' } & VoiceRecording) | LiveConversation | { kind: 'closed' };

type InboxItem = { kind: 'message'; message: ClientMessage } | { kind: 'audio'; pcm16: Buffer };

/**
 * Inbox items (control messages and audio frames) after which the socket stops being read,
 * whatever their size: bounds the per-item overhead of tiny frames and a flood of valid text
 * messages while the session is busy (e.g. a stop waiting for recognition).
 */
export const MAX_INBOX_ITEMS = 1024;
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
  private closing: Promise<void> | null = null;
  private unexpectedAudioReported = false;
  private readonly maxBacklogBytes: number;
  /** The speakers' voices and names. */
  private readonly voices: Voices;
  /** This session's lane in the shared recognition queue. */
  private readonly lane: RecognitionLane;
  /** Interim text of the open segment (null when the recognizer makes none: PARTIALS=off, no model). */
  private readonly partials: PartialRunner | null;
  /** Starts, runs, stops and suspends conversations. */
  private readonly lifecycle: Lifecycle;

  constructor(
    private readonly conn: Connection,
    private readonly opts: SessionOptions,
  ) {
    const send = (msg: ServerMessage) => this.conn.send(msg);
    const error = (code: ErrorCode, message: string) => this.error(code, message);
    const storageFailed = () => this.storageFailed();
    this.voices = new Voices({
      room: opts.pipeline.createRoom(),
      send,
      log: opts.log,
      ...(opts.conversations ? { conversations: opts.conversations } : {}),
      ...(opts.onVoiceUse ? { onVoiceUse: opts.onVoiceUse } : {}),
      closed: () => this.closed,
      storageFailed,
    });
    // An opaque id, not derived from the connection or its token: it only groups this
    // session's recognition jobs (a remote engine carries it for logs and metrics).
    const recognizer = opts.pipeline.createRecognizer(randomUUID());
    this.lane = new RecognitionLane({ recognizer, log: opts.log, error, maxWaiting: opts.config.ASR_QUEUE_MAX + 16 });
    this.maxBacklogBytes = Math.round(opts.config.MAX_BACKLOG_S * SAMPLE_RATE * 2);
    this.partials = recognizer.partial
      ? new PartialRunner({
          recognizer,
          intervalSamples: Math.round((opts.config.PARTIAL_INTERVAL_MS * SAMPLE_RATE) / 1000),
          minSpeechSamples: Math.round((opts.config.PARTIAL_MIN_SPEECH_MS * SAMPLE_RATE) / 1000),
          maxPerSegment: opts.config.PARTIAL_MAX_PER_SEGMENT,
          tokensPerS: opts.config.PARTIAL_TOKENS_PER_S,
          send: (p) => this.lifecycle.sendPartial(p),
        })
      : null;
    this.lifecycle = new Lifecycle({
      config: opts.config,
      pipeline: opts.pipeline,
      log: opts.log,
      ...(opts.conversations ? { conversations: opts.conversations } : {}),
      voices: this.voices,
      lane: this.lane,
      partials: this.partials,
      send,
      error,
      storageFailed,
      current: () => this.state,
      setState: (next) => this.setState(next),
      backlogSamples: () => this.backlogBytes / 2,
      ...(opts.onTranscription ? { onTranscription: opts.onTranscription } : {}),
    });
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

  /** Whether recognition of segments already sent is still pending (the gateway does not close such a session as idle). */
  busy(): boolean {
    return this.lane.pending > 0;
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
    let suspended: Suspension | null = null;
    if (st.kind === 'transcribing' && st.log && conversations) {
      this.inbox.length = 0;
      const finished = this.lifecycle.finishForSuspend(st, this.pumping);
      await Promise.race([finished, new Promise((r) => setTimeout(r, SUSPEND_TIMEOUT_MS).unref())]);
      // The snapshot is taken before the session closes, so nothing numbered after it is recorded.
      if (this.state === st) suspended = this.lifecycle.suspension(st, st.log);
    }
    if (this.state.kind !== 'closed') {
      this.state = { kind: 'closed' };
      this.inbox.length = 0;
      this.lane.abort();
      this.partials?.close();
      this.lane.close();
      const settle = Promise.allSettled([this.pumping ?? Promise.resolve(), this.lane.drained]);
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

  private storageFailed(): void {
    this.error('storage_failed', 'the conversation could not be written to disk (disk full or write error); it continues, but is not being saved');
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
        if (msg.conversation_id !== undefined) return this.lifecycle.resume(msg.conversation_id, msg.last_segment_id ?? -1);
        return this.lifecycle.start(st, msg.language ?? 'auto');
      }
      case 'save_voice':
        return this.voices.save(msg.speaker_id, msg.name);
      case 'use_saved_voice':
        if (st.kind !== 'idle') return this.error('wrong_state', 'saved voices can be chosen only between conversations');
        return this.voices.useSaved(msg.speaker_id, msg.voice_id);
      case 'stop_transcription': {
        if (st.kind !== 'transcribing') return this.error('wrong_state', 'no conversation is running');
        return this.lifecycle.stop(st);
      }
    }
  }

  /** Audio by state: enrollment audio, conversation audio, or one `unexpected_audio` report. */
  private handleAudio(pcm16: Buffer): Promise<void> {
    const st = this.state;
    if (st.kind === 'registering') return this.recordVoice(st, pcm16);
    if (st.kind === 'transcribing') return this.lifecycle.audio(st, pcm16);
    if (!this.unexpectedAudioReported) {
      this.unexpectedAudioReported = true;
      this.error('unexpected_audio', 'audio received outside a registration or conversation; dropped');
    }
    return Promise.resolve();
  }

  private async recordVoice(st: Extract<State, { kind: 'registering' }>, pcm16: Buffer): Promise<void> {
    if (recordEnrollment(st, pcm16ToFloat(pcm16), Math.round(this.opts.config.MAX_ENROLLMENT_S * SAMPLE_RATE))) {
      this.error('registration_too_long', `enrollment is limited to ${this.opts.config.MAX_ENROLLMENT_S} s; registration completed automatically`);
      await this.finishRegistration(st);
    }
  }

  private async finishRegistration(st: Extract<State, { kind: 'registering' }>): Promise<void> {
    this.setState({ kind: 'idle' });
    await this.voices.enroll(st);
  }
}
