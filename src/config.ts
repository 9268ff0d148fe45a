/**
 * The one place that reads settings: environment variables, a `.env` file in the working
 * directory and `--key=value` flags (same names in kebab case), validated by one schema,
 * parsed once and frozen. Precedence: flags over the real environment over `.env`.
 * docs/configuration.md is generated from the groups below (`npm run docs:config`).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { FRONT_DEFAULTS as F } from './front/defaults.js';

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
  const bounded = n.min(min, `must be between ${min} and ${max}${u}`).max(max, `must be between ${min} and ${max}${u}`);
  if (unit) UNITS.set(bounded, unit);
  return bounded.default(def);
}
/** The unit of each number setting, keyed by its number schema (the configuration page shows it). */
const UNITS = new WeakMap<z.ZodTypeAny, string>();
/** The unit a number setting was declared with (`ms`, `dB`, …), or `''`. */
export function settingUnit(schema: z.ZodTypeAny): string {
  let s: z.ZodTypeAny = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodEffects) s = s instanceof z.ZodDefault ? s._def.innerType : s._def.schema;
  return UNITS.get(s) ?? '';
}
const intRange = (def: number, min: number, max: number, unit = '') => range(def, min, max, unit, { int: true });

/** What the configuration page says about one setting, beside what the schema itself holds. */
export interface SettingMeta {
  /** Settings only a researcher or an operator tuning the speech front should touch. */
  advanced: boolean;
}
const META = new WeakMap<z.ZodTypeAny, SettingMeta>();
/** A setting: its schema with its description (shown on the configuration page). */
function setting<T extends z.ZodTypeAny>(schema: T, description: string): T {
  const s = schema.describe(description);
  META.set(s, { advanced: false });
  return s;
}
/** An advanced setting: one that only a researcher should change. */
function advanced<T extends z.ZodTypeAny>(schema: T, description: string): T {
  const s = schema.describe(description);
  META.set(s, { advanced: true });
  return s;
}
/** Whether a setting's schema was marked advanced (false for one declared without `setting`/`advanced`). */
export function settingMeta(schema: z.ZodTypeAny): SettingMeta {
  return META.get(schema) ?? { advanced: false };
}

/*
 * The settings, in groups. Each group is a plain object of entries (name → schema with its
 * default, range and description); the schema below is their union. A new setting goes into
 * its group with `setting(...)` or `advanced(...)`; docs/configuration.md is generated from
 * these (`npm run docs:config`), and a test fails when the page and the schema differ.
 */

