/**
 * The offline path for one recording, built from the live stages: decode (ffmpeg) → the live
 * speech front (gates, VAD, segmenter) → speaker embeddings → clustering (or enrollment) →
 * the live assigner's change scan → the shared recognition queue → a conversation record.
 *
 * Memory stays bounded whatever the length: audio is decoded in a stream, and only the speech
 * segments' audio is kept, in a spool file on disk, until the second pass reads it back for
 * assignment and recognition. In memory there are only segment bounds and embeddings.
 *
 * Recognition: this job has at most one part in the shared queue at a time, so it is one more
 * session there and never gets ahead of live sessions' parts (with a FIFO queue, a live part
 * enqueued while a file part runs goes next).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SAMPLE_RATE } from '../audio/constants.js';
import { samplesToSeconds } from '../protocol/messages.js';
import type { ClosedSegment, ConversationFront } from '../session/ports.js';
import { SpeakerAssigner, type AssignedPart } from '../speaker/assigner.js';
import { hasWindowedEmbedding } from '../speaker/builtin.js';
import { clusterOptionsFor, clusterSpeakers, type ClusterItem } from '../speaker/cluster.js';
import { enrollSpeaker, type SpeakerProfile } from '../speaker/profile.js';
import type { SpeakerEncoder } from '../speaker/types.js';
import { collectSpeech, type CollectSpeechOptions } from '../front/front.js';
import type { VadModel } from '../vad/types.js';
import type { ConversationRecord, ConversationSegment, FileTranscription } from './conversation.js';
import { decodeAudio, DecodeError, type DecodeInput, type Decoder } from './decode.js';

/** The live stages a file job uses (the server's pipeline provides them). */
export interface FileStages {
  models: { asr: string | null; speaker: string; vad: string };
  createFront(): ConversationFront;
  encoder: SpeakerEncoder;
  vad: VadModel;
  /** Text of one part ('' nothing recognised), null without a model; may reject `overloaded`. */
  transcribe(samples: Float32Array, language: string, signal: AbortSignal): Promise<string | null>;
  /** Gates and VAD threshold for enrollment clips, as live enrollment uses them. */
  enrollmentGates: CollectSpeechOptions;
  /** Live assignment threshold (used with enrollment). */
  speakerThreshold: number;
}

export type FilePhase = 'decoding' | 'recognising';

export interface FileProgress {
  phase: FilePhase;
  /** 0..1 of the whole job. */
  progress: number;
  /** Seconds of audio handled in the current phase, and the file's duration when known. */
  audioDoneS: number;
  durationS: number | null;
}

export interface TranscribeFileOptions {
  language?: string;
  /** 1: everything is one speaker; 2 (default): cluster into up to two. */
  speakers?: 1 | 2;
  /** Voices given instead of clustering: two enrollment clips (raw audio) or saved profiles. */
  enroll?: { clips: [Float32Array, Float32Array] } | { profiles: [SpeakerProfile, SpeakerProfile] };
  title?: string;
  id?: string;
  signal?: AbortSignal;
  decoder?: Decoder;
  /** Where the speech spool file goes (default the system temp dir). */
  tmpDir?: string;
  onProgress?(p: FileProgress): void;
}

/** Coded failures other than decoding. */
export class FileJobError extends Error {
  constructor(
    readonly code: 'enrollment_failed' | 'aborted' | 'internal',
    message: string,
  ) {
    super(message);
    this.name = 'FileJobError';
  }
}

/** Audio kept around a part for recognition, as the live session does. */
const ASR_LEAD_SAMPLES = Math.round(0.2 * SAMPLE_RATE);
const ASR_TAIL_SAMPLES = Math.round(0.15 * SAMPLE_RATE);
/** Segments with less speech than this give no clustering item (too short to tell voices). */
const MIN_ITEM_S = 0.5;
/** Segments with more speech than this are clustered by windows, so a turn change inside counts. */
const WINDOWED_ABOVE_S = 3;
const ITEM_WINDOW_S = 2;
const ITEM_HOP_S = 1;
/** Waiting time before retrying a part the full recognition queue refused. */
const OVERLOAD_RETRY_MS = 250;

interface SpooledSegment {
  startSample: number;
  endSample: number;
  audioStartSample: number;
  /** Sample offset of its audio in the spool file, and its length in samples. */
  offset: number;
  length: number;
}

function abortError(): FileJobError {
  return new FileJobError('aborted', 'the transcription was cancelled');
}

/** Phase weights of the progress: recognition dominates when a model runs. */
function progressOf(phase: FilePhase, share: number, withAsr: boolean): number {
  const split = withAsr ? 0.25 : 0.85;
  const p = phase === 'decoding' ? split * share : split + (1 - split) * share;
  return Math.min(0.999, Math.max(0, p));
}

