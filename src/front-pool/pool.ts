/**
 * The front pool: FRONT_THREADS worker threads, each with its own VAD and speaker encoder,
 * running the live fronts and speaker rooms of the sessions pinned to it (the least loaded
 * worker when the session's room is made, for the session's life). The main thread keeps
 * proxies that implement the same ports (`SpeakerRoom`, `ConversationFront`), so a session
 * cannot tell where its front runs.
 *
 * - Audio goes over as transferred buffers; closed segments come back the same way.
 * - A front's results resolve in call order (the worker serialises each front, and a worker's
 *   messages arrive in the order sent).
 * - The room's synchronous members (`has`, `exportVoice`, `adoptVoice`) answer from a copy of
 *   its voices that the worker sends whenever one changes; an adoption is decided here by the
 *   same rule (`adoptionVerdict`) and then made there.
 * - A worker that dies (uncaught error, exit) fails every pending and later call of its
 *   sessions with code `front_crashed`, tells each session's `onCrash` (which closes its
 *   connection), and is replaced for new sessions. Other workers' sessions are untouched. A
 *   front whose session was told takes its remaining pushes and flush as empty rather than
 *   failing each queued audio frame again while the session closes.
 * - A session's parts on the worker are dropped when its proxies are garbage-collected (the
 *   ports have no close).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SAMPLE_RATE } from '../audio/constants.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { SpeakerId } from '../protocol/messages.js';
import { FrontEnd } from '../speaker/features.js';
import { gmmFromJson } from '../speaker/gmm.js';
import type { SpeakerEncoder } from '../speaker/types.js';
import { adoptionVerdict, exportedVoice, profileFromJson, type OpenSegmentState } from '../session/room.js';
import type { AdoptResult, AssignedPart, ClosedSegment, ConversationFront, EnrollmentResult, OpenSegmentView, SavedVoiceData, SpeakerRoom } from '../session/ports.js';
import type { FromHost, FrontReply, HostInit, ToHost, VoicesSnapshot } from './messages.js';
import { RecentAudio } from './recent-audio.js';

/** Worker threads for a FRONT_THREADS setting: −1 = one per core (at most 64); 0 = none (in-process). */
export function frontThreads(setting: number): number {
  return setting < 0 ? Math.min(availableParallelism(), 64) : setting;
}

/** The error of every call of a session whose worker died. */
export class FrontCrashedError extends Error {
  readonly code = 'front_crashed';
  constructor() {
    super('the speech front worker of this session stopped');
  }
}

export interface FrontPoolOptions {
  threads: number;
  config: Config;
  /** The main thread's encoder: the same model as the workers', for adoption verdicts and tags. */
  encoder: SpeakerEncoder;
  log: Logger;
  /** Tests: the worker entry module (default: worker-entry.mjs beside this file). */
  entry?: URL;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onVoices?: (voices: VoicesSnapshot) => void;
}

/** One session part (room or room-less front) on a worker. */
interface Member {
  crashed: boolean;
  onCrash?: () => void;
}

interface Slot {
  index: number;
  worker: Worker;
  alive: boolean;
  ready: Promise<void>;
  /** Sessions pinned here now (a room with its front counts once). */
  load: number;
  pending: Map<number, Pending>;
  members: Set<Member>;
}

/** Audio kept beside each remote front beyond the longest segment and its lead-in (slack for frames in flight), ms. */
const RECENT_SLACK_MS = 5000;
/** A worker that died before it was ready is restarted after this long (a model that fails to load must not spin), ms. */
const RESTART_AFTER_FAILED_START_MS = 5000;

export class FrontPool {
  private readonly slots: Slot[] = [];
  private nextSid = 1;
  private nextCall = 1;
  private closing = false;
  private readonly recentCapacity: number;
  private readonly frameDim = new FrontEnd().dim;
  /** Drops a session's parts on its worker once its proxy is gone. */
  private readonly gone = new FinalizationRegistry<{ slot: Slot; sid: number; member: Member; counted: boolean }>((h) => this.release(h));