/** Listening, TLS, access and connections. */
const serverSettings = {
  HOST: setting(z.string().default('0.0.0.0'), 'Address to listen on; `0.0.0.0` = every interface, `127.0.0.1` = this machine only.'),
  PORT: setting(intRange(8443, 0, 65535), 'HTTPS and WSS port (one port for the page, the API and the WebSocket); 0 = any free port.'),
  TLS_CERT: setting(z.string().default('certs/fullchain.pem'), 'PEM certificate chain (relative to the repository root); a self-signed one is made when both files are absent.'),
  TLS_KEY: setting(z.string().default('certs/privkey.pem'), 'PEM private key of that certificate.'),
  ACCESS_TOKEN: setting(
    z.string().default(''),
    'Access token for the page, the API and the WebSocket; empty = the one kept in DATA_DIR/access-token (generated on first start; `npm run token` prints the link, `npm run token -- --rotate` replaces it).',
  ),
  SESSION_TTL_H: setting(range(720, 0.01, 8760, 'h'), 'Lifetime of a sign-in session cookie (opening the link exchanges the token for it).'),
  AUTH: advanced(bool.default(true), 'Require the token at all. Only tests and trusted LANs turn this off.'),
  ALLOWED_ORIGINS: setting(z.string().default(''), 'Comma-separated extra origins allowed to open the WebSocket (the server\'s own are always allowed).'),
  HEARTBEAT_MS: advanced(intRange(30_000, 1000, 600_000, 'ms'), 'WebSocket ping interval; a peer that misses a pong within it is dropped.'),
  TLS_HANDSHAKE_TIMEOUT_MS: advanced(intRange(10_000, 100, 120_000, 'ms'), 'A TCP peer that has not completed the TLS handshake after this long is dropped.'),
  IDLE_TIMEOUT_MS: advanced(
    intRange(120_000, 100, 24 * 3600 * 1000, 'ms'),
    'A connection (or an open session outside a conversation) that sends nothing for this long is closed; a live conversation streams audio all the time, and a session still owed text (e.g. after stop, under load) waits for it, so neither is idle.',
  ),
  RESUME_WINDOW_S: setting(range(600, 1, 86_400, 's'), 'Seconds a dropped conversation waits for its client to resume it before it is ended.'),
  LOG_LEVEL: setting(z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'), 'Least severe log line written (to stderr).'),
};

/** Speech recognition: the Whisper model and the whisper.cpp engine. */
const recognitionSettings = {
  MODELS_DIR: setting(z.string().default('models'), 'Folder of the downloaded models (relative to the repository root).'),
  ASR_MODEL: setting(z.string().default('base'), 'Whisper model name (tiny, base, small, …, with `.en` for English-only) or `none` (speakers only, no text).'),
  ASR_MODEL_PATH: setting(z.string().default(''), 'Explicit path to a ggml model file; overrides ASR_MODEL\'s file name.'),
  ASR_DEVICE: setting(z.enum(['auto', 'cuda', 'vulkan', 'cpu']).default('auto'), 'Where whisper.cpp runs: auto = the GPU when the build has one, else the CPU.'),
  ASR_THREADS: setting(intRange(0, 0, 256), 'whisper.cpp threads; 0 = chosen from the CPU count.'),
  ASR_QUEUE_MAX: advanced(intRange(64, 1, 10_000), 'Recognition requests waiting at most; more get an empty text and a coded error.'),
  ASR_TIMEOUT_BASE_S: advanced(range(5, 0.1, 3600, 's'), 'A recognition request\'s time limit is this many seconds plus ASR_TIMEOUT_PER_AUDIO_S per second of audio.'),
  ASR_TIMEOUT_PER_AUDIO_S: advanced(range(0, 0, 1000, 's'), 'Seconds allowed per second of audio (on top of ASR_TIMEOUT_BASE_S); 0 = by device: 10 on a CPU, 2 on a GPU.'),
  WHISPER_BUILD_DIR: advanced(z.string().default('build/whisper'), 'Folder of the whisper.cpp build (`npm run build:whisper` writes it; relative to the repository root).'),
  ASR_TOKENS_PER_S: advanced(
    range(0, 0, 50, 'tokens/s'),
    'Cap on the tokens a final decodes, per second of its audio (plus 4); 0 = none (the model\'s own limit). Benchmarks with random-weight models set it so the decoder does the work of a trained model\'s short answer.',
  ),
  PARTIALS: setting(
    z.enum(['auto', 'on', 'off']).default('auto'),
    'Interim text (`partial` messages) while a segment is open: `on`, `off`, or `auto` (on while the engine has headroom: a GPU, or recent finals ran at most PARTIAL_AUTO_MAX_RTF and kept the engine busy at most PARTIAL_AUTO_MAX_BUSY; shed under load).',
  ),
  PARTIAL_INTERVAL_MS: advanced(intRange(1000, 250, 10_000, 'ms'), 'Audio between two partials of one open segment.'),
  PARTIAL_MIN_SPEECH_MS: advanced(intRange(1000, 250, 10_000, 'ms'), 'Speech an open segment must have before its first partial.'),
  PARTIAL_MAX_PER_SEGMENT: advanced(intRange(30, 1, 1000), 'Partials per segment at most (a long monologue stops getting them, its final still comes).'),
  PARTIAL_TOKENS_PER_S: advanced(range(6, 1, 50, 'tokens/s'), 'A partial decodes at most this many tokens per second of its audio (plus 4); speech is 2–4 tokens/s.'),
  PARTIAL_AUTO_MAX_BUSY: advanced(range(0.5, 0, 1), 'PARTIALS=auto sheds partials while the engine spent more than this share of the last 10 s on finals.'),
  PARTIAL_AUTO_MAX_RTF: advanced(range(0.5, 0, 10), 'PARTIALS=auto sheds partials while recent finals took more than this many seconds per second of audio.'),
};

/** Voices: the speaker encoder, matching and registration. */
const speakerSettings = {
  SPEAKER_ENCODER: setting(z.enum(['auto', 'builtin', 'neural']).default('auto'), 'Voice encoder: neural (CAM++ through sherpa-onnx), builtin (no model file), or auto = neural when its model is present.'),
  SPEAKER_MODEL: advanced(z.string().default('3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx'), 'File name of the neural encoder\'s model in MODELS_DIR.'),
  SPEAKER_THRESHOLD: advanced(range(0.6, -1, 1), 'Similarity (cosine) below which a part matches neither registered voice well.'),
  SPEAKER_FRAME_WEIGHT: advanced(
    range(0.1, 0, 2),
    'Weight of the voices\' frame models in each part\'s speaker (similarity per nat of their mean log-likelihood ratio, clipped to ±1.5 nats); 0 = the embedding alone. Needs frame models (CHANGE_WATCH_FRAMES).',
  ),
  AUTO_ENROLL: setting(bool.default(false), 'Accept start_transcription before both voices are registered.'),
};

/** The speech front: level gates, voice activity, segment timing and the speaker-change watch. Defaults: src/front/defaults.ts. */
const speechFrontSettings = {
  RMS_GATE_DBFS: advanced(range(F.silenceFloorDbfs, -120, 0, 'dBFS'), 'Absolute floor: frames quieter than this are digital silence, whatever the VAD says.'),
  VARIANCE_GATE: advanced(range(F.varianceGateDb2, 0, 200, 'dB²'), 'Frames whose log-spectral variance is below this are too flat to be speech, unless the VAD is confident.'),
  NOISE_MARGIN_DB: advanced(range(F.noiseMarginDb, 0, 40, 'dB'), 'Frames must be at least this many dB above the tracked noise floor.'),
  FAR_BELOW_SPEECH_DB: setting(range(F.farBelowSpeechDb, 0, 60, 'dB'), 'Frames more than this many dB below the conversation\'s tracked speech level are far voices and ignored; 0 = off.'),
  QUIET_BELOW_SEGMENT_DB: advanced(
    range(F.quietBelowSegmentDb, 0, 60, 'dB'),
    'A speech frame this many dB below the open segment\'s reference level (its loudest speech, smoothed over 320 ms, decaying 10 dB/s) does not keep the segment open; 0 = off.',
  ),
  QUIET_BELOW_CONVERSATION_DB: advanced(
    range(F.quietBelowConversationDb, 0, 60, 'dB'),
    'Noisy-room rule: a frame more than this many dB below the conversation\'s speech level (the 90th percentile of its recent speech, smoothed over 320 ms) AND within CONVERSATION_FLOOR_MARGIN_DB of the room\'s floor neither opens nor extends a segment: distant babble between turns. 0 = off.',
  ),
  CONVERSATION_FLOOR_MARGIN_DB: advanced(range(F.conversationFloorMarginDb, 0, 60, 'dB'), 'The floor condition of that rule, dB above the 2nd percentile of the last 30 s of levels; 0 = no floor condition.'),
  NOISY_ROOM_SNR_DB: advanced(
    range(F.noisyRoomSnrDb, 0, 80, 'dB'),
    'A room whose speech level is less than this many dB over its floor is noisy: there the floor condition widens by 2 dB per dB under it (babble rises well over the floor). Judged after 10 s of speech. 0 = off.',
  ),
  VAD_THRESHOLD: advanced(range(F.threshold, 0.01, 1), 'Speech probability (Silero VAD) that starts a segment.'),
  VAD_NEGATIVE_THRESHOLD: advanced(range(F.negativeThreshold, 0.01, 1), 'Probability that keeps a speech run going (hysteresis); at most VAD_THRESHOLD.'),
  CHANGE_WATCH: setting(bool.default(true), 'Cut an open segment as soon as the other registered voice takes over (online speaker-change watch).'),
  CHANGE_WATCH_WINDOW_MS: advanced(intRange(F.watchWindowMs, 300, 5000, 'ms'), 'Window scored by the embedding watch, ending at the newest audio.'),
  CHANGE_WATCH_HOP_MS: advanced(intRange(F.watchHopMs, 32, 2000, 'ms'), 'Audio between two scorings of the embedding watch.'),
  CHANGE_WATCH_MARGIN: advanced(range(F.watchMargin, 0, 2), 'Similarity margin (best minus other) that makes a watched window decisive.'),
  CHANGE_WATCH_CONFIRM: advanced(intRange(F.watchConfirm, 1, 10), 'Consecutive decisive windows of the other voice that confirm a change.'),
  CHANGE_WATCH_FRAMES: advanced(
    bool.default(true),
    'Score the watch\'s windows with the two voices\' frame models (small Gaussian mixtures over MFCC frames, fitted at registration and adapted to each assigned part) instead of the speaker encoder\'s embedding: right more often on short windows, so changes are confirmed sooner. A voice saved without a frame model (by an older version) falls back to the embedding watch.',
  ),
  CHANGE_WATCH_FRAMES_WINDOW_MS: advanced(intRange(F.frameWatchWindowMs, 200, 5000, 'ms'), 'Window of the frame watch.'),
  CHANGE_WATCH_FRAMES_HOP_MS: advanced(intRange(F.frameWatchHopMs, 32, 2000, 'ms'), 'Audio between two scorings of the frame watch.'),
  CHANGE_WATCH_FRAMES_MARGIN: advanced(range(F.frameWatchMargin, 0, 20), 'Margin of the frame watch (mean log-likelihood ratio per frame, nats) that makes a window decisive.'),
  CHANGE_WATCH_FRAMES_CONFIRM: advanced(intRange(F.frameWatchConfirm, 1, 20), 'Consecutive decisive windows of the frame watch that confirm a change.'),
  SILENCE_MS: setting(intRange(F.silenceMs, 32, 10_000, 'ms'), 'Pause that ends a segment (a chat bubble).'),
  MAX_SEGMENT_MS: setting(intRange(F.maxSegmentMs, 1000, 30_000, 'ms'), 'Longest segment; Whisper reads at most 30 s at once.'),
  PRE_ROLL_MS: advanced(intRange(F.preRollMs, 0, 2000, 'ms'), 'Audio kept before a segment\'s detected start.'),
  ONSET_ENERGY_MS: advanced(
    intRange(F.onsetEnergyMs, 0, 1000, 'ms'),
    'Energy onset: a segment\'s start moves back at most this far (before the VAD\'s own onset) through frames ONSET_ABOVE_FLOOR_DB over the room\'s floor — breaths and soft first syllables the VAD is slow to score. 0 = off.',
  ),
  ONSET_ABOVE_FLOOR_DB: advanced(range(F.onsetAboveFloorDb, 0, 60, 'dB'), 'Level over the room\'s floor that counts as the energy onset.'),
  MIN_SPEECH_MS: advanced(intRange(F.minSpeechMs, 0, 5000, 'ms'), 'Shortest speech run kept as a segment; shorter ones are clicks and coughs.'),
};

/** Bounds on what one client or the whole server may use. */
const limitSettings = {
  MAX_SESSIONS: setting(intRange(4, 1, 1000), 'Conversations (and registrations) at once; more are refused with a coded error.'),
  MAX_FRAME_BYTES: advanced(intRange(256 * 1024, 1024, 4 * 1024 * 1024, 'bytes'), 'Largest audio frame; the browser sends 3,200-byte (100 ms) frames.'),
  MAX_ENROLLMENT_S: advanced(range(30, 1, 600, 's'), 'Longest voice registration.'),
  MAX_CONVERSATION_S: setting(range(4 * 3600, 1, 7 * 24 * 3600, 's'), 'Longest conversation; it is ended when it reaches this.'),
  MAX_BACKLOG_S: advanced(range(4, 0.5, 600, 's'), 'Seconds of unprocessed audio after which the socket stops being read.'),
  MAX_UPLOAD_MB: setting(range(2048, 1, 1_048_576, 'MiB'), 'Largest file accepted by POST /api/transcriptions (413 above it).'),
  MAX_CONNECTIONS: advanced(
    intRange(256, 1, 100_000),
    'Open TCP connections at most (page, API and WebSocket together); when full, the oldest connection that has not signed in is dropped for a newcomer.',
  ),
  PENDING_CONNECTIONS: advanced(
    intRange(64, 1, 100_000),
    'Connections that have not signed in yet (no request with a valid token or cookie) held at most, within MAX_CONNECTIONS; when full, the oldest of them is dropped, so a flood of slow or idle connections cannot keep the owner out.',
  ),
  HEADERS_TIMEOUT_MS: advanced(intRange(10_000, 500, 120_000, 'ms'), 'A request\'s headers must be complete this long after its connection opened (checked every second).'),
  MAX_FILE_S: setting(
    range(4 * 3600, 1, 7 * 24 * 3600, 's'),
    'Longest recording the file APIs (POST /api/transcriptions, POST /v1/audio/transcriptions) take, judged from the file\'s header before decoding; a longer one is refused with this limit named.',
  ),
  FRONT_THREADS: setting(
    // −1 (one per core) rather than the core count itself, so the configuration page is the same on every machine.
    intRange(-1, -1, 64),
    'Worker threads that run the live speech fronts (VAD, segmenter, speaker-change watch, speaker assignment) of all sessions, each session pinned to one for its life; −1 = one per CPU core; 0 = all on the main thread, as before.',
  ),
};

/** What is kept on disk, where, and for how long. */
const storageSettings = {
  DATA_DIR: setting(z.string().min(1).default('data'), 'Folder of the conversation store and saved voices (relative to the repository root); owner-only.'),
  KEEP_AUDIO: setting(bool.default(false), 'Keep each conversation\'s audio beside its transcript (Opus through ffmpeg, else WAV).'),
  RETENTION_DAYS: setting(range(0, 0, 36_500, 'days'), 'Conversations older than this many days are deleted at start and daily; 0 keeps them all.'),
  DATA_KEY_FILE: setting(
    z.string().default(''),
    'File holding a 256-bit key (32 bytes, 64 hex digits or 44 base64 characters; owner-only, outside DATA_DIR): every stored record is then encrypted with AES-256-GCM. Empty = off.',
  ),
  AUDIT_RETENTION_DAYS: setting(range(365, 0, 36_500, 'days'), 'Access-log entries (DATA_DIR/audit.jsonl) older than this many days are removed at start and daily; 0 keeps them all.'),
};

/** Prometheus metrics and notifications when a transcript is ready: off unless configured. */
const integrationSettings = {
  METRICS: setting(
    bool.default(true),
    'Serve GET /metrics (Prometheus text format). It always needs a token: METRICS_TOKEN when set, else the access token; with AUTH=false and no METRICS_TOKEN it is not served at all.',
  ),
  METRICS_TOKEN: setting(z.string().default(''), 'A separate token for /metrics (a scraper then never holds the access token); empty = the access token.'),
  NOTIFY_WEBHOOK_URL: setting(
    z
      .string()
      .default('')
      .refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), 'must be an http:// or https:// URL'),
    'POST a signed JSON event here when a transcript is ready (file job or live conversation ended); empty = off.',
  ),
  NOTIFY_WEBHOOK_SECRET: setting(z.string().default(''), 'HMAC-SHA256 key of the webhook\'s `Duet-Signature` header; required (16+ characters) with NOTIFY_WEBHOOK_URL.'),
  NOTIFY_RETRY_FOR_S: advanced(range(3600, 1, 86_400, 's'), 'Give up on a webhook event this long after it was first tried (retries back off exponentially).'),
  NOTIFY_TIMEOUT_MS: advanced(intRange(10_000, 100, 120_000, 'ms'), 'Time limit of one webhook delivery attempt.'),
  SMTP_URL: setting(
    z
      .string()
      .default('')
      .refine((v) => v === '' || /^smtps?:\/\/[^\s]+$/.test(v), 'must be smtp://… or smtps://…'),
    '`smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465` (TLS); empty = no e-mail.',
  ),
  SMTP_FROM: setting(z.string().default('duet@localhost'), 'Sender address of the notification e-mails.'),
  NOTIFY_EMAIL: setting(z.string().default(''), 'Where the transcript e-mails go; empty = no e-mail.'),
  NOTIFY_EMAIL_FOR: setting(z.enum(['all', 'asked']).default('asked'), 'Which finished transcripts are e-mailed: `all`, or `asked` (only uploads sent with notify=email).'),
};

