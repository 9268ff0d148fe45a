/**
 * One conversation's speaker room and its live front, composed from the loaded models. The
 * in-process pipeline (pipeline.ts) and the front worker threads (src/front-pool/) both build
 * a session's parts here, so the two paths make the same decisions by construction.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import type { Config } from '../config.js';
import type { SpeakerId } from '../protocol/messages.js';
import { SpeakerAssigner } from '../speaker/assigner.js';
import { FrontEnd } from '../speaker/features.js';
import { AdaptiveVoiceFrames, fitVoiceFramesYielding, gmmFromJson, gmmToJson, StreamFrameScorer, type DiagGmm } from '../speaker/gmm.js';
import { DEFAULT_ENROLLMENT, enrollSpeaker, isTooSimilar, profilesSimilarity, type EnrollmentFailure, type SpeakerProfile } from '../speaker/profile.js';
import { encoderTag, type SpeakerEncoder } from '../speaker/types.js';
import { collectSpeech, SpeechFront, speechFrontOptionsFromConfig, type SpeechFrontOptions } from '../front/front.js';
import type { VadModel } from '../vad/types.js';
import { SpeakerChangeWatcher } from '../front/change-watcher.js';
import type { AdoptResult, AssignedPart, ClosedSegment, ConversationFront, EnrollmentResult, OpenSegmentView, SavedVoiceData, SpeakerRoom } from './ports.js';

/** Plain words for the enrollment failure reasons, with what to do. */
const FAILURE_MESSAGES: Record<EnrollmentFailure, string> = {
  too_quiet: 'No speech was heard. Check the microphone and speak closer to it.',
  too_short: 'Too little speech: talk for at least 3 seconds.',
  too_similar: 'This voice is almost identical to the other registered voice. The other person should record.',
};

/** Auto-enrollment takes a voice from a conversation segment with at least this much speech. */
const AUTO_ENROLL_MIN_S = 2;

/**
 * Components of each voice's frame model. Measured with scripts/research/analyse-delay.ts (margin 0.5)
 * over three seeds: 8 gave field DER 12.5–12.8 %, 16 gave 12.7–14.4 % and 32 14.7 % (more
 * components fit the registration clip's own sound, then hear a change in the room's), 4 gave
 * 13.8 %.
 */
const FRAME_MODEL_COMPONENTS = 8;
/** Fewest energetic frames (10 ms) a watch window or a part needs before the frame models judge it. */
const FRAME_WATCH_MIN_FRAMES = 10;
/** Parts shorter than this do not adapt their voice's frame model (too little to trust). */
const FRAME_ADAPT_MIN_SAMPLES = SAMPLE_RATE;

/** One conversation's speaker state (see {@link SpeakerRoom}): voices, frame models, assignment. */
export class Room implements SpeakerRoom {
  private readonly assigner: SpeakerAssigner;
  /** Each voice's frame model (see CHANGE_WATCH_FRAMES); null when it has none (e.g. saved by an older version). */
  private readonly frames: [AdaptiveVoiceFrames | null, AdaptiveVoiceFrames | null] = [null, null];
  private readonly frameFrontEnd = new FrontEnd();

  constructor(
    private readonly encoder: SpeakerEncoder,
    private readonly vad: VadModel,
    private readonly config: Config,
  ) {
    // The frame models also weigh in on each part's speaker (SPEAKER_FRAME_WEIGHT), with what
    // they have learnt of this room so far.
    // A part is judged alone: a fresh stream scorer keeps nothing between parts.
    this.assigner = new SpeakerAssigner(encoder, { threshold: config.SPEAKER_THRESHOLD, frameWeight: config.SPEAKER_FRAME_WEIGHT }, (samples) =>
      this.frameLlr(new StreamFrameScorer(this.frameFrontEnd), samples, 0),
    );
  }

  has(id: SpeakerId): boolean {
    return this.assigner.getProfile(id) !== null;
  }

