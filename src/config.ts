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
const num = (def: number) => z.coerce.number().finite().default(def);
const int = (def: number) => z.coerce.number().int().default(def);
const posNum = (def: number) => z.coerce.number().finite().positive().default(def);
const posInt = (def: number) => z.coerce.number().int().positive().default(def);

/** Each setting: env var name → schema with its default. The README table mirrors this. */
export const ConfigSchema = z.object({
  HOST: z.string().default('0.0.0.0'),
  PORT: int(8443).pipe(z.number().min(0).max(65535)),
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
  ASR_THREADS: int(0),
  ASR_QUEUE_MAX: posInt(64),
  WHISPER_BUILD_DIR: z.string().default('build/whisper'),
  SPEAKER_ENCODER: z.enum(['auto', 'builtin', 'neural']).default('auto'),
  SPEAKER_MODEL: z.string().default('3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx'),
  SPEAKER_THRESHOLD: num(0.6).pipe(z.number().min(-1).max(1)),
  /** Absolute floor: frames quieter than this (dBFS) are digital silence, whatever the VAD says. */
  RMS_GATE_DBFS: num(-80).pipe(z.number().min(-120).max(0)),
  /** Frames whose log-spectral variance (dB²) is below this are too flat to be speech, unless the VAD is confident. */
  VARIANCE_GATE: num(8).pipe(z.number().min(0).max(200)),
  /** Frames must be at least this many dB above the tracked noise floor. */
  NOISE_MARGIN_DB: num(5).pipe(z.number().min(0).max(40)),
  /** Frames more than this many dB below the conversation's tracked speech level are far voices; 0 = off. */
  FAR_BELOW_SPEECH_DB: num(0).pipe(z.number().min(0).max(60)),
  VAD_THRESHOLD: num(0.5).pipe(z.number().gt(0).max(1)),
  /** Probability that keeps a speech run going (hysteresis); at most VAD_THRESHOLD. */
  VAD_NEGATIVE_THRESHOLD: num(0.1).pipe(z.number().gt(0).max(1)),
  /** Cut an open segment as soon as the other enrolled voice takes over (online speaker-change watch). */
  CHANGE_WATCH: bool.default(false),
  /** Window scored by that watch, ending at the newest audio, in ms. */
  CHANGE_WATCH_WINDOW_MS: int(1000).pipe(z.number().min(300).max(5000)),
  /** Audio between two scorings of the watch, in ms. */
  CHANGE_WATCH_HOP_MS: int(250).pipe(z.number().min(32).max(2000)),
  /** Similarity margin (best minus other) that makes a watched window decisive. */
  CHANGE_WATCH_MARGIN: num(0.05).pipe(z.number().min(0).max(2)),
  /** Consecutive decisive windows of the other voice that confirm a change. */
  CHANGE_WATCH_CONFIRM: int(2).pipe(z.number().min(1).max(10)),
  SILENCE_MS: int(500),
  MAX_SEGMENT_MS: int(7000),
  PRE_ROLL_MS: int(200),
  MIN_SPEECH_MS: int(96),
  MAX_SESSIONS: posInt(4),
  MAX_FRAME_BYTES: posInt(256 * 1024),
  MAX_ENROLLMENT_S: posNum(30),
  MAX_CONVERSATION_S: posNum(4 * 3600),
  /** Seconds of unprocessed audio after which the socket stops being read. */
  MAX_BACKLOG_S: posNum(4),
  /** Accept start_transcription before both voices are registered. */
  AUTO_ENROLL: bool.default(false),
  HEARTBEAT_MS: int(30_000).pipe(z.number().min(1000)),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
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
  const known = Object.keys(ConfigSchema.shape);
  const fromEnv: Record<string, unknown> = {};
  for (const key of known) if (env[key] !== undefined && env[key] !== '') fromEnv[key] = env[key];
  const parsed = ConfigSchema.safeParse({ ...fromEnv, ...flagsToEnv(argv), ...overrides });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  if (parsed.data.VAD_NEGATIVE_THRESHOLD > parsed.data.VAD_THRESHOLD) {
    throw new Error('invalid configuration: VAD_NEGATIVE_THRESHOLD: must be at most VAD_THRESHOLD');
  }
  return Object.freeze(parsed.data);
}