/** Recognition workers behind Redis (`npm run worker`). */
const workerSettings = {
  QUEUE_URL: setting(
    z
      .string()
      .default('')
      .refine((v) => v === '' || /^rediss?:\/\/[^\s]+$/.test(v), 'must be redis://… or rediss://…'),
    '`redis://[:password@]host:port/db` or `rediss://…` (TLS): recognition goes to workers (`npm run worker`) through Redis Streams. Empty = the embedded whisper-server child.',
  ),
  QUEUE_TLS_CA: setting(z.string().default(''), 'PEM file of the CA that signed Redis\' certificate (`rediss://` with a private CA); empty = the system\'s.'),
  WORKER_CONCURRENCY: setting(intRange(1, 1, 64), 'Jobs one worker runs at once, each on its own whisper.cpp engine.'),
  JOB_CLAIM_MS: advanced(intRange(10_000, 100, 3_600_000, 'ms'), 'A job a worker has held this long without a sign of life is taken over by another worker.'),
  JOB_MAX_ATTEMPTS: advanced(intRange(3, 1, 100), 'Deliveries of one job before it goes to the dead-letter stream (and its segment gets "").'),
  JOB_DEADLINE_MS: advanced(intRange(30_000, 100, 3_600_000, 'ms'), 'A job not answered this long after it was queued gets "" and a coded error.'),
};

