/**
 * The worker side of the front pool: one VAD model and one speaker encoder, and the rooms and
 * fronts of every session pinned to this worker, built exactly as the in-process pipeline
 * builds them (src/session/room.ts). Independent of `worker_threads` (it is handed a `post`
 * function), so tests can drive it in-process.
 */
import type { Config } from '../config.js';
import type { SpeakerEncoder } from '../speaker/types.js';
import type { VadModel } from '../vad/types.js';
import { speechFrontOptionsFromConfig, type SpeechFrontOptions } from '../front/front.js';
import { createLocalFront, Room, type LocalFront } from '../session/room.js';
import type { AssignedPart, ClosedSegment, EnrollmentResult } from '../session/ports.js';
import type { FromHost, FrontReply, ToHost, VoicesSnapshot } from './messages.js';

/** Sends one message to the main thread, handing over the buffers in `transfer`. */
export type HostPost = (msg: FromHost, transfer?: ArrayBuffer[]) => void;

interface RoomEntry {
  room: Room;
  /** The voice objects last sent to the main thread (see Room.voiceRefs). */
  sent: readonly unknown[];
}

export class FrontHost {
  private readonly rooms = new Map<number, RoomEntry>();
  private readonly fronts = new Map<number, LocalFront>();
  private readonly frontOptions: SpeechFrontOptions;

  constructor(
    private readonly config: Config,
    private readonly vad: VadModel,
    private readonly encoder: SpeakerEncoder,
    private readonly post: HostPost,
  ) {
    this.frontOptions = speechFrontOptionsFromConfig(config);
  }

  /** Sessions (rooms and room-less fronts) held now. */
  get size(): number {
    return this.rooms.size + this.fronts.size;
  }

  handle(msg: ToHost): void {
    switch (msg.t) {
      case 'room': {
        const room = new Room(this.encoder, this.vad, this.config);
        this.rooms.set(msg.sid, { room, sent: room.voiceRefs() });
        return;
      }
      case 'front': {
        const room = msg.room === null ? undefined : this.rooms.get(msg.room)?.room;
        this.fronts.set(msg.sid, createLocalFront(this.config, this.vad, this.frontOptions, room));
        return;
      }
      case 'drop':
        this.rooms.delete(msg.sid);
        this.fronts.delete(msg.sid);
        return;
      case 'crash':
        setImmediate(() => {
          throw new Error('front worker: crash requested (test hook)');
        });
        return;
      case 'call':
        this.call(msg).then(
          ({ value, transfer, voices }) => this.post({ t: 'ok', id: msg.id, value, ...(voices ? { voices } : {}) }, transfer),
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            this.post({ t: 'err', id: msg.id, message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) });
          },
        );
        return;
    }
  }

  private async call(
    msg: Extract<ToHost, { t: 'call' }>,
  ): Promise<{ value: FrontReply | EnrollmentResult | AssignedPart[] | null; transfer: ArrayBuffer[]; voices?: VoicesSnapshot }> {
    switch (msg.op) {
      case 'push':
      case 'flush': {
        const front = this.fronts.get(msg.sid);
        if (!front) throw new Error(`front worker: no front ${msg.sid}`);
        const segments = msg.op === 'push' ? await front.push(msg.pcm16) : await front.flush();
        return { value: { segments, open: front.openState() }, transfer: ownBuffers(segments) };
      }
      case 'enroll': {
        const entry = this.room(msg.sid);
        const value = await entry.room.enroll(msg.speaker, msg.samples);
        return { value, transfer: [], ...this.voices(entry) };
      }
      case 'assign': {
        const entry = this.room(msg.sid);
        const value = await entry.room.assign(msg.segment);
        return { value, transfer: [], ...this.voices(entry) };
      }
      case 'adopt': {
        const entry = this.room(msg.sid);
        entry.room.adoptVoice(msg.speaker, msg.voice);
        return { value: null, transfer: [], ...this.voices(entry) };
      }
    }
  }

  private room(sid: number): RoomEntry {
    const entry = this.rooms.get(sid);
    if (!entry) throw new Error(`front worker: no room ${sid}`);
    return entry;
  }

  /** The room's voices when any changed since they were last sent. */
  private voices(entry: RoomEntry): { voices?: VoicesSnapshot } {
    const now = entry.room.voiceRefs();
    if (now.every((r, i) => r === entry.sent[i])) return {};
    entry.sent = now;
    return { voices: [entry.room.exportVoice(0), entry.room.exportVoice(1)] };
  }
}

/** The segments' audio buffers, each transferable (a segment owns its audio; a shared one is not sent). */
function ownBuffers(segments: readonly ClosedSegment[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const s of segments) {
    const b = s.audio.buffer;
    if (b instanceof ArrayBuffer && s.audio.byteOffset === 0 && s.audio.byteLength === b.byteLength && !out.includes(b)) out.push(b);
  }
  return out;
}