  constructor(private readonly opts: FrontPoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new Error('FrontPool: threads must be a positive integer');
    const c = opts.config;
    this.recentCapacity = Math.ceil(((c.MAX_SEGMENT_MS + c.PRE_ROLL_MS + c.ONSET_ENERGY_MS + RECENT_SLACK_MS) * SAMPLE_RATE) / 1000);
    for (let i = 0; i < opts.threads; i++) this.slots.push(this.spawn(i));
  }

  /** Resolves once every worker has loaded its models; rejects when one could not. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Sessions pinned to each worker now (for status and tests). */
  get loads(): number[] {
    return this.slots.map((s) => s.load);
  }

  /** A room on the least loaded worker; `onCrash` is called if that worker dies. */
  createRoom(onCrash?: () => void): SpeakerRoom {
    const slot = this.leastLoaded();
    const sid = this.nextSid++;
    const member: Member = { crashed: false, ...(onCrash ? { onCrash } : {}) };
    slot.load++;
    slot.members.add(member);
    slot.worker.postMessage({ t: 'room', sid } satisfies ToHost);
    const room = new RemoteRoom(this, slot, sid, member);
    this.gone.register(room, { slot, sid, member, counted: true });
    return room;
  }

  /** A front on its room's worker (a room made elsewhere gets no watch), or on the least loaded one. */
  createFront(room?: SpeakerRoom, onCrash?: () => void): ConversationFront {
    const pinned = room instanceof RemoteRoom && room.pool === this ? room : null;
    const slot = pinned ? pinned.slot : this.leastLoaded();
    const sid = this.nextSid++;
    const member: Member = pinned ? pinned.member : { crashed: false, ...(onCrash ? { onCrash } : {}) };
    if (!pinned) {
      slot.load++;
      slot.members.add(member);
    }
    slot.worker.postMessage({ t: 'front', sid, room: pinned ? pinned.sid : null } satisfies ToHost);
    const front = new RemoteFront(this, slot, sid, member, new RecentAudio(this.recentCapacity), pinned);
    this.gone.register(front, { slot, sid, member, counted: !pinned });
    return front;
  }

  /** Test hook: makes worker `index` throw an uncaught error, as a crash would. */
  crashWorkerForTest(index: number): void {
    this.slots[index]?.worker.postMessage({ t: 'crash' } satisfies ToHost);
  }

