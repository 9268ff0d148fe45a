/**
 * Builds the process-wide pipeline from the configuration: one VAD model, one speaker encoder
 * and one recognition queue shared by every session, and the per-session parts made from them.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { startAsr, type AsrEngine, type AsrLog, type AsrQueue, type AsrService } from '../asr/index.js';
import { partialShedReason } from '../asr/partial-policy.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createSpeakerEncoder } from '../speaker/index.js';
import type { SpeakerEncoder } from '../speaker/types.js';
import { SileroVad } from '../vad/silero.js';
import { speechFrontOptionsFromConfig } from '../front/front.js';
import type { VadModel } from '../vad/types.js';
import { createLocalFront, Room } from './room.js';
import { FrontPool, frontThreads } from '../front-pool/pool.js';
import type { ConversationFront, PartialRequest, PipelineFactory, Recognizer, SpeakerRoom } from './ports.js';

export interface PipelineDeps {
  vad?: VadModel;
  encoder?: SpeakerEncoder;
  /** `null` forces diarization-only mode. */
  asr?: AsrEngine | null;
  /** Wrappers that measure the models behind their own interfaces (metrics); each returns the model to use. */
  instrument?: { vad?(m: VadModel): VadModel; encoder?(e: SpeakerEncoder): SpeakerEncoder; asr?(e: AsrEngine): AsrEngine };
}

export { profileFromJson, profileToJson } from './room.js';

/**
 * The shared pipeline plus a `close()` that frees its models, and the loaded models themselves
 * for the offline file path (src/files/), which uses them outside a session.
 */
/** What a lane recognizer needs of the settings for partials and token caps (all optional). */
export type LaneRecognizerConfig = Partial<Pick<Config, 'PARTIALS' | 'PARTIAL_AUTO_MAX_BUSY' | 'PARTIAL_AUTO_MAX_RTF' | 'ASR_TOKENS_PER_S'>>;

/** Tokens every final may decode on top of ASR_TOKENS_PER_S per second of its audio. */
const FINAL_TOKEN_CAP_BASE = 4;

/**
 * A session's recognizer: its own lane of the shared queue, its jobs tagged with `session`.
 * With `config.PARTIALS` other than `off` it also offers partials, subject to the auto policy.
 */
export function laneRecognizer(queue: AsrQueue, session?: string, config: LaneRecognizerConfig = {}): Recognizer {
  const lane = queue.openLane(session !== undefined ? { session } : {});
  const mode = config.PARTIALS ?? 'off';
  const limits = { maxBusy: config.PARTIAL_AUTO_MAX_BUSY ?? 0.5, maxRtf: config.PARTIAL_AUTO_MAX_RTF ?? 0.5 };
  const tokensPerS = config.ASR_TOKENS_PER_S ?? 0;
  const finalCap = (samples: Float32Array) => (tokensPerS > 0 ? { maxTokens: Math.ceil((samples.length / SAMPLE_RATE) * tokensPerS) + FINAL_TOKEN_CAP_BASE } : {});
  return {
    transcribe: (samples, language, signal, conversation) =>
      lane.enqueue(samples, { language, signal, ...(conversation !== undefined ? { conversation } : {}), ...finalCap(samples) }),
    ...(mode !== 'off' && queue.engineName !== null
      ? {
          partial: (samples: Float32Array, o: PartialRequest) =>
            lane.offerPartial(samples, {
              language: o.language,
              signal: o.signal,
              audioCtx: o.audioCtx,
              maxTokens: o.maxTokens,
              ...(o.prompt !== undefined ? { prompt: o.prompt } : {}),
              ...(o.conversation !== undefined ? { conversation: o.conversation } : {}),
            }),
          partialsAllowed: () => partialShedReason(mode, queue.load(), limits) === null,
        }
      : {}),
    get pending() {
      return lane.pending;
    },
    get capacity() {
      return lane.capacity;
    },
    close: () => lane.close(),
  };
}

export type Pipeline = PipelineFactory & {
  close(): Promise<void>;
  readonly encoder: SpeakerEncoder;
  readonly vad: VadModel;
  readonly asr: AsrService;
  /** The worker threads running the live fronts (FRONT_THREADS), or null when they run in-process. */
  readonly frontPool: FrontPool | null;
  /**
   * The factory one session uses: the same parts, and `onFrontCrash` is called (perhaps more
   * than once) when the worker holding its front and room dies.
   */
  forSession(onFrontCrash: () => void): PipelineFactory;
};

export async function buildPipeline(config: Config, deps: PipelineDeps, log: Logger): Promise<Pipeline> {
  const asrLogger = log.child('asr');
  const asrLog: AsrLog = (level, msg) => asrLogger[level](msg);
  const bareVad = deps.vad ?? new SileroVad();
  const vad = deps.instrument?.vad ? deps.instrument.vad(bareVad) : bareVad;
  await vad.load();
  const bareEncoder = deps.encoder ?? (await createSpeakerEncoder(config, { log: log.child('speaker') }));
  const encoder = deps.instrument?.encoder ? deps.instrument.encoder(bareEncoder) : bareEncoder;
  await encoder.load();
  const asr = await startAsr(config, { log: asrLog, ...(deps.asr !== undefined ? { engine: deps.asr } : {}), ...(deps.instrument?.asr ? { wrap: deps.instrument.asr } : {}) });
  const frontOptions = speechFrontOptionsFromConfig(config);
  // The fronts run on worker threads unless FRONT_THREADS is 0 or a test passed its own models
  // (which cannot cross to a worker). The main thread's models still serve the file path's
  // own encoder work and the pool's adoption verdicts.
  const threads = frontThreads(config.FRONT_THREADS);
  const frontPool = threads > 0 && deps.vad === undefined && deps.encoder === undefined ? new FrontPool({ threads, config, encoder, log: log.child('front') }) : null;
  if (frontPool) {
    try {
      await frontPool.ready();
    } catch (err) {
      await frontPool.close();
      await asr.close();
      throw err;
    }
  }

  const pipeline: Pipeline = {
    models: { asr: asr.name, speaker: encoder.name, vad: vad.name },
    createFront: (room?: SpeakerRoom): ConversationFront => (frontPool ? frontPool.createFront(room) : createLocalFront(config, vad, frontOptions, room)),
    createRoom: () => (frontPool ? frontPool.createRoom() : new Room(encoder, vad, config)),
    createRecognizer: (session) => laneRecognizer(asr.queue, session, config),
    forSession: (onFrontCrash) => ({
      models: pipeline.models,
      createFront: (room?: SpeakerRoom) => (frontPool ? frontPool.createFront(room, onFrontCrash) : pipeline.createFront(room)),
      createRoom: () => (frontPool ? frontPool.createRoom(onFrontCrash) : pipeline.createRoom()),
      // Read at call time: the server may wrap createRecognizer (metrics) after this is built.
      createRecognizer: (session) => pipeline.createRecognizer(session),
    }),
    frontPool,
    encoder,
    vad,
    asr,
    async close() {
      await frontPool?.close();
      await asr.close();
      await encoder.close();
      await vad.close();
    },
  };
  return pipeline;
}