/** Runs one file through the offline path; rejects with DecodeError or FileJobError. */
export async function transcribeFile(input: DecodeInput, stages: FileStages, options: TranscribeFileOptions = {}): Promise<FileTranscription> {
  const t0 = performance.now();
  const startedAt = new Date();
  const signal = options.signal ?? new AbortController().signal;
  const language = options.language ?? 'auto';
  const withAsr = stages.models.asr !== null;
  const spoolDir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'duet-file-'));
  let spool: FileHandle | null = null;
  try {
    spool = await open(join(spoolDir, 'speech.f32'), 'w+', 0o600);
    const profiles = options.enroll ? await enrollmentProfiles(options.enroll, stages) : null;
    if (signal.aborted) throw abortError();

    // Pass 1: decode, segment, spool speech, embed for clustering.
    const decode = decodeAudio(input, { decoder: options.decoder, signal });
    const front = stages.createFront();
    const segments: SpooledSegment[] = [];
    const items: Array<ClusterItem & { segment: number }> = [];
    let spooled = 0;
    let decodedSamples = 0;
    const cluster = !profiles && options.speakers !== 1;
    const handle = async (closed: ClosedSegment[]) => {
      for (const seg of closed) {
        const bytes = Buffer.from(seg.audio.buffer, seg.audio.byteOffset, seg.audio.byteLength);
        await spool!.write(bytes, 0, bytes.length, spooled * 4);
        segments.push({ startSample: seg.startSample, endSample: seg.endSample, audioStartSample: seg.audioStartSample, offset: spooled, length: seg.audio.length });
        spooled += seg.audio.length;
        if (cluster) items.push(...(await itemsOf(stages.encoder, seg, segments.length - 1)));
      }
    };
    for await (const chunk of decode.chunks()) {
      if (signal.aborted) break;
      decodedSamples += chunk.length / 2;
      await handle(await front.push(chunk));
      const durationS = decode.durationS;
      options.onProgress?.({
        phase: 'decoding',
        progress: progressOf('decoding', durationS ? decodedSamples / SAMPLE_RATE / durationS : 0, withAsr),
        audioDoneS: decodedSamples / SAMPLE_RATE,
        durationS,
      });
    }
    if (signal.aborted) throw abortError();
    await handle(await front.flush());
    const audioS = decodedSamples / SAMPLE_RATE;

    // Who is who.
    let attribution: FileTranscription['attribution'] = 'single';
    let speakerCount = segments.length ? 1 : 0;
    const assigner = new SpeakerAssigner(stages.encoder, { threshold: profiles ? stages.speakerThreshold : -2 });
    if (profiles) {
      attribution = 'enrollment';
      speakerCount = 2;
      assigner.setProfile(0, profiles[0]);
      assigner.setProfile(1, profiles[1]);
    } else if (cluster) {
      const result = clusterSpeakers(items, clusterOptionsFor(stages.encoder.scoreNorm));
      speakerCount = Math.max(speakerCount, result.speakers);
      if (result.speakers === 2) {
        attribution = 'clustering';
        result.centroids.forEach((c, id) => assigner.setProfile(id as 0 | 1, centroidProfile(stages.encoder.name, c)));
      }
    }

    // Pass 2: split at speaker changes and assign (the live scan), then recognise each part.
    const out: ConversationSegment[] = [];
    const lastSample = Math.max(1, decodedSamples);
    for (const s of segments) {
      if (signal.aborted) throw abortError();
      const audio = new Float32Array(s.length);
      await spool.read(Buffer.from(audio.buffer), 0, s.length * 4, s.offset * 4);
      const seg: ClosedSegment = { startSample: s.startSample, endSample: s.endSample, audioStartSample: s.audioStartSample, audio };
      const parts: AssignedPart[] =
        attribution === 'single' ? [{ startSample: s.startSample, endSample: s.endSample, speakerId: 0, similarity: [1, 0] }] : await assigner.assign(seg);
      for (const part of parts) {
        const text = withAsr ? await recognise(stages, partAudio(seg, part), language, signal) : '';
        out.push({ segment_id: out.length, speaker_id: part.speakerId, start: samplesToSeconds(part.startSample), end: samplesToSeconds(part.endSample), text });
      }
      options.onProgress?.({ phase: 'recognising', progress: progressOf('recognising', s.endSample / lastSample, withAsr), audioDoneS: s.endSample / SAMPLE_RATE, durationS: audioS });
    }
    if (attribution === 'clustering') relabelFirstSpeaker(out);
    if (attribution === 'clustering' && !out.some((x) => x.speaker_id === 1)) speakerCount = 1;

    const conversation: ConversationRecord = {
      id: options.id ?? randomUUID(),
      title: options.title ?? ('path' in input ? basename(input.path) : 'recording'),
      started_at: startedAt.toISOString(),
      ended_at: new Date().toISOString(),
      duration_s: Math.round(audioS * 1000) / 1000,
      speakers: Array.from({ length: Math.max(1, speakerCount) }, (_, id) => ({ id, name: `Speaker ${id + 1}` })),
      segments: out,
    };
    return {
      conversation,
      decoder: decode.decoder.name,
      models: { ...stages.models },
      attribution,
      audio_s: conversation.duration_s,
      processing_s: Math.round((performance.now() - t0) / 10) / 100,
    };
  } catch (err) {
    if (signal.aborted) throw abortError();
    throw err;
  } finally {
    await spool?.close().catch(() => undefined);
    await rm(spoolDir, { recursive: true, force: true });
  }
}