  async enroll(id: SpeakerId, samples: Float32Array): Promise<EnrollmentResult> {
    const { speech, speechSeconds } = await collectSpeech(this.vad.createStream(), samples, speechFrontOptionsFromConfig(this.config));
    return this.enrollSpeech(id, speech, speechSeconds);
  }

  private async enrollSpeech(id: SpeakerId, speech: Float32Array, speechSeconds: number, encoder: SpeakerEncoder = this.encoder): Promise<EnrollmentResult> {
    const other = this.assigner.getProfile(id === 0 ? 1 : 0);
    // `speech` is speech-only (empty when nothing passed the gates and VAD): enrollSpeaker's own
    // length checks give too_quiet / too_short.
    const r = await enrollSpeaker(encoder, speech, { other });
    if (!r.ok) return { ok: false, reason: r.reason, message: FAILURE_MESSAGES[r.reason], speechSeconds };
    const gmm = this.config.CHANGE_WATCH_FRAMES ? await fitVoiceFramesYielding(this.frameFrontEnd, speech, { components: FRAME_MODEL_COMPONENTS }) : null;
    // The voice and its frame model change together, after the last await.
    this.assigner.setProfile(id, r.profile);
    this.frames[id] = gmm ? new AdaptiveVoiceFrames(gmm) : null;
    return { ok: true, profile: r.profile, speechSeconds };
  }

  exportVoice(id: SpeakerId): SavedVoiceData | null {
    const p = this.assigner.getProfile(id);
    if (!p) return null;
    // The registration frame model travels with the voice (not its adaptation to one room).
    return exportedVoice(this.encoder, p, this.frames[id]?.prior ?? null);
  }

  adoptVoice(id: SpeakerId, voice: SavedVoiceData): AdoptResult {
    const verdict = adoptionVerdict(this.encoder, voice, this.assigner.getProfile(id === 0 ? 1 : 0));
    if (!verdict.ok) return verdict;
    const profile = verdict.profile;
    this.assigner.setProfile(id, profile);
    // A voice saved before frame models existed (or with a malformed one) has none: the
    // embedding watch serves while it is in the room.
    const frames = this.config.CHANGE_WATCH_FRAMES ? gmmFromJson((voice.profile as { frames?: unknown } | null)?.frames, this.frameFrontEnd.dim) : null;
    this.frames[id] = frames ? new AdaptiveVoiceFrames(frames) : null;
    return { ok: true, speechSeconds: profile.speechSeconds };
  }

  /**
   * The objects that make up the voices now (profiles and frame models): any change to a voice
   * replaces one of them, so a worker can tell when a saved copy is stale.
   */
  voiceRefs(): readonly unknown[] {
    return [this.assigner.getProfile(0), this.assigner.getProfile(1), this.frames[0], this.frames[1]];
  }

  scoreWindow(samples: Float32Array): Promise<readonly [number, number] | null> {
    return this.assigner.scoreWindow(samples);
  }

  hasFrameVoices(): boolean {
    return this.frames[0] !== null && this.frames[1] !== null;
  }

  frameScorer(): (samples: Float32Array, startSample: number) => Promise<readonly [number, number] | null> {
    const stream = new StreamFrameScorer(this.frameFrontEnd);
    return async (samples, startSample) => {
      const llr = this.frameLlr(stream, samples, startSample);
      return llr === null ? null : [-llr / 2, llr / 2];
    };
  }

  /**
   * The voices' frame models' mean log-likelihood ratio (speaker 1 over 0) of some audio, by
   * `stream`; null while either voice has no frame model or the audio has too little speech.
   */
  private frameLlr(stream: StreamFrameScorer, samples: Float32Array, startSample: number): number | null {
    const [a, b] = this.frames;
    if (!a || !b) return null;
    const r = stream.score([a.model, b.model], samples, startSample);
    return r && r.frames >= FRAME_WATCH_MIN_FRAMES ? r.llr : null;
  }