/** Notes from a conversation (summary, action items, sentiment) by a local model or an OpenAI-compatible server: off unless configured. */
const notesSettings = {
  LLM_MODEL_PATH: setting(
    z.string().default(''),
    'Local engine: a GGUF instruct model run by node-llama-cpp in a child process; empty = the default model\'s file in MODELS_DIR if `npm run models -- --llm` put it there.',
  ),
  LLM_URL: setting(
    z
      .string()
      .default('')
      .refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), 'must be http://… or https://…'),
    'Remote engine: an OpenAI-compatible base URL ending in /v1 (Ollama, llama.cpp, vLLM, a cloud). Wins over the local model. Empty = none. The transcript is sent there.',
  ),
  LLM_MODEL: setting(z.string().max(200).default(''), 'The remote model\'s name (`qwen2.5:1.5b`, `gpt-4o-mini`); required with LLM_URL.'),
  LLM_API_KEY: setting(z.string().default(''), 'The remote server\'s API key (sent as a bearer token, never logged).'),
  LLM_API_KEY_FILE: setting(z.string().default(''), 'A file holding the API key (first line), instead of LLM_API_KEY.'),
  LLM_CONTEXT_TOKENS: advanced(intRange(8192, 512, 131_072, 'tokens'), 'Tokens of context per request (prompt and answer); a longer transcript is noted in parts.'),
  LLM_MAX_ANSWER_TOKENS: advanced(intRange(1536, 64, 32_768, 'tokens'), 'Most tokens of one answer.'),
  LLM_THREADS: advanced(intRange(0, 0, 256), 'CPU threads of the local engine; 0 = half the cores (at least 1), leaving the rest to live sessions.'),
  LLM_GPU: setting(z.enum(['auto', 'off']).default('auto'), '`auto` uses a GPU when node-llama-cpp finds one (and its GPU package is installed); `off` = CPU.'),
  LLM_MEMORY_RESERVE_MB: advanced(intRange(1024, 0, 1_048_576, 'MiB'), 'Memory left to the server and its sessions when judging whether a local model fits.'),
  LLM_IDLE_UNLOAD_S: advanced(intRange(300, 0, 86_400, 's'), 'The local model process is stopped after this long without a note, freeing its memory; 0 = kept.'),
  LLM_TIMEOUT_S: advanced(intRange(600, 1, 86_400, 's'), 'One request\'s time limit (a note may make several).'),
  LLM_RETRIES: advanced(intRange(3, 0, 10), 'Retries of a remote request after 429, 5xx or a dropped stream (exponential backoff from 1 s, Retry-After honoured up to 60 s).'),
  NOTES_AUTO: setting(bool.default(false), 'Write a note automatically when a live conversation ends.'),
  NOTES_AUTO_TEMPLATE: setting(z.string().regex(/^[a-z0-9_-]{1,40}$/, 'must be a template name').default('general'), 'Template of the automatic note.'),
  NOTES_LIVE_SENTIMENT: setting(bool.default(false), 'Label each live segment\'s sentiment as its transcription arrives (a `sentiment` message), when no note is running.'),
  NOTES_SENTIMENT: setting(bool.default(true), 'Label each segment\'s sentiment (in batches, after the note) with every note.'),
  NOTES_TEMPLATES_DIR: advanced(z.string().min(1).default('templates/notes'), 'Folder of the note templates (`<name>.json`), relative to the repository root.'),
};

