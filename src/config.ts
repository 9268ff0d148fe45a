/**
 * The one place that reads settings: environment variables (and `--key=value` flags, same
 * names in kebab case), validated by one schema, parsed once and frozen.
 */
import { z } from 'zod';

/**
 * A yes/no setting. Anything but the listed words is an error, not `false`: `AUTH=ture` must
 * not silently turn access control off.
 */
const bool = z.union([
  z.boolean(),
  z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off']))
    .transform((v) => ['1', 'true', 'yes', 'on'].includes(v)),
]);
/**
 * A number setting with its default and the range it must lie in. Every numeric setting has
 * one, so a nonsense value (`SILENCE_MS=5`, `VAD_THRESHOLD=50`) stops the server at startup with
 * the setting named, not at a user's first Start as an `internal` error.
 */
function range(def: number, min: number, max: number, unit = '', opts: { int?: boolean } = {}) {
  const u = unit ? ` ${unit}` : '';
  let n = z.coerce.number({ invalid_type_error: 'must be a number' }).finite('must be a finite number');
  if (opts.int) n = n.int('must be a whole number');
  return n
    .min(min, `must be between ${min} and ${max}${u}`)
    .max(max, `must be between ${min} and ${max}${u}`)
    .default(def);
}
const intRange = (def: number, min: number, max: number, unit = '') => range(def, min, max, unit, { int: true });