  async assign(segment: ClosedSegment): Promise<AssignedPart[]> {
    if (this.config.AUTO_ENROLL) await this.autoEnroll(segment);
    const parts = await this.assigner.assign(segment);
    // Each voice's frame model learns the conversation's sound from the parts given to it.
    for (const p of parts) {
      const model = p.speakerId === null ? null : this.frames[p.speakerId];
      if (!model || p.endSample - p.startSample < FRAME_ADAPT_MIN_SAMPLES) continue;
      model.adapt(this.frameFrontEnd, segment.audio.subarray(p.startSample - segment.audioStartSample, p.endSample - segment.audioStartSample));
    }
    return parts;
  }

  /**
   * Auto-enrollment mode: the first long enough segment becomes speaker 0; the first long
   * enough segment that does not match speaker 0 becomes speaker 1.
   */
  private async autoEnroll(segment: ClosedSegment): Promise<void> {
    if (this.has(0) && this.has(1)) return;
    if ((segment.endSample - segment.startSample) / SAMPLE_RATE < AUTO_ENROLL_MIN_S) return;
    const speech = segment.audio.subarray(
      Math.max(0, segment.startSample - segment.audioStartSample),
      segment.endSample - segment.audioStartSample,
    );
    // Enrolled through the assigner's memo of this segment, which it then assigns: no stretch embedded twice.
    const encoder = this.assigner.encoderFor(segment);
    if (!this.has(0)) {
      await this.enrollSpeech(0, speech, speech.length / SAMPLE_RATE, encoder);
      return;
    }
    const parts = await this.assigner.assign(segment);
    if (parts.length === 1 && parts[0]!.speakerId === null) await this.enrollSpeech(1, speech, speech.length / SAMPLE_RATE, encoder);
  }
}

/** A voice as saved: its embeddings and, when it has one, its registration frame model. */
export function exportedVoice(encoder: SpeakerEncoder, profile: SpeakerProfile, framesPrior: DiagGmm | null): SavedVoiceData {
  return { encoder: encoderTag(encoder), profile: { ...(profileToJson(profile) as object), ...(framesPrior ? { frames: gmmToJson(framesPrior) } : {}) } };
}

/**
 * Whether a saved voice may be adopted beside `other` (the other speaker's profile): the same
 * rule as a fresh registration (enrollSpeaker), with the encoder's own calibrated bound on its
 * normalised scores when it has one. Pure, so a proxy can decide it where the room is not.
 */
export function adoptionVerdict(
  encoder: SpeakerEncoder,
  voice: SavedVoiceData,
  other: SpeakerProfile | null,
): { ok: true; profile: SpeakerProfile } | { ok: false; reason: 'voice_incompatible' | 'too_similar' } {
  const profile = profileFromJson(voice, encoder);
  if (!profile) return { ok: false, reason: 'voice_incompatible' };
  const bound = encoder.tooSimilarBound ?? DEFAULT_ENROLLMENT.tooSimilarBound;
  if (other && isTooSimilar(profile, other, profilesSimilarity(profile, other, encoder.scoreNorm), bound)) return { ok: false, reason: 'too_similar' };
  return { ok: true, profile };
}

/**
 * A profile's embeddings as plain JSON numbers (what a saved voice stores; never audio). The
 * room adds the voice's frame model (`frames`) beside them.
 */
export function profileToJson(p: SpeakerProfile): SavedVoiceData['profile'] {
  return { mean: Array.from(p.mean), embeddings: p.embeddings.map((e) => Array.from(e)), speechSeconds: p.speechSeconds, adaptedSegments: p.adaptedSegments };
}

/**
 * A saved voice as a profile of this encoder; null when it was made by another encoder, or by
 * another version of this one (its `encoder` tag is `name@version`), or is malformed.
 */