/** A group of settings as the configuration page shows it. */
export interface SettingGroup {
  /** Stable id (an anchor on the configuration page). */
  id: string;
  title: string;
  /** One sentence: what the group is about. */
  about: string;
  settings: Record<string, z.ZodTypeAny>;
}

/** The settings by group, in the order the configuration page lists them. */
export const SETTING_GROUPS: readonly SettingGroup[] = [
  { id: 'server', title: 'Server', about: 'Listening, TLS, access and connections.', settings: serverSettings },
  { id: 'recognition', title: 'Recognition', about: 'Speech recognition: the Whisper model and the whisper.cpp engine.', settings: recognitionSettings },
  { id: 'speakers', title: 'Speakers', about: 'Voices: the speaker encoder, matching and registration.', settings: speakerSettings },
  { id: 'speech-front', title: 'Speech front', about: 'Level gates, voice activity, segment timing and the speaker-change watch.', settings: speechFrontSettings },
  { id: 'limits', title: 'Limits', about: 'Bounds on what one client or the whole server may use.', settings: limitSettings },
  { id: 'storage', title: 'Storage', about: 'What is kept on disk, where, and for how long.', settings: storageSettings },
  { id: 'workers', title: 'Workers', about: 'Recognition workers behind Redis (`npm run worker`).', settings: workerSettings },
  { id: 'integrations', title: 'Metrics and notifications', about: 'Prometheus metrics and notifications when a transcript is ready: off unless configured.', settings: integrationSettings },
  { id: 'notes', title: 'Notes', about: 'Notes from a conversation (summary, action items, sentiment) by a local model or an OpenAI-compatible server: off unless configured.', settings: notesSettings },
];

