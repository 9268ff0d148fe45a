/**
 * A session's recognition lane: it hands each part of a closed segment to the session's
 * `Recognizer`, keeps the session within its share of the shared queue (the caller waits for a
 * free slot), turns failures into coded errors, and delivers the texts in the order the parts
 * were submitted, whatever order recognition finishes in. Aborting it (the session closes)
 * silences everything still pending.
 */
import { setMaxListeners } from 'node:events';
import { SAMPLE_RATE } from '../audio/constants.js';
import type { Logger } from '../log.js';
import type { ErrorCode } from '../protocol/messages.js';
import type { AssignedPart, ClosedSegment, Recognizer } from './ports.js';

/** Audio kept around a part for recognition: context before its first word, margin after. */
const ASR_LEAD_SAMPLES = Math.round(0.2 * SAMPLE_RATE);
const ASR_TAIL_SAMPLES = Math.round(0.15 * SAMPLE_RATE);

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

export interface RecognitionLaneOptions {
  recognizer: Recognizer;
  log: Logger;
  /** Sends a coded error to the client. */
  error(code: ErrorCode, message: string): void;
  /** Recognition jobs that may wait on the lane's abort signal at once (the queue's size). */
  maxWaiting: number;
}

/** One session's ordered path to recognition; see the module comment. */
export class RecognitionLane {
  private readonly abortController = new AbortController();
  /** Texts are delivered in submission order through this chain. */
  private chain: Promise<void> = Promise.resolve();
  /** Jobs of this lane not finished yet. */
  private pendingJobs = 0;
  private slotFreed: (() => void) | null = null;

  constructor(private readonly opts: RecognitionLaneOptions) {
    // Each recognition job waiting in the queue listens on this signal; their number is bounded
    // by the queue's size, which may be above Node's default warning threshold of 10.
    setMaxListeners(opts.maxWaiting, this.abortController.signal);
  }

  /** Whether the lane was aborted (its session closed). */
  get aborted(): boolean {
    return this.abortController.signal.aborted;
  }

  /** Jobs of this lane not finished yet (the session still owes its client their text). */
  get pending(): number {
    return this.pendingJobs;
  }

  /** Whether this session holds its whole share of the queue now (submit after {@link whenSlotFreed}). */
  get full(): boolean {
    return this.pendingJobs >= this.opts.recognizer.capacity;
  }

  /** Resolves when one of this lane's jobs finishes, or when the lane closes. One waiter at a time (the session's inbox handles one item at a time): a second call replaces the first. */
  whenSlotFreed(): Promise<void> {
    return new Promise<void>((r) => (this.slotFreed = r));
  }

  /** Settles once every text submitted so far has been delivered (or dropped by an abort). */
  get drained(): Promise<void> {
    return this.chain;
  }

  /**
   * Starts recognising `samples` now and calls `deliver` with the text after the texts of every
   * earlier submission (never after an abort). A failure gives `''` and a coded error.
   */
  submit(samples: Float32Array, language: string, conversation: string | undefined, deliver: (text: string | null) => Promise<void>): void {
    this.pendingJobs++;
    const text = this.recognise(samples, language, conversation).finally(() => {
      this.pendingJobs--;
      const wake = this.slotFreed;
      this.slotFreed = null;
      wake?.();
    });
    this.chain = this.chain.then(async () => {
      const t = await text;
      if (this.aborted) return;
      await deliver(t);
    });
  }

  /** Aborts every job of this lane; what they would have said is never delivered nor reported. */
  abort(): void {
    this.abortController.abort();
  }

  /** Leaves the shared queue and releases a waiting submitter. Idempotent. */
  close(): void {
    this.opts.recognizer.close();
    this.slotFreed?.();
  }

  /** Text for one part; never rejects (a failure gives "" and a coded error). */
  private async recognise(samples: Float32Array, language: string, conversation: string | undefined): Promise<string | null> {
    try {
      return await this.opts.recognizer.transcribe(samples, language, this.abortController.signal, conversation);
    } catch (err) {
      if (this.aborted) return null;
      const code = (err as { code?: string }).code;
      const cause = code !== undefined ? ASR_FAILURE_CAUSES.get(code) : undefined;
      if (code === 'overloaded') {
        this.opts.error('overloaded', 'speech recognition is overloaded; this segment was not transcribed');
      } else if (cause !== undefined) {
        this.opts.log.warn(`transcription failed (${code}): ${(err as Error).message}`);
        this.opts.error('asr_failed', `speech recognition failed for one segment (${code}: ${cause}); it recovers for the next ones`);
      } else {
        this.opts.log.warn(`transcription failed: ${(err as Error).message}`);
        this.opts.error('internal', 'speech recognition failed for one segment');
      }
      return '';
    }
  }
}

/** The audio of one part, with a little context on both sides (within the segment's audio). */
export function partAudio(seg: ClosedSegment, part: AssignedPart): Float32Array {
  const from = Math.max(0, part.startSample - ASR_LEAD_SAMPLES - seg.audioStartSample);
  const to = Math.min(seg.audio.length, part.endSample + ASR_TAIL_SAMPLES - seg.audioStartSample);
  return seg.audio.subarray(from, Math.max(from, to));
}