/** Each setting: env var name → schema with its default. The README table mirrors this. */
export const ConfigSchema = z
  .object({
    HOST: z.string().default('0.0.0.0'),
    PORT: intRange(8443, 0, 65535),
    TLS_CERT: z.string().default('certs/fullchain.pem'),
    TLS_KEY: z.string().default('certs/privkey.pem'),
    /** Access token; empty = generate one at start and print the URL. */
    ACCESS_TOKEN: z.string().default(''),
    /** Require the token at all. Only tests and trusted LANs turn this off. */
    AUTH: bool.default(true),
    /** Comma-separated extra origins allowed to open the WebSocket (the server's own are always allowed). */
    ALLOWED_ORIGINS: z.string().default(''),
    MODELS_DIR: z.string().default('models'),
    /** Whisper model name (tiny, base, small, …, with `.en` for English-only) or `none`. */
    ASR_MODEL: z.string().default('base'),
    /** Explicit path to a ggml model file; overrides ASR_MODEL's file name. */
    ASR_MODEL_PATH: z.string().default(''),
    ASR_DEVICE: z.enum(['auto', 'cuda', 'vulkan', 'cpu']).default('auto'),
    /** whisper.cpp threads; 0 = chosen from the CPU count. */
    ASR_THREADS: intRange(0, 0, 256),
    ASR_QUEUE_MAX: intRange(64, 1, 10_000),
    /** A recognition request's time limit is this many seconds plus ASR_TIMEOUT_PER_AUDIO_S per second of audio. */
    ASR_TIMEOUT_BASE_S: range(5, 0.1, 3600, 's'),
    /** Seconds allowed per second of audio (on top of ASR_TIMEOUT_BASE_S); 0 = by device: 10 on a CPU, 2 on a GPU. */
    ASR_TIMEOUT_PER_AUDIO_S: range(0, 0, 1000, 's'),
    WHISPER_BUILD_DIR: z.string().default('build/whisper'),
    /**
     * `redis://[:password@]host:port/db` or `rediss://…` (TLS): recognition goes to workers
     * (`npm run worker`) through Redis Streams. Empty = the embedded whisper-server child.
     */
    QUEUE_URL: z
      .string()
      .default('')
      .refine((v) => v === '' || /^rediss?:\/\/[^\s]+$/.test(v), 'must be redis://… or rediss://…'),
    /** PEM file of the CA that signed Redis' certificate (`rediss://` with a private CA); empty = the system's. */
    QUEUE_TLS_CA: z.string().default(''),
    /** Jobs one worker runs at once, each on its own whisper.cpp engine. */
    WORKER_CONCURRENCY: intRange(1, 1, 64),
    /** A job a worker has held this long without a sign of life is taken over by another worker. */
    JOB_CLAIM_MS: intRange(10_000, 100, 3_600_000, 'ms'),
    /** Deliveries of one job before it goes to the dead-letter stream (and its segment gets ""). */
    JOB_MAX_ATTEMPTS: intRange(3, 1, 100),
    /** A job not answered this long after it was queued gets "" and a coded error. */
    JOB_DEADLINE_MS: intRange(30_000, 100, 3_600_000, 'ms'),
    SPEAKER_ENCODER: z.enum(['auto', 'builtin', 'neural']).default('auto'),
    SPEAKER_MODEL: z.string().default('3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx'),
    SPEAKER_THRESHOLD: range(0.6, -1, 1),
    /**
     * Weight of the voices' frame models in each part's speaker (similarity per nat of their
     * mean log-likelihood ratio, clipped to ±1.5 nats); 0 = the embedding alone. Needs frame
     * models (CHANGE_WATCH_FRAMES).
     */
    SPEAKER_FRAME_WEIGHT: range(0.1, 0, 2),
    /** Absolute floor: frames quieter than this (dBFS) are digital silence, whatever the VAD says. */
    RMS_GATE_DBFS: range(-80, -120, 0, 'dBFS'),
    /** Frames whose log-spectral variance (dB²) is below this are too flat to be speech, unless the VAD is confident. */
    VARIANCE_GATE: range(8, 0, 200, 'dB²'),
    /** Frames must be at least this many dB above the tracked noise floor. */
    NOISE_MARGIN_DB: range(5, 0, 40, 'dB'),
    /** Frames more than this many dB below the conversation's tracked speech level are far voices; 0 = off. */
    FAR_BELOW_SPEECH_DB: range(0, 0, 60, 'dB'),
    /** A speech frame this many dB below the open segment's reference level (its loudest speech, smoothed over 320 ms, decaying 10 dB/s) does not keep the segment open; 0 = off. */
    QUIET_BELOW_SEGMENT_DB: range(25, 0, 60, 'dB'),
    /**
     * Noisy-room rule: a frame more than this many dB below the conversation's speech level (the
     * 90th percentile of its recent speech, smoothed over 320 ms) AND within
     * CONVERSATION_FLOOR_MARGIN_DB of the room's floor neither opens nor extends a segment:
     * distant babble between turns. 0 = off.
     */
    QUIET_BELOW_CONVERSATION_DB: range(12, 0, 60, 'dB'),
    /** The floor condition of that rule, dB above the 2nd percentile of the last 30 s of levels; 0 = no floor condition. */
    CONVERSATION_FLOOR_MARGIN_DB: range(7, 0, 60, 'dB'),
    /**
     * A room whose speech level is less than this many dB over its floor is noisy: there the
     * floor condition widens by 2 dB per dB under it (babble rises well over the floor). Judged
     * after 10 s of speech. 0 = off.
     */
    NOISY_ROOM_SNR_DB: range(32, 0, 80, 'dB'),
    /** Speech probability that starts a segment. */
    VAD_THRESHOLD: range(0.5, 0.01, 1),
    /** Probability that keeps a speech run going (hysteresis); at most VAD_THRESHOLD. */
    VAD_NEGATIVE_THRESHOLD: range(0.06, 0.01, 1),
    /** Cut an open segment as soon as the other enrolled voice takes over (online speaker-change watch). */
    CHANGE_WATCH: bool.default(true),
    /** Window scored by that watch, ending at the newest audio, in ms. */
    CHANGE_WATCH_WINDOW_MS: intRange(1000, 300, 5000, 'ms'),
    /** Audio between two scorings of the watch, in ms. */
    CHANGE_WATCH_HOP_MS: intRange(250, 32, 2000, 'ms'),
    /** Similarity margin (best minus other) that makes a watched window decisive. */
    CHANGE_WATCH_MARGIN: range(0.3, 0, 2),
    /** Consecutive decisive windows of the other voice that confirm a change. */
    CHANGE_WATCH_CONFIRM: intRange(3, 1, 10),
    /**
     * Score the watch's windows with the two voices' frame models (small Gaussian mixtures over
     * MFCC frames, fitted at registration and adapted to each assigned part) instead of the
     * speaker encoder's embedding: right more often on short windows, so changes are confirmed
     * sooner. A saved voice keeps its frame model; while a voice has none (saved by an older
     * version), the embedding watch serves.
     */
    CHANGE_WATCH_FRAMES: bool.default(true),
    /** Window, hop, margin (mean log-likelihood ratio per frame) and confirmations of the frame watch. */
    CHANGE_WATCH_FRAMES_WINDOW_MS: intRange(400, 200, 5000, 'ms'),
    CHANGE_WATCH_FRAMES_HOP_MS: intRange(100, 32, 2000, 'ms'),
    CHANGE_WATCH_FRAMES_MARGIN: range(0.3, 0, 20),
    CHANGE_WATCH_FRAMES_CONFIRM: intRange(4, 1, 20),
    SILENCE_MS: intRange(500, 32, 10_000, 'ms'),
    /** Longest segment; Whisper reads at most 30 s at once. */
    MAX_SEGMENT_MS: intRange(7000, 1000, 30_000, 'ms'),
    PRE_ROLL_MS: intRange(200, 0, 2000, 'ms'),
    /**
     * Energy onset: a segment's start moves back at most this far (before the VAD's own onset)
     * through frames ONSET_ABOVE_FLOOR_DB over the room's floor — breaths and soft first
     * syllables the VAD is slow to score. 0 = off.
     */
    ONSET_ENERGY_MS: intRange(300, 0, 1000, 'ms'),
    ONSET_ABOVE_FLOOR_DB: range(8, 0, 60, 'dB'),
    MIN_SPEECH_MS: intRange(96, 0, 5000, 'ms'),
    MAX_SESSIONS: intRange(4, 1, 1000),
    /** Largest audio frame (bytes); the browser sends 3,200-byte (100 ms) frames. */
    MAX_FRAME_BYTES: intRange(256 * 1024, 1024, 4 * 1024 * 1024, 'bytes'),
    MAX_ENROLLMENT_S: range(30, 1, 600, 's'),
    MAX_CONVERSATION_S: range(4 * 3600, 1, 7 * 24 * 3600, 's'),
    /** Seconds of unprocessed audio after which the socket stops being read. */
    MAX_BACKLOG_S: range(4, 0.5, 600, 's'),
    /** Largest file accepted by POST /api/transcriptions, MiB (413 above it). */
    MAX_UPLOAD_MB: range(2048, 1, 1_048_576, 'MiB'),
    /** Accept start_transcription before both voices are registered. */
    AUTO_ENROLL: bool.default(false),
    HEARTBEAT_MS: intRange(30_000, 1000, 600_000, 'ms'),
    /** A TCP peer that has not completed the TLS handshake after this long is dropped. */
    TLS_HANDSHAKE_TIMEOUT_MS: intRange(10_000, 100, 120_000, 'ms'),
    /**
     * A connection (or an open session outside a conversation) that sends nothing for this long
     * is closed; a live conversation streams audio all the time, so it is never idle.
     */
    IDLE_TIMEOUT_MS: intRange(120_000, 100, 24 * 3600 * 1000, 'ms'),
    /** Open TCP connections at most (page, API and WebSocket together); more are refused. */
    MAX_CONNECTIONS: intRange(256, 1, 100_000),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Folder of the conversation store and saved voices (relative to the repository root). */
    DATA_DIR: z.string().min(1).default('data'),
    /** Keep each conversation's audio beside its transcript (Opus through ffmpeg, else WAV). */
    KEEP_AUDIO: bool.default(false),
    /** Conversations older than this many days are deleted at start and daily; 0 keeps them all. */
    RETENTION_DAYS: range(0, 0, 36_500, 'days'),
    /** Seconds a dropped conversation waits for its client to resume it before it is ended. */
    RESUME_WINDOW_S: range(600, 1, 86_400, 's'),
    /**
     * Interim text (`partial` messages) while a segment is open: `on`, `off`, or `auto` (on while
     * the engine has headroom: a GPU, or recent finals ran at most PARTIAL_AUTO_MAX_RTF and kept
     * the engine busy at most PARTIAL_AUTO_MAX_BUSY; shed under load). See docs/partials.md.
     */
    PARTIALS: z.enum(['auto', 'on', 'off']).default('auto'),
    /** Audio between two partials of one open segment, ms. */
    PARTIAL_INTERVAL_MS: intRange(1000, 250, 10_000, 'ms'),
    /** Speech an open segment must have before its first partial, ms. */
    PARTIAL_MIN_SPEECH_MS: intRange(1000, 250, 10_000, 'ms'),
    /** Partials per segment at most (a long monologue stops getting them, its final still comes). */
    PARTIAL_MAX_PER_SEGMENT: intRange(30, 1, 1000),
    /** A partial decodes at most this many tokens per second of its audio (plus 4); speech is 2–4 tokens/s. */
    PARTIAL_TOKENS_PER_S: range(6, 1, 50, 'tokens/s'),
    /** PARTIALS=auto sheds partials while the engine spent more than this share of the last 10 s on finals. */
    PARTIAL_AUTO_MAX_BUSY: range(0.5, 0, 1),
    /** PARTIALS=auto sheds partials while recent finals took more than this many seconds per second of audio. */
    PARTIAL_AUTO_MAX_RTF: range(0.5, 0, 10),
    /**
     * Cap on the tokens a final decodes, per second of its audio (plus 4); 0 = none (the model's
     * own limit). Benchmarks with random-weight models set it so the decoder does the work of a
     * trained model's short answer.
     */
    ASR_TOKENS_PER_S: range(0, 0, 50, 'tokens/s'),
  })
  .superRefine((c, ctx) => {
    if (c.MIN_SPEECH_MS >= c.MAX_SEGMENT_MS) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['MIN_SPEECH_MS'], message: `must be below MAX_SEGMENT_MS (${c.MAX_SEGMENT_MS} ms)` });
    }
    if (c.PRE_ROLL_MS >= c.MAX_SEGMENT_MS) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['PRE_ROLL_MS'], message: `must be below MAX_SEGMENT_MS (${c.MAX_SEGMENT_MS} ms)` });
    }
    if (c.VAD_NEGATIVE_THRESHOLD > c.VAD_THRESHOLD) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['VAD_NEGATIVE_THRESHOLD'], message: `must be at most VAD_THRESHOLD (${c.VAD_THRESHOLD})` });
    }
  });

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = Partial<z.input<typeof ConfigSchema>>;