/** Each setting: env var name → schema with its default, range and description (the union of the groups). */
export const ConfigSchema = z
  .object({
    ...serverSettings,
    ...recognitionSettings,
    ...speakerSettings,
    ...speechFrontSettings,
    ...limitSettings,
    ...storageSettings,
    ...workerSettings,
    ...integrationSettings,
    ...notesSettings,
  })
  .superRefine((c, ctx) => {
    if (c.MIN_SPEECH_MS >= c.MAX_SEGMENT_MS) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['MIN_SPEECH_MS'], message: `must be below MAX_SEGMENT_MS (${c.MAX_SEGMENT_MS} ms)` });
    }
    if (c.PRE_ROLL_MS >= c.MAX_SEGMENT_MS) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['PRE_ROLL_MS'], message: `must be below MAX_SEGMENT_MS (${c.MAX_SEGMENT_MS} ms)` });
    }
    if (c.NOTIFY_WEBHOOK_URL && c.NOTIFY_WEBHOOK_SECRET.length < 16) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['NOTIFY_WEBHOOK_SECRET'], message: 'must be at least 16 characters when NOTIFY_WEBHOOK_URL is set (receivers check the signature with it)' });
    }
    if (c.VAD_NEGATIVE_THRESHOLD > c.VAD_THRESHOLD) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['VAD_NEGATIVE_THRESHOLD'], message: `must be at most VAD_THRESHOLD (${c.VAD_THRESHOLD})` });
    }
  });