export function profileFromJson(voice: SavedVoiceData, encoder: SpeakerEncoder): SpeakerProfile | null {
  if (voice.encoder !== encoderTag(encoder)) return null;
  const p = voice.profile as { mean?: unknown; embeddings?: unknown; speechSeconds?: unknown; adaptedSegments?: unknown } | null;
  const vector = (v: unknown): Float32Array | null =>
    Array.isArray(v) && v.length === encoder.dim && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? Float32Array.from(v as number[]) : null;
  if (!p || !Array.isArray(p.embeddings) || p.embeddings.length === 0) return null;
  const mean = vector(p.mean);
  const embeddings = p.embeddings.map(vector);
  if (!mean || embeddings.some((e) => e === null)) return null;
  return {
    encoder: encoder.name,
    mean,
    embeddings: embeddings as Float32Array[],
    speechSeconds: typeof p.speechSeconds === 'number' ? p.speechSeconds : 0,
    adaptedSegments: typeof p.adaptedSegments === 'number' ? p.adaptedSegments : 0,
  };
}

/**
 * A front for one conversation over a stream of `vad`; with `room`, its change watches cut open
 * segments at speaker changes.
 */
/** The open segment's position and guess, without its audio (what a worker sends after each push). */
export interface OpenSegmentState {
  startSample: number;
  receivedSamples: number;
  /** End of the newest processed frame: the open segment's audio is [startSample, endSample). */
  endSample: number;
  speakerGuess: SpeakerId | null;
}

/** A {@link ConversationFront} that also tells its open segment's state without copying audio. */
export interface LocalFront extends ConversationFront {
  openState(): OpenSegmentState | null;
}

export function createLocalFront(config: Config, vad: VadModel, frontOptions: SpeechFrontOptions, room?: SpeakerRoom): LocalFront {
  const front = new SpeechFront(vad.createStream(), frontOptions);
  const scorer = room?.scoreWindow?.bind(room);
  const watcher = scorer && config.CHANGE_WATCH ? new SpeakerChangeWatcher(scorer, { windowMs: config.CHANGE_WATCH_WINDOW_MS, hopMs: config.CHANGE_WATCH_HOP_MS, marginMin: config.CHANGE_WATCH_MARGIN, confirmWindows: config.CHANGE_WATCH_CONFIRM }) : null;
  // The frame watch serves whenever both voices have frame models (they may come later, by
  // auto-enrollment, or go, when a saved voice is adopted); the embedding watch otherwise.
  const frameScorer = room?.frameScorer?.();
  const frameWatcher =
    frameScorer && config.CHANGE_WATCH && config.CHANGE_WATCH_FRAMES
      ? new SpeakerChangeWatcher(frameScorer, { windowMs: config.CHANGE_WATCH_FRAMES_WINDOW_MS, hopMs: config.CHANGE_WATCH_FRAMES_HOP_MS, marginMin: config.CHANGE_WATCH_FRAMES_MARGIN, confirmWindows: config.CHANGE_WATCH_FRAMES_CONFIRM })
      : null;
  const activeWatcher = () => (frameWatcher && room?.hasFrameVoices?.() ? frameWatcher : watcher);
  const segmentsOf = (events: readonly unknown[]) => events.filter((e): e is ClosedSegment & { kind: 'segment' } => (e as { kind?: string }).kind === 'segment');
  // Pushes are serialised here so the watch always sees the front between two pushes.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };
  return {
    push: (pcm16) =>
      serial(async () => {
        const closed = segmentsOf(await front.push(pcm16));
        const w = activeWatcher();
        if (w) closed.push(...segmentsOf(await w.check(front)));
        return closed;
      }),
    flush: () => serial(async () => segmentsOf(await front.flush())),
    open: (): OpenSegmentView | null => {
      const startSample = front.openStartSample;
      if (startSample === null) return null;
      return {
        startSample,
        receivedSamples: front.receivedSamples,
        audio: () => front.openAudio(startSample),
        speakerGuess: activeWatcher()?.speakerGuess ?? null,
      };
    },
    openState: (): OpenSegmentState | null => {
      const startSample = front.openStartSample;
      if (startSample === null) return null;
      return { startSample, receivedSamples: front.receivedSamples, endSample: front.processedSamples, speakerGuess: activeWatcher()?.speakerGuess ?? null };
    },
  };
}