/** `--max-sessions=8` → `MAX_SESSIONS: '8'`. */
function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of argv) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (m) out[m[1]!.toUpperCase().replace(/-/g, '_')] = m[2] ?? 'true';
  }
  return out;
}

/**
 * Builds the configuration from the environment, flags and explicit overrides (highest
 * precedence last). Throws with every invalid setting named.
 */
export function loadConfig(
  env: Record<string, string | undefined> = {},
  argv: readonly string[] = [],
  overrides: ConfigInput = {},
): Config {
  const known = Object.keys(ConfigSchema.innerType().shape);
  const fromEnv: Record<string, unknown> = {};
  for (const key of known) if (env[key] !== undefined && env[key] !== '') fromEnv[key] = env[key];
  const parsed = ConfigSchema.safeParse({ ...fromEnv, ...flagsToEnv(argv), ...overrides });
  if (!parsed.success) {
    const given = { ...fromEnv, ...flagsToEnv(argv), ...overrides } as Record<string, unknown>;
    const problems = parsed.error.issues
      .map((i) => {
        const key = i.path.join('.');
        const value = given[key];
        return `${key}: ${i.message}${value === undefined || key === 'ACCESS_TOKEN' ? '' : ` (got ${JSON.stringify(value)})`}`;
      })
      .join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return Object.freeze(parsed.data);
}