/** Clustering items of one segment: the whole speech, or windows of a long one. */
export async function itemsOf(encoder: SpeakerEncoder, seg: ClosedSegment, index: number): Promise<Array<ClusterItem & { segment: number }>> {
  const from = Math.max(0, seg.startSample - seg.audioStartSample);
  const to = Math.min(seg.audio.length, seg.endSample - seg.audioStartSample);
  const speech = seg.audio.subarray(from, Math.max(from, to));
  const speechS = speech.length / SAMPLE_RATE;
  if (speechS < MIN_ITEM_S) return [];
  if (speechS <= WINDOWED_ABOVE_S) return [{ embedding: await encoder.embed(speech), start: seg.startSample, weightS: speechS, segment: index }];
  const win = Math.round(ITEM_WINDOW_S * SAMPLE_RATE);
  const hop = Math.round(ITEM_HOP_S * SAMPLE_RATE);
  const windows = hasWindowedEmbedding(encoder)
    ? await encoder.embedWindows(speech, win, hop)
    : await Promise.all(
        Array.from({ length: Math.max(1, Math.floor((speech.length - win) / hop) + 1) }, async (_, k) => ({
          startSample: k * hop,
          endSample: Math.min(speech.length, k * hop + win),
          embedding: await encoder.embed(speech.subarray(k * hop, Math.min(speech.length, k * hop + win))),
        })),
      );
  return windows.map((w) => ({ embedding: w.embedding, start: seg.startSample + w.startSample, weightS: (w.endSample - w.startSample) / SAMPLE_RATE / 2, segment: index }));
}

function centroidProfile(encoder: string, mean: Float32Array): SpeakerProfile {
  return { encoder, mean, embeddings: [], speechSeconds: 0, adaptedSegments: 0 };
}

async function enrollmentProfiles(enroll: NonNullable<TranscribeFileOptions['enroll']>, stages: FileStages): Promise<[SpeakerProfile, SpeakerProfile]> {
  if ('profiles' in enroll) return enroll.profiles;
  const profiles: SpeakerProfile[] = [];
  for (const [k, clip] of enroll.clips.entries()) {
    const { speech } = await collectSpeech(stages.vad.createStream(), clip, stages.enrollmentGates);
    const r = await enrollSpeaker(stages.encoder, speech, { other: profiles[0] ?? null });
    if (!r.ok) throw new FileJobError('enrollment_failed', `the enrollment clip of speaker ${k} was refused: ${r.reason}`);
    profiles.push(r.profile);
  }
  return [profiles[0]!, profiles[1]!];
}

/** Speaker 0 is whoever speaks first: swap the labels when the first part is speaker 1. */
function relabelFirstSpeaker(segments: ConversationSegment[]): void {
  const first = segments.find((s) => s.speaker_id !== null);
  if (first?.speaker_id !== 1) return;
  for (const s of segments) if (s.speaker_id !== null) s.speaker_id = 1 - s.speaker_id;
}

/** One part's text through the shared queue; waits and retries while the queue is full. */
async function recognise(stages: FileStages, samples: Float32Array, language: string, signal: AbortSignal): Promise<string> {
  for (;;) {
    if (signal.aborted) throw abortError();
    try {
      return (await stages.transcribe(samples, language, signal)) ?? '';
    } catch (err) {
      if (signal.aborted) throw abortError();
      if ((err as { code?: string }).code !== 'overloaded') throw err;
      await new Promise((r) => setTimeout(r, OVERLOAD_RETRY_MS));
    }
  }
}

/** The audio of one part with a little context on both sides, as the live session sends it. */
function partAudio(seg: ClosedSegment, part: AssignedPart): Float32Array {
  const from = Math.max(0, part.startSample - ASR_LEAD_SAMPLES - seg.audioStartSample);
  const to = Math.min(seg.audio.length, part.endSample + ASR_TAIL_SAMPLES - seg.audioStartSample);
  return seg.audio.subarray(from, Math.max(from, to));
}

export { DecodeError };
