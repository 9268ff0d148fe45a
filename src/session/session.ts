/**
 * One connection's lifecycle: a tagged-union state machine fed by one ordered inbox, so audio
 * and control messages are handled exactly in arrival order, with bounded buffering.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { pcm16ToFloat } from '../audio/wav.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import {
  parseClientMessage,
  samplesToSeconds,
  type ClientMessage,
  type ErrorCode,
  type SpeakerId,
} from '../protocol/messages.js';
import type { Connection, SessionHandle } from '../transport/gateway.js';
import type { AssignedPart, ClosedSegment, ConversationFront, PipelineFactory, SpeakerRoom } from './ports.js';

type State =
  | { kind: 'idle' }
  | { kind: 'registering'; speakerId: SpeakerId; name: string | undefined; chunks: Float32Array[]; samples: number }
  | {
      kind: 'transcribing';
      language: string;
      front: ConversationFront;
      receivedSamples: number;
      segments: number;
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

export interface SessionOptions {
  config: Config;
  pipeline: PipelineFactory;
  log: Logger;
}

export class Session implements SessionHandle {
  private state: State = { kind: 'idle' };
  private readonly inbox: InboxItem[] = [];
  private backlogBytes = 0;
  private paused = false;
  private pumping: Promise<void> | null = null;
  private readonly room: SpeakerRoom;
  private readonly abort = new AbortController();
  /** Transcriptions are sent in segment order through this chain. */
  private transcriptions: Promise<void> = Promise.resolve();
  private nextSegmentId = 0;
  private unexpectedAudioReported = false;
  private readonly maxBacklogBytes: number;
  /** Recognition jobs of this session not finished yet, and the most it may have at once. */
  private pendingAsr = 0;
  private readonly maxPendingAsr: number;
  private asrSlotFreed: (() => void) | null = null;

  constructor(
    private readonly conn: Connection,
    private readonly opts: SessionOptions,
  ) {
    this.room = opts.pipeline.createRoom();
    this.maxBacklogBytes = Math.round(opts.config.MAX_BACKLOG_S * SAMPLE_RATE * 2);
    // A fair share of the shared queue, so a fast file replay waits (and pauses its socket)
    // instead of overflowing the queue and losing text as `overloaded`.
    this.maxPendingAsr = Math.max(1, Math.floor(opts.config.ASR_QUEUE_MAX / Math.max(1, opts.config.MAX_SESSIONS)));
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
    this.backlogBytes += data.byteLength;
    this.enqueue({ kind: 'audio', pcm16: data });
  }

  /** Aborts pending work and frees state; safe to call twice. Aborted work is never reported. */
  async close(): Promise<void> {
    if (this.state.kind === 'closed') return;
    this.state = { kind: 'closed' };
    this.inbox.length = 0;
    this.abort.abort();
    this.asrSlotFreed?.();
    const settle = Promise.allSettled([this.pumping ?? Promise.resolve(), this.transcriptions]);
    await Promise.race([settle, new Promise((r) => setTimeout(r, 5000).unref())]);
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
        const missing = ([0, 1] as const).filter((id) => !this.room.has(id));
        if (missing.length > 0 && !this.opts.config.AUTO_ENROLL) {
          return this.error('not_registered', `register both voices first (missing: speaker ${missing.join(' and ')})`);
        }
        const language = msg.language ?? 'auto';
        this.setState({
          kind: 'transcribing',
          language,
          front: this.opts.pipeline.createFront(this.room),
          receivedSamples: 0,
          segments: 0,
        });
        this.conn.send({ type: 'transcription_started', language });
        return;
      }
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
      const closed = await st.front.push(pcm16);
      for (const seg of closed) await this.emitSegment(st, seg);
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
    const parts = await this.room.assign(seg);
    if (this.state !== st) return;
    for (const part of parts) {
      const segmentId = this.nextSegmentId++;
      st.segments++;
      const start = samplesToSeconds(part.startSample);
      const end = samplesToSeconds(part.endSample);
      this.conn.send({
        type: 'segment',
        segment_id: segmentId,
        speaker_id: part.speakerId,
        start,
        end,
        similarity: [round3(part.similarity[0]), round3(part.similarity[1])],
      });
      while (this.pendingAsr >= this.maxPendingAsr && !this.closed) {
        await new Promise<void>((r) => (this.asrSlotFreed = r));
      }
      if (this.closed) return;
      this.pendingAsr++;
      const text = this.recognise(partAudio(seg, part), st.language).finally(() => {
        this.pendingAsr--;
        const wake = this.asrSlotFreed;
        this.asrSlotFreed = null;
        wake?.();
      });
      this.transcriptions = this.transcriptions.then(async () => {
        const t = await text;
        if (this.state.kind === 'closed') return;
        this.conn.send({
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

  /** Text for one part; never rejects (overload gives "" and a coded error). */
  private async recognise(samples: Float32Array, language: string): Promise<string | null> {
    try {
      return await this.opts.pipeline.transcribe(samples, language, this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return null;
      const code = (err as { code?: string }).code;
      if (code === 'overloaded') {
        this.error('overloaded', 'speech recognition is overloaded; this segment was not transcribed');
      } else {
        this.opts.log.warn(`transcription failed: ${(err as Error).message}`);
        this.error('internal', 'speech recognition failed for one segment');
      }
      return '';
    }
  }

  private async stopConversation(st: Extract<State, { kind: 'transcribing' }>): Promise<void> {
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
    this.conn.send({ type: 'transcription_stopped', segments: st.segments });
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
