/**
 * What the main thread and a front worker (host.ts) say to each other. Both sides are this
 * server's own code, so messages are typed, not parsed; audio travels as transferred buffers.
 */
import type { Config } from '../config.js';
import type { OpenSegmentState } from '../session/room.js';
import type { AssignedPart, ClosedSegment, EnrollmentResult, SavedVoiceData } from '../session/ports.js';
import type { SpeakerId } from '../protocol/messages.js';

/** The worker's start-up data (`workerData`). */
export interface HostInit {
  config: Config;
}

/** Both voices of a room as saved copies (null = no voice), sent whenever one changed. */
export type VoicesSnapshot = readonly [SavedVoiceData | null, SavedVoiceData | null];

/** Main → worker. `sid` names one session's room or front, unique within the pool. */
export type ToHost =
  | { t: 'room'; sid: number }
  | { t: 'front'; sid: number; room: number | null }
  | { t: 'drop'; sid: number }
  | { t: 'call'; id: number; sid: number; op: 'push'; pcm16: Uint8Array }
  | { t: 'call'; id: number; sid: number; op: 'flush' }
  | { t: 'call'; id: number; sid: number; op: 'enroll'; speaker: SpeakerId; samples: Float32Array }
  | { t: 'call'; id: number; sid: number; op: 'assign'; segment: ClosedSegment }
  | { t: 'call'; id: number; sid: number; op: 'adopt'; speaker: SpeakerId; voice: SavedVoiceData }
  /** Test hook: the worker throws from its event loop (an uncaught error), as a crash would. */
  | { t: 'crash' };

/** What a front call resolves with: its closed segments and the open segment after it. */
export interface FrontReply {
  segments: ClosedSegment[];
  open: OpenSegmentState | null;
}

/** Worker → main. */
export type FromHost =
  | { t: 'ready'; encoder: { name: string; dim: number } }
  | { t: 'failed'; message: string }
  | { t: 'ok'; id: number; value: FrontReply | EnrollmentResult | AssignedPart[] | null; voices?: VoicesSnapshot }
  | { t: 'err'; id: number; message: string; code?: string };
