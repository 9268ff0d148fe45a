/**
 * One conversation from start (or resume) to stop (or suspend): opening and ending its record,
 * feeding its audio to the front, numbering the segments the front closes and the parts the
 * speaker room splits them into, sending each `segment` and handing its audio to the
 * recognition lane, and the interim text of the open segment. The session decides when (its
 * state machine); this module does the work, and its guards drop work from a conversation the
 * session has left.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { samplesToSeconds, type ErrorCode, type ServerMessage, type SpeakerId } from '../protocol/messages.js';
import { offsetFront, type ConversationLog, type Conversations, type RecordedMessage, type SuspendedState } from './conversations.js';
import type { PartialPayload, PartialRunner } from './partials.js';
import type { ClosedSegment, ConversationFront, PipelineFactory } from './ports.js';
import { partAudio, type RecognitionLane } from './recognition-lane.js';
import type { Voices } from './voices.js';

/** A running conversation: the session's `transcribing` state. */
export interface LiveConversation {
  kind: 'transcribing';
  language: string;
  front: ConversationFront;
  receivedSamples: number;
  segments: number;
  /** The durable record (null when the session runs without a conversation registry). */
  log: ConversationLog | null;
}

/** The session's state as the lifecycle sees it: a running conversation, or another kind. */
export type SessionStateView = LiveConversation | { readonly kind: 'idle' | 'registering' | 'closed' };

/** A dropped connection's conversation, ready for the registry's `suspend`. */
export interface Suspension {
  log: ConversationLog;
  state: SuspendedState;
}

export interface LifecycleOptions {
  config: Config;
  pipeline: PipelineFactory;
  log: Logger;
  conversations?: Conversations;
  voices: Voices;
  lane: RecognitionLane;
  /** Interim text (null when the recognizer makes none). */
  partials: PartialRunner | null;
  send(msg: ServerMessage): void;
  error(code: ErrorCode, message: string): void;
  storageFailed(): void;
  /** The session's state now; work for a conversation it has left is dropped. */
  current(): SessionStateView;
  /** Moves the session to a new state (ignored once it has closed). */
  setState(next: LiveConversation | { kind: 'idle' }): void;
  /** Samples of audio received and not processed yet (the session's backlog). */
  backlogSamples(): number;
  /** Live sentiment (notes): told of each transcription sent. */
  onTranscription?(msg: { conversation_id?: string; segment_id: number; speaker_id: SpeakerId | null; text: string | null }, send: (m: ServerMessage) => void): void;
}

/** Starts, runs, stops and suspends a connection's conversations; see the module comment. */
export class Lifecycle {
  /** The id the next `segment` gets (it continues across the connection's conversations). */
  private nextSegmentId = 0;

  constructor(private readonly opts: LifecycleOptions) {}

  private get closed(): boolean {
    return this.opts.current().kind === 'closed';
  }

  /**
   * `start_transcription` without a conversation id: refuses without both voices (unless
   * AUTO_ENROLL), opens the record, and enters `transcribing` unless the session has left
   * `before` meanwhile.
   */
  async start(before: SessionStateView, language: string): Promise<void> {
    const { voices, conversations } = this.opts;
    const missing = voices.missing();
    if (missing.length > 0 && !this.opts.config.AUTO_ENROLL) {
      return this.opts.error('not_registered', `register both voices first (missing: speaker ${missing.join(' and ')})`);
    }
    const log = conversations
      ? await conversations.begin({ language, speakers: voices.speakerList(), profiles: voices.profiles() }, () => this.opts.storageFailed())
      : null;
    if (this.opts.current() !== before) {
      // Closed while the record was being created: end it rather than leave it open.
      if (log) await conversations?.end(log, { receivedSamples: 0, speakers: voices.speakerList() });
      return;
    }
    this.opts.setState({
      kind: 'transcribing',
      language,
      front: this.opts.pipeline.createFront(voices.room),
      receivedSamples: 0,
      segments: 0,
      log,
    });
    this.opts.send({
      type: 'transcription_started',
      language,
      ...(log ? { conversation_id: log.id, resumed: false, next_segment_id: this.nextSegmentId, resume_from: 0 } : {}),
    });
  }

  /**
   * `start_transcription` with a conversation id: takes over a suspended conversation (its
   * voices, names, numbering and audio clock, through `offsetFront`) and re-sends what the
   * client has not seen after `lastSegmentId`.
   */
  async resume(id: string, lastSegmentId: number): Promise<void> {
    const conversations = this.opts.conversations;
    const attached = conversations
      ? conversations.attach(id, () => this.opts.storageFailed())
      : ({ ok: false, code: 'unknown_conversation', message: 'this server does not keep conversations' } as const);
    if (!attached.ok) return this.opts.error(attached.code, attached.message);
    const { log, state } = attached;
    this.opts.voices.restore(state.room, state.speakers);
    this.nextSegmentId = state.nextSegmentId;
    this.opts.setState({
      kind: 'transcribing',
      language: state.language,
      front: offsetFront(this.opts.pipeline.createFront(), state.receivedSamples),
      receivedSamples: state.receivedSamples,
      segments: state.segments,
      log,
    });
    this.opts.send({
      type: 'transcription_started',
      language: state.language,
      conversation_id: log.id,
      resumed: true,
      next_segment_id: state.nextSegmentId,
      resume_from: state.receivedSamples / SAMPLE_RATE,
    });
    for (const m of log.history) if (m.segment_id > lastSegmentId) this.opts.send(m);
  }