  /** Stops every worker; pending calls fail. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Sends one call to `slot` for `member`; rejects with FrontCrashedError if it is (or goes) down. */
  call<T>(slot: Slot, member: Member, msg: ToHost, transfer: ArrayBuffer[] = [], onVoices?: (v: VoicesSnapshot) => void): Promise<T> {
    if (member.crashed || !slot.alive) return Promise.reject(new FrontCrashedError());
    return new Promise<T>((resolve, reject) => {
      const id = (msg as { id: number }).id;
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(onVoices ? { onVoices } : {}) });
      // An idle worker does not keep the process alive; one with calls in flight does.
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage(msg, transfer);
    });
  }

  /** A fresh call id. */
  callId(): number {
    return this.nextCall++;
  }

  /** Exported voice of an adopted profile, as the worker's room will export it. */
  adoptedExport(voice: SavedVoiceData, other: SavedVoiceData | null): { result: AdoptResult; saved: SavedVoiceData | null } {
    const enc = this.opts.encoder;
    const verdict = adoptionVerdict(enc, voice, other ? profileFromJson(other, enc) : null);
    if (!verdict.ok) return { result: verdict, saved: null };
    const frames = this.opts.config.CHANGE_WATCH_FRAMES ? gmmFromJson((voice.profile as { frames?: unknown } | null)?.frames, this.frameDim) : null;
    return { result: { ok: true, speechSeconds: verdict.profile.speechSeconds }, saved: exportedVoice(enc, verdict.profile, frames) };
  }

  private leastLoaded(): Slot {
    let best: Slot | null = null;
    for (const s of this.slots) if (s.alive && (!best || s.load < best.load)) best = s;
    // Every worker is down (restarts pending): the first one's replacement takes the session.
    return best ?? this.slots[0]!;
  }

  private release(h: { slot: Slot; sid: number; member: Member; counted: boolean }): void {
    if (h.counted) {
      h.slot.load = Math.max(0, h.slot.load - 1);
      h.slot.members.delete(h.member);
    }
    if (h.slot.alive && !this.closing) h.slot.worker.postMessage({ t: 'drop', sid: h.sid } satisfies ToHost);
  }

  private spawn(index: number): Slot {
    const worker = new Worker(this.opts.entry ?? new URL('./worker-entry.mjs', import.meta.url), {
      workerData: { config: this.opts.config } satisfies HostInit,
      // A bare start: the entry registers its own TypeScript loader (see worker-entry.mjs).
      execArgv: [],
    });
    let started = false;
    let readyResolve!: () => void;
    let readyReject!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    // A replacement's start failure is logged, not thrown: nobody awaits it.
    ready.catch(() => undefined);
    const slot: Slot = { index, worker, alive: true, ready, load: 0, pending: new Map(), members: new Set() };
    worker.on('message', (msg: FromHost) => {
      switch (msg.t) {
        case 'ready':
          started = true;
          if (slot.pending.size === 0) worker.unref();
          readyResolve();
          return;
        case 'failed':
          readyReject(new Error(`front worker ${index}: ${msg.message}`));
          return;
        case 'ok': {
          const p = slot.pending.get(msg.id);
          if (!p) return;
          slot.pending.delete(msg.id);
          if (slot.pending.size === 0) worker.unref();
          if (msg.voices) p.onVoices?.(msg.voices);
          p.resolve(msg.value);
          return;
        }
        case 'err': {
          const p = slot.pending.get(msg.id);
          if (!p) return;
          slot.pending.delete(msg.id);
          if (slot.pending.size === 0) worker.unref();
          p.reject(Object.assign(new Error(msg.message), msg.code !== undefined ? { code: msg.code } : {}));
          return;
        }
      }
    });
    worker.on('error', (err) => {
      this.opts.log.error(`front worker ${index} failed: ${err.stack ?? err.message}`);
      this.down(slot, started);
    });
    worker.on('exit', (code) => {
      if (!this.closing && slot.alive) this.opts.log.error(`front worker ${index} exited (status ${code})`);
      this.down(slot, started);
    });
    return slot;
  }

  /** A worker died: fail its sessions, and start a new one in its place. */
  private down(slot: Slot, started: boolean): void {
    if (!slot.alive) return;
    slot.alive = false;
    if (!started) slot.worker.terminate().catch(() => undefined);
    const err = new FrontCrashedError();
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    const members = [...slot.members];
    slot.members.clear();
    slot.load = 0;
    for (const m of members) m.crashed = true;
    for (const m of members) m.onCrash?.();
    for (const p of pending) p.reject(err);
    if (this.closing) return;
    const restart = () => {
      if (this.closing || this.slots[slot.index] !== slot) return;
      this.slots[slot.index] = this.spawn(slot.index);
    };
    if (started) restart();
    else setTimeout(restart, RESTART_AFTER_FAILED_START_MS).unref();
  }
}

/** A room on a worker (see the module comment for what is answered here). */
class RemoteRoom implements SpeakerRoom {
  private voices: [SavedVoiceData | null, SavedVoiceData | null] = [null, null];
  private readonly takeVoices = (v: VoicesSnapshot) => {
    this.voices = [v[0], v[1]];
  };

  constructor(
    readonly pool: FrontPool,
    readonly slot: Slot,
    readonly sid: number,
    readonly member: Member,
  ) {}