/** A variable read by a build or helper script from the real environment, not a server setting. */
export interface DocOnlyVariable {
  name: string;
  /** The default as text (`''` = unset). */
  default: string;
  meaning: string;
}
/** A group of such variables, shown on the configuration page after the settings. */
export interface DocOnlyGroup {
  id: string;
  title: string;
  about: string;
  variables: readonly DocOnlyVariable[];
}

/**
 * Variables that scripts read from the real environment (not from `.env`, not through this
 * schema): listed here only so the configuration page names every knob in one place.
 */
export const DOC_ONLY_GROUPS: readonly DocOnlyGroup[] = [
  {
    id: 'build',
    title: 'Build (`npm run build:whisper`, `npm start`)',
    about: 'Read by scripts/build-whisper.mjs and scripts/start.mjs from the environment when whisper.cpp is built and the server is started.',
    variables: [
      { name: 'WHISPER_BUILD_DIR', default: 'build/whisper', meaning: 'Output folder of the build (the server reads the same setting).' },
      { name: 'WHISPER_CUDA', default: 'auto', meaning: 'auto | 1 | 0 — build with CUDA; auto = when nvcc is present and an NVIDIA GPU is visible.' },
      { name: 'WHISPER_CUDA_ARCHS', default: '', meaning: 'CMAKE_CUDA_ARCHITECTURES; empty = native when a GPU is visible, else a list of common ones.' },
      { name: 'WHISPER_VULKAN', default: 'auto', meaning: 'auto | 1 | 0 — build with Vulkan; auto = when glslc and the Vulkan headers are present.' },
      { name: 'VULKAN_SDK', default: '', meaning: 'Vulkan SDK folder whose include/ is searched for the headers.' },
      { name: 'WHISPER_BUILD_JOBS', default: '', meaning: 'Parallel compile jobs; empty = the number of CPU cores.' },
      { name: 'WHISPER_FORCE_BUILD', default: '', meaning: '1 = rebuild even when the stamp says the build is current.' },
      { name: 'CXX', default: '', meaning: 'C++ compiler; empty = c++, g++ or clang++ from PATH.' },
      { name: 'DUET_SKIP_PREPARE', default: '', meaning: '1 = `npm start` skips building whisper.cpp and fetching models.' },
      { name: 'DUET_RESTART_FIRST_MS', default: '1000', meaning: 'First delay (ms) before `npm start` restarts a server that exited unexpectedly; it doubles up to 60 s.' },
    ],
  },
  {
    id: 'tunnel',
    title: 'Tunnel (`npm run tunnel`)',
    about: 'Read by scripts/tunnel.sh: publishes the server\'s port on a relay host through an SSH reverse tunnel.',
    variables: [
      { name: 'RELAY', default: '', meaning: 'user@host of the relay (required).' },
      { name: 'RELAY_PORT', default: '8443', meaning: 'Port opened on the relay (below 1024 needs root there).' },
      { name: 'RELAY_BIND', default: '', meaning: 'Address the relay listens on: empty = all (needs GatewayPorts yes or clientspecified), or 127.0.0.1 behind a reverse proxy on the relay.' },
      { name: 'LOCAL_PORT', default: '$PORT or 8443', meaning: 'This server\'s port.' },
      { name: 'PUBLIC_URL', default: 'https://<relay host>:<RELAY_PORT>/', meaning: 'What users open; printed by the script.' },
      { name: 'SSH_KEY', default: '', meaning: 'Identity file for ssh.' },
      { name: 'SSH_OPTS', default: '', meaning: 'Extra ssh options, split on whitespace (e.g. `-p 2222`); values with spaces belong in an ssh config file (`-F file`).' },
    ],
  },
];

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = Partial<z.input<typeof ConfigSchema>>;

/**
 * `--max-sessions=8` → `MAX_SESSIONS: '8'`; a bare `--change-watch` → `'true'`. Read with
 * `node:util` `parseArgs` like every command's flags; a command's own flags (`--speaker`) are
 * kept too and ignored here, since they name no setting.
 */
function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const { values } = parseArgs({ args: [...argv], strict: false, allowPositionals: true });
  for (const [key, value] of Object.entries(values)) {
    if (!/^[a-z0-9-]+$/.test(key)) continue;
    const last = Array.isArray(value) ? value.at(-1) : value;
    out[key.toUpperCase().replace(/-/g, '_')] = last === true || last === undefined ? 'true' : String(last);
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
        return `${key}: ${i.message}${value === undefined || /TOKEN|SECRET|SMTP_URL|API_KEY/.test(key) ? '' : ` (got ${JSON.stringify(value)})`}`;
      })
      .join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return Object.freeze(parsed.data);
}