  /** Conversation audio (PCM16): to the record and the front; stops at MAX_CONVERSATION_S. */
  async audio(live: LiveConversation, pcm16: Buffer): Promise<void> {
    const { config, partials } = this.opts;
    const limit = config.MAX_CONVERSATION_S * SAMPLE_RATE;
    if (live.receivedSamples >= limit) return;
    live.receivedSamples += pcm16.byteLength / 2;
    live.log?.audio(pcm16);
    const closed = await live.front.push(pcm16);
    for (const seg of closed) await this.emitSegment(live, seg);
    if (this.opts.current() === live && live.front.open) partials?.afterPush(live.front.open(), this.opts.backlogSamples(), live.language, live.log?.id);
    if (live.receivedSamples >= limit && this.opts.current() === live) {
      this.opts.error('conversation_too_long', `conversations are limited to ${config.MAX_CONVERSATION_S} s; stopped`);
      await this.stop(live);
    }
  }

  /** `stop_transcription`: closes the open segment, waits for every text, ends the record. */
  async stop(live: LiveConversation): Promise<void> {
    this.opts.partials?.endSeries();
    try {
      const closed = await live.front.flush();
      for (const seg of closed) await this.emitSegment(live, seg);
    } catch (err) {
      // The stop must still be answered: report the failed step, then finish what is pending.
      if (this.closed) return;
      this.opts.log.error(`session error while stopping: ${(err as Error).stack ?? String(err)}`);
      this.opts.error('internal', 'internal error while closing the last segment; the conversation is stopped');
    }
    await this.opts.lane.drained;
    if (this.opts.current() !== live) return;
    this.opts.setState({ kind: 'idle' });
    if (live.log && this.opts.conversations) {
      await this.opts.conversations.end(live.log, { receivedSamples: live.receivedSamples, speakers: this.opts.voices.speakerList(), profiles: this.opts.voices.profiles() });
    }
    this.opts.send({ type: 'transcription_stopped', segments: live.segments });
  }

  /**
   * The connection dropped mid-conversation: once `pumping` (the session's inbox) is done,
   * close the open segment and finish its text.
   */
  async finishForSuspend(live: LiveConversation, pumping: Promise<void> | null): Promise<void> {
    await pumping;
    if (this.opts.current() !== live) return;
    try {
      for (const seg of await live.front.flush()) await this.emitSegment(live, seg);
    } catch (err) {
      this.opts.log.error(`session error while suspending: ${(err as Error).stack ?? String(err)}`);
    }
    await this.opts.lane.drained;
  }

  /** What the next connection needs to continue `live` (taken before the session closes). */
  suspension(live: LiveConversation, log: ConversationLog): Suspension {
    return {
      log,
      state: {
        room: this.opts.voices.room,
        speakers: this.opts.voices.snapshot(),
        language: live.language,
        nextSegmentId: this.nextSegmentId,
        receivedSamples: live.receivedSamples,
        segments: live.segments,
      },
    };
  }

  /**
   * Sends a partial of the open segment, numbered with the id its `segment` will carry (no
   * segment is being assigned now: `emitSegment` ends the series first). Never recorded.
   */
  sendPartial(p: PartialPayload): boolean {
    const st = this.opts.current();
    if (st.kind !== 'transcribing') return false;
    this.opts.send({ type: 'partial', segment_id: this.nextSegmentId, ...p, ...(st.log ? { conversation_id: st.log.id } : {}) });
    return true;
  }

  private async emitSegment(live: LiveConversation, seg: ClosedSegment): Promise<void> {
    // Before any await: no partial of the open segment may follow its `segment`.
    this.opts.partials?.endSeries();
    const parts = await this.opts.voices.room.assign(seg);
    if (this.opts.current() !== live) return;
    const lane = this.opts.lane;
    for (const part of parts) {
      const segmentId = this.nextSegmentId++;
      live.segments++;
      const start = samplesToSeconds(part.startSample);
      const end = samplesToSeconds(part.endSample);
      await this.deliver(live, {
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
      while (lane.full && !this.closed) {
        await lane.whenSlotFreed();
      }
      if (this.closed) return;
      lane.submit(partAudio(seg, part), live.language, live.log?.id, (t) =>
        this.deliver(live, {
          type: 'transcription',
          segment_id: segmentId,
          speaker_id: part.speakerId,
          text: t,
          timestamp: new Date().toISOString(),
          start,
          end,
        }),
      );
    }
  }

  /** Records a segment or transcription (durably, when there is a record), then sends it. */
  private async deliver(live: LiveConversation, msg: RecordedMessage): Promise<void> {
    if (!live.log) return this.opts.send(msg);
    const tagged = { ...msg, conversation_id: live.log.id };
    await live.log.record(tagged);
    this.opts.send(tagged);
    if (tagged.type === 'transcription') this.opts.onTranscription?.(tagged, (m) => !this.closed && this.opts.send(m));
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