  has(id: SpeakerId): boolean {
    return this.voices[id] !== null;
  }

  enroll(id: SpeakerId, samples: Float32Array): Promise<EnrollmentResult> {
    const copy = samples.slice();
    return this.pool.call(this.slot, this.member, { t: 'call', id: this.pool.callId(), sid: this.sid, op: 'enroll', speaker: id, samples: copy }, [copy.buffer], this.takeVoices);
  }

  assign(segment: ClosedSegment): Promise<AssignedPart[]> {
    // Copied, not transferred: the session still needs the segment's audio for recognition.
    return this.pool.call(this.slot, this.member, { t: 'call', id: this.pool.callId(), sid: this.sid, op: 'assign', segment }, [], this.takeVoices);
  }

  exportVoice(id: SpeakerId): SavedVoiceData | null {
    return this.voices[id];
  }

  /** Whether both voices have frame models (a saved voice carries its model as `frames`). */
  hasFrameVoices(): boolean {
    return this.voices.every((v) => v !== null && (v.profile as { frames?: unknown } | null)?.frames !== undefined);
  }

  adoptVoice(id: SpeakerId, voice: SavedVoiceData): AdoptResult {
    const { result, saved } = this.pool.adoptedExport(voice, this.voices[id === 0 ? 1 : 0]);
    if (!result.ok) return result;
    this.voices[id] = saved;
    // Made on the worker in order with the session's later calls; a crash surfaces on those.
    this.pool.call(this.slot, this.member, { t: 'call', id: this.pool.callId(), sid: this.sid, op: 'adopt', speaker: id, voice }, [], this.takeVoices).catch(() => undefined);
    return result;
  }
}

/** A front on a worker; the open segment's audio is served from the recent audio kept here. */
class RemoteFront implements ConversationFront {
  private state: OpenSegmentState | null = null;

  constructor(
    private readonly pool: FrontPool,
    private readonly slot: Slot,
    private readonly sid: number,
    private readonly member: Member,
    private readonly recent: RecentAudio,
    /** Held so the room outlives its front (its parts on the worker are dropped with it). */
    readonly room: RemoteRoom | null,
  ) {}

  push(pcm16: Uint8Array): Promise<ClosedSegment[]> {
    // A session already told of its worker's death is being closed: the audio still queued in
    // its inbox has nowhere to go, and failing each piece would only log the same error again.
    if (this.member.crashed && this.member.onCrash) return Promise.resolve([]);
    this.recent.append(pcm16);
    // A copy of its own to hand over (a Buffer's slice() would share, and transferring would
    // detach, the socket's memory).
    const copy = new Uint8Array(pcm16.byteLength);
    copy.set(pcm16);
    return this.reply(this.pool.call<FrontReply>(this.slot, this.member, { t: 'call', id: this.pool.callId(), sid: this.sid, op: 'push', pcm16: copy }, [copy.buffer]));
  }

  flush(): Promise<ClosedSegment[]> {
    if (this.member.crashed && this.member.onCrash) return Promise.resolve([]);
    return this.reply(this.pool.call<FrontReply>(this.slot, this.member, { t: 'call', id: this.pool.callId(), sid: this.sid, op: 'flush' }));
  }

  open(): OpenSegmentView | null {
    const s = this.state;
    if (!s) return null;
    const startSample = s.startSample;
    return {
      startSample,
      receivedSamples: s.receivedSamples,
      // As the in-process front: the segment open when audio() is called, from `startSample`.
      audio: () => {
        const now = this.state;
        return now ? this.recent.slice(Math.max(startSample, now.startSample), now.endSample) : new Float32Array(0);
      },
      speakerGuess: s.speakerGuess,
    };
  }

  private async reply(p: Promise<FrontReply>): Promise<ClosedSegment[]> {
    const r = await p;
    this.state = r.open;
    return r.segments;
  }
}