/** Largest `.env` file read, bytes: a settings file is a few KiB. */
export const DOTENV_MAX_BYTES = 64 * 1024;
const DOTENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses the text of a `.env` file: `NAME=value` lines, blank lines and `#` comments, an
 * optional `export ` prefix, values bare (a ` #` starts a comment), in double quotes (with
 * `\n`, `\"` and `\\` escapes) or in single quotes (literal). Strict: any other line, a
 * repeated name, an unterminated quote or a name that is not a setting is an error naming the
 * file and line — never the value, which may be a token.
 */
export function parseDotEnv(text: string, source = '.env'): Record<string, string> {
  const known = new Set(Object.keys(ConfigSchema.innerType().shape));
  const docOnly = new Set(DOC_ONLY_GROUPS.flatMap((g) => g.variables.map((v) => v.name)));
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  const bad = (n: number, why: string) => new Error(`${source} line ${n}: ${why}`);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const body = trimmed.startsWith('export ') ? trimmed.slice('export '.length).trimStart() : trimmed;
    const eq = body.indexOf('=');
    if (eq <= 0) throw bad(n, 'expected NAME=value');
    const name = body.slice(0, eq).trim();
    if (!DOTENV_NAME.test(name)) throw bad(n, 'expected NAME=value (a name is letters, digits and _)');
    if (!known.has(name)) {
      throw bad(
        n,
        docOnly.has(name)
          ? `${name} is read by a script from the real environment, not from .env`
          : `${name} is not a setting (see docs/configuration.md)`,
      );
    }
    if (Object.hasOwn(out, name)) throw bad(n, `${name} is set twice`);
    const raw = body.slice(eq + 1).trim();
    let value: string;
    let rest: string;
    if (raw.startsWith('"')) {
      let j = 1;
      value = '';
      for (; j < raw.length && raw[j] !== '"'; j++) {
        if (raw[j] === '\\' && j + 1 < raw.length) {
          const e = raw[++j]!;
          if (e === 'n') value += '\n';
          else if (e === '"' || e === '\\') value += e;
          else throw bad(n, `unknown escape \\${e} in a double-quoted value`);
        } else value += raw[j];
      }
      if (j >= raw.length) throw bad(n, 'unterminated double quote');
      rest = raw.slice(j + 1);
    } else if (raw.startsWith("'")) {
      const j = raw.indexOf("'", 1);
      if (j < 0) throw bad(n, 'unterminated single quote');
      value = raw.slice(1, j);
      rest = raw.slice(j + 1);
    } else {
      const hash = raw.search(/\s#/);
      value = (hash < 0 ? raw : raw.slice(0, hash)).trim();
      rest = '';
      if (/["']/.test(value)) throw bad(n, 'a quote inside a bare value (quote the whole value)');
    }
    if (rest.trim() !== '' && !rest.trim().startsWith('#')) throw bad(n, 'text after the closing quote');
    out[name] = value;
  }
  return out;
}

/** What `loadConfigFromEnvironment` reads besides the environment: the `.env` file, when there is one. */
export interface DotEnvSource {
  /** Folder whose `.env` is read; the working directory by default. */
  cwd?: string;
  /** false = do not read a `.env` file at all (tests, benchmarks that must not depend on one). */
  dotEnv?: boolean;
}

/**
 * Reads `<cwd>/.env` when it exists: a regular file of at most DOTENV_MAX_BYTES, parsed by
 * `parseDotEnv`. Returns `{}` when there is none; throws (naming the file and line) when it is
 * unreadable or malformed.
 */
export function readDotEnv(cwd: string): Record<string, string> {
  const path = join(cwd, '.env');
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isFile()) throw new Error(`${path}: not a regular file`);
  if (st.size > DOTENV_MAX_BYTES) throw new Error(`${path}: larger than ${DOTENV_MAX_BYTES} bytes`);
  const bytes = readFileSync(path);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\u0000') || text.includes('\uFFFD')) throw new Error(`${path}: not UTF-8 text`);
  return parseDotEnv(text, path);
}

/**
 * The configuration of a command: `.env` in the working directory, then the real environment
 * (a variable set and non-empty there wins over `.env`), then `--flags` (win over both), then
 * `overrides`. Neither the file nor its values are logged.
 */
export function loadConfigFromEnvironment(
  argv: readonly string[] = process.argv.slice(2),
  overrides: ConfigInput = {},
  source: DotEnvSource & { env?: Record<string, string | undefined> } = {},
): Config {
  const env = source.env ?? process.env;
  const fromFile = source.dotEnv === false ? {} : readDotEnv(source.cwd ?? process.cwd());
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return loadConfig(merged, argv, overrides);
}
