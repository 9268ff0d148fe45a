/**
 * Fakes of the session's ports (`src/session/ports.ts`) for tests: a connection that collects
 * what it is sent, and a pipeline whose front, speaker room and recognizer the test scripts.
 * No model, no server.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import type { ServerMessage, SpeakerId } from '../protocol/messages.js';
import type { AdoptResult, ClosedSegment, Connection, ConversationFront, EnrollmentResult, PipelineFactory, Recognizer, SavedVoiceData, SpeakerRoom } from '../session/ports.js';

/** A connection that keeps every message, and counts pauses, resumes and closes. */
export class FakeConnection implements Connection {
  readonly sent: ServerMessage[] = [];
  pauses = 0;
  resumes = 0;
  closes: Array<{ code: number; reason: string }> = [];

  send(msg: ServerMessage): void {
    this.sent.push(msg);
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  /** The messages of one type, in order. */
  of<T extends ServerMessage['type']>(type: T): Array<Extract<ServerMessage, { type: T }>> {
    return this.sent.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }
  /** The codes of the `error` messages, in order. */
  errorCodes(): string[] {
    return this.of('error').map((m) => m.code);
  }
}

/** One recognition job the test settles. */
export interface FakeJob {
  samples: Float32Array;
  language: string;
  conversation: string | undefined;
  resolve(text: string | null): void;
  reject(err: unknown): void;
}

/** A recognizer whose jobs wait for the test (`jobs`); it rejects on abort as the real one does. */
export class FakeRecognizer implements Recognizer {
  readonly jobs: FakeJob[] = [];
  pending = 0;
  closed = 0;

  constructor(public capacity = 16) {}

  transcribe(samples: Float32Array, language: string, signal: AbortSignal, conversation?: string): Promise<string | null> {
    this.pending++;
    return new Promise<string | null>((resolve, reject) => {
      // Once per job, whichever comes first: its result, its failure or its abort.
      let settled = false;
      const done = () => {
        if (!settled) this.pending--;
        settled = true;
      };
      this.jobs.push({
        samples,
        language,
        conversation,
        resolve: (t) => {
          done();
          resolve(t);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      signal.addEventListener(
        'abort',
        () => {
          done();
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  close(): void {
    this.closed++;
  }
}

/**
 * A front whose segments the test decides: while `closeEachPush` is on, every push closes one
 * segment holding exactly that audio; otherwise pushed audio stays open and `flush` closes it.
 */
export class FakeFront implements ConversationFront {
  closeEachPush = true;
  /** Samples pushed so far (the front's own clock, from 0). */
  private at = 0;
  private openChunks: Float32Array[] = [];
  private openStart = 0;

  async push(pcm16: Uint8Array): Promise<ClosedSegment[]> {
    const samples = new Float32Array(pcm16.byteLength / 2);
    if (this.closeEachPush && this.openChunks.length === 0) {
      const seg = { startSample: this.at, endSample: this.at + samples.length, audio: samples, audioStartSample: this.at };
      this.at += samples.length;
      return [seg];
    }
    if (this.openChunks.length === 0) this.openStart = this.at;
    this.openChunks.push(samples);
    this.at += samples.length;
    return [];
  }

  async flush(): Promise<ClosedSegment[]> {
    if (this.openChunks.length === 0) return [];
    const audio = new Float32Array(this.at - this.openStart);
    let i = 0;
    for (const c of this.openChunks) {
      audio.set(c, i);
      i += c.length;
    }
    this.openChunks = [];
    return [{ startSample: this.openStart, endSample: this.at, audio, audioStartSample: this.openStart }];
  }
}

/**
 * A speaker room: enrollment succeeds with at least 1 s of audio, each closed segment is one
 * part, given to speaker 0 and 1 in turn. Voices export as `{ encoder: 'fake@1', profile }`.
 */
export class FakeRoom implements SpeakerRoom {
  private readonly voices = new Map<SpeakerId, { seconds: number }>();
  private turn: SpeakerId = 0;

  async enroll(id: SpeakerId, samples: Float32Array): Promise<EnrollmentResult> {
    const speechSeconds = samples.length / SAMPLE_RATE;
    if (speechSeconds < 1) return { ok: false, reason: 'too_short', message: 'too short', speechSeconds };
    this.voices.set(id, { seconds: speechSeconds });
    return { ok: true, profile: { id }, speechSeconds };
  }
  has(id: SpeakerId): boolean {
    return this.voices.has(id);
  }
  async assign(segment: ClosedSegment) {
    const speakerId = this.turn;
    this.turn = speakerId === 0 ? 1 : 0;
    const similarity: [number, number] = speakerId === 0 ? [0.91234, 0.1] : [0.1, 0.87654];
    return [{ startSample: segment.startSample, endSample: segment.endSample, speakerId, similarity }];
  }
  exportVoice(id: SpeakerId): SavedVoiceData | null {
    const v = this.voices.get(id);
    return v ? { encoder: 'fake@1', profile: { seconds: v.seconds } } : null;
  }
  adoptVoice(id: SpeakerId, voice: SavedVoiceData): AdoptResult {
    if (voice.encoder !== 'fake@1') return { ok: false, reason: 'voice_incompatible' };
    const seconds = (voice.profile as { seconds: number }).seconds;
    this.voices.set(id, { seconds });
    return { ok: true, speechSeconds: seconds };
  }
}

/** A pipeline of the fakes above; the test reaches each part it created. */
export class FakePipeline implements PipelineFactory {
  readonly models = { asr: 'fake-asr', speaker: 'fake-speaker', vad: 'fake-vad' };
  readonly fronts: FakeFront[] = [];
  readonly rooms: FakeRoom[] = [];
  readonly recognizers: FakeRecognizer[] = [];

  constructor(private readonly capacity = 16) {}

  createFront(): FakeFront {
    const f = new FakeFront();
    this.fronts.push(f);
    return f;
  }
  createRoom(): FakeRoom {
    const r = new FakeRoom();
    this.rooms.push(r);
    return r;
  }
  createRecognizer(): FakeRecognizer {
    const r = new FakeRecognizer(this.capacity);
    this.recognizers.push(r);
    return r;
  }
  /** Every job of every recognizer, in creation order. */
  get jobs(): FakeJob[] {
    return this.recognizers.flatMap((r) => r.jobs);
  }
}

/** PCM16 bytes of `seconds` of quiet audio. */
export function pcm(seconds: number): Buffer {
  return Buffer.alloc(Math.round(seconds * SAMPLE_RATE) * 2);
}

/** Waits (polling) until `cond` holds; ample headroom for a busy machine. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
