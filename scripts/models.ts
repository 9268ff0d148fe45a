/**
 * `npm run models`: fetches the models the configuration needs into MODELS_DIR, with progress,
 * resume and checksum verification.
 *
 * - The Whisper model named by ASR_MODEL (unless `none`, ASR_MODEL_PATH is set, or the file is
 *   present).
 * - The speaker model SPEAKER_MODEL when SPEAKER_ENCODER=neural, or with `--speaker`, or with
 *   `--all` under SPEAKER_ENCODER=auto.
 * - `--verify` re-hashes files that are already present.
 *
 * Offline it exits non-zero within seconds, saying the server will still start — without
 * transcription (diarization-only mode) when the Whisper model is missing.
 * `ensureModels()` is the same logic for the start script.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger, type Logger } from '../src/log.js';
import { fetchDefaultLlm } from '../src/notes/default-model.js';
import { MODEL_HOSTS, speakerModel, whisperFileName, whisperModel, type CatalogEntry } from '../src/models/catalog.js';
import {
  CHECKSUMS_FILE,
  createProgressRenderer,
  DownloadError,
  downloadFile,
  readChecksums,
  recordChecksum,
  sha256File,
  type DownloadOptions,
} from '../src/models/download.js';
import { fromRoot } from '../src/paths.js';

export type ModelState = 'present' | 'downloaded' | 'missing' | 'failed' | 'disabled';

export interface ModelStatus {
  kind: 'whisper' | 'speaker';
  /** File name (or the configured path for ASR_MODEL_PATH). */
  file: string;
  path: string;
  state: ModelState;
  /** Why it is missing or failed. */
  reason?: string;
}

export interface EnsureModelsResult {
  asr: ModelStatus;
  speaker: ModelStatus;
  /** A download failed because the host could not be reached. */
  offline: boolean;
  /** Everything that was wanted is present now. */
  ok: boolean;
}

export interface EnsureModelsOptions {
  log: Logger;
  /** Download what is missing (default true); false only reports. */
  download?: boolean;
  /** Fetch the speaker model even under SPEAKER_ENCODER=auto. */
  speaker?: boolean;
  /** Everything the configuration could use: like `speaker` under `auto`. */
  all?: boolean;
  /** Re-hash present files against the known checksums. */
  verify?: boolean;
  /** Progress output; default stderr. `null` for none. */
  progressStream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean } | null;
  /** Passed to each download (tests: `fetchImpl`, timeouts, `allow` for a loopback server). */
  downloadOptions?: Partial<Pick<DownloadOptions, 'fetchImpl' | 'connectTimeoutMs' | 'stallTimeoutMs' | 'retries' | 'signal' | 'allow'>>;
  /**
   * Download a model with no published checksum and record the hash of this first download
   * (`--trust-on-first-use`). Without it such a model is refused, with the reason.
   */
  trustOnFirstUse?: boolean;
  /** Tests: where the catalog URLs point. */
  urlFor?: (entry: CatalogEntry) => string;
}

type ModelsConfig = Pick<Config, 'MODELS_DIR' | 'ASR_MODEL' | 'ASR_MODEL_PATH' | 'SPEAKER_ENCODER' | 'SPEAKER_MODEL'>;

/** The catalog entry for the configured Whisper model; an unknown name still gets the usual URL. */
function asrEntry(name: string): CatalogEntry {
  return (
    whisperModel(name) ?? {
      kind: 'whisper',
      name,
      file: whisperFileName(name),
      url: `https://huggingface.co/ggerganov/whisper.cpp/resolve/main/${whisperFileName(name)}`,
      description: `Whisper ${name} (not in the catalog: no published checksum known)`,
    }
  );
}

function speakerEntry(fileOrName: string): CatalogEntry {
  return (
    speakerModel(fileOrName) ?? {
      kind: 'speaker',
      name: fileOrName.replace(/\.onnx$/, ''),
      file: fileOrName,
      url: `https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models/${fileOrName}`,
      description: `speaker model ${fileOrName} (not in the catalog)`,
    }
  );
}

/**
 * Makes sure the configured models are in MODELS_DIR, downloading what is missing unless told
 * not to. Never throws for a failed download: the result says what is present and what is not.
 */
export async function ensureModels(config: ModelsConfig, options: EnsureModelsOptions): Promise<EnsureModelsResult> {
  const { log } = options;
  const download = options.download ?? true;
  const modelsDir = fromRoot(config.MODELS_DIR);
  let offline = false;

  const fetchOne = async (entry: CatalogEntry, status: ModelStatus): Promise<ModelStatus> => {
    if (offline) return { ...status, state: 'missing', reason: 'skipped: the network is unreachable' };
    const known = (await readChecksums(modelsDir))[entry.file];
    const tofu = !entry.sha256 && !entry.sha1;
    if (tofu && !known && !options.trustOnFirstUse) {
      const reason = `no checksum is published for ${entry.file}, so its download cannot be verified; refusing it. To accept the first download and record its SHA-256 for later checks, run: npm run models -- --trust-on-first-use${entry.kind === 'speaker' ? ' --speaker' : ''}`;
      log.error(reason);
      return { ...status, state: 'failed', reason };
    }
    const url = options.urlFor?.(entry) ?? entry.url;
    log.info(`downloading ${entry.file} (${entry.description}) from ${url}`);
    const stream = options.progressStream === undefined ? process.stderr : options.progressStream;
    try {
      const r = await downloadFile({
        url,
        dest: status.path,
        sha256: entry.sha256 ?? known?.sha256,
        sha1: entry.sha256 ? undefined : entry.sha1,
        expectedSize: entry.sizeBytes,
        allow: { hosts: MODEL_HOSTS[entry.kind] },
        onProgress: stream ? createProgressRenderer({ label: entry.file, stream }) : undefined,
        ...options.downloadOptions,
      });
      if (entry.sha256) log.info(`${entry.file}: SHA-256 ${r.sha256} verified (published by the host)`);
      else if (entry.sha1) log.info(`${entry.file}: SHA-1 ${r.sha1} verified (published by whisper.cpp)`);
      else if (known) log.info(`${entry.file}: SHA-256 ${r.sha256} matches ${CHECKSUMS_FILE} (recorded on first download)`);
      if (tofu && !known) {
        await recordChecksum(modelsDir, entry.file, { sha256: r.sha256, bytes: r.bytes, url });
        log.info(
          `${entry.file}: SHA-256 ${r.sha256} (${r.bytes} bytes) recorded in ${CHECKSUMS_FILE} — no checksum is published upstream, so later downloads are checked against this one (trust on first use)`,
        );
        if (entry.reportedSha256 && entry.reportedSha256 !== r.sha256) {
          log.warn(`${entry.file}: SHA-256 differs from the value other projects report (${entry.reportedSha256}); the upstream file may have changed — check before trusting it`);
        } else if (entry.reportedSha256) {
          log.info(`${entry.file}: SHA-256 also matches the value reported by independent projects`);
        }
      }
      return { ...status, state: 'downloaded' };
    } catch (err) {
      if (!(err instanceof DownloadError)) throw err;
      // Unreachable or stalled: do not try the next host, say so once.
      if (err.offline) offline = true;
      const hint =
        err.code === 'checksum' && tofu && known
          ? ` (the expected value was recorded in ${CHECKSUMS_FILE} on the first download; if the upstream file changed on purpose, remove its entry there)`
          : '';
      log.error(err.message + hint);
      return { ...status, state: 'failed', reason: err.message + hint };
    }
  };

  const verifyPresent = async (entry: CatalogEntry, status: ModelStatus): Promise<ModelStatus> => {
    const want = entry.sha256 ?? (await readChecksums(modelsDir))[entry.file]?.sha256;
    if (!want) {
      log.info(`${entry.file}: present; no checksum known to verify against`);
      return status;
    }
    const got = await sha256File(status.path);
    if (got === want) {
      log.info(`${entry.file}: SHA-256 verified`);
      return status;
    }
    log.error(`${entry.file}: SHA-256 ${got} does not match the expected ${want}; delete it and run "npm run models" again`);
    return { ...status, state: 'failed', reason: 'checksum mismatch' };
  };

  // ---- ASR (Whisper) ----
  let asr: ModelStatus;
  if (config.ASR_MODEL_PATH) {
    const path = fromRoot(config.ASR_MODEL_PATH);
    asr = { kind: 'whisper', file: config.ASR_MODEL_PATH, path, state: existsSync(path) ? 'present' : 'missing' };
    if (asr.state === 'missing') asr.reason = `ASR_MODEL_PATH ${config.ASR_MODEL_PATH} does not exist (it is never downloaded)`;
  } else if (config.ASR_MODEL === 'none') {
    asr = { kind: 'whisper', file: 'none', path: '', state: 'disabled', reason: 'ASR_MODEL=none' };
  } else {
    const entry = asrEntry(config.ASR_MODEL);
    const path = resolve(modelsDir, entry.file);
    asr = { kind: 'whisper', file: entry.file, path, state: existsSync(path) ? 'present' : 'missing' };
    if (!whisperModel(config.ASR_MODEL)) log.warn(`ASR_MODEL=${config.ASR_MODEL} is not in the model catalog; trying ${entry.url} without a published checksum`);
    if (asr.state === 'present' && options.verify) asr = await verifyPresent(entry, asr);
    else if (asr.state === 'missing' && download) asr = await fetchOne(entry, asr);
  }

  // ---- speaker ----
  const speakerWanted = config.SPEAKER_ENCODER === 'neural' || options.speaker === true || (options.all === true && config.SPEAKER_ENCODER === 'auto');
  const sEntry = speakerEntry(config.SPEAKER_MODEL);
  const sPath = resolve(modelsDir, sEntry.file);
  let speaker: ModelStatus = { kind: 'speaker', file: sEntry.file, path: sPath, state: existsSync(sPath) ? 'present' : 'missing' };
  if (config.SPEAKER_ENCODER === 'builtin' && !options.speaker) {
    speaker = { ...speaker, state: speaker.state === 'present' ? 'present' : 'disabled', reason: 'SPEAKER_ENCODER=builtin' };
  } else if (speaker.state === 'present' && options.verify) {
    speaker = await verifyPresent(sEntry, speaker);
  } else if (speaker.state === 'missing' && speakerWanted && download) {
    speaker = await fetchOne(sEntry, speaker);
  } else if (speaker.state === 'missing' && !speakerWanted) {
    speaker.reason = 'not requested (SPEAKER_ENCODER=auto uses the built-in encoder; add --speaker --trust-on-first-use to fetch it)';
  }

  const asrOk = asr.state === 'present' || asr.state === 'downloaded' || asr.state === 'disabled';
  const speakerOk = !speakerWanted || speaker.state === 'present' || speaker.state === 'downloaded';
  return { asr, speaker, offline, ok: asrOk && speakerOk };
}

/** Parses this script's own flags (config flags are read by `loadConfig`). */
function ownFlags(argv: readonly string[]): { speaker: boolean; all: boolean; verify: boolean; tofu: boolean; help: boolean } {
  const has = (f: string) => argv.includes(f);
  return { speaker: has('--speaker'), all: has('--all'), verify: has('--verify'), tofu: has('--trust-on-first-use'), help: has('--help') || has('-h') };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const flags = ownFlags(argv);
  if (flags.help) {
    process.stdout.write(
      'usage: npm run models -- [--speaker] [--llm] [--all] [--verify] [--trust-on-first-use] [--asr-model=base] [--models-dir=models] [--speaker-encoder=auto|builtin|neural]\n',
    );
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig(process.env, argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const log = createLogger(config.LOG_LEVEL === 'silent' ? 'silent' : 'info', 'models');
  const r = await ensureModels(config, { log, speaker: flags.speaker, all: flags.all, verify: flags.verify, trustOnFirstUse: flags.tofu });
  // Notes' local model: only when asked (`--llm`), never as a side effect (docs/notes.md).
  const llmFailed = argv.includes('--llm') ? !(await fetchDefaultLlm(fromRoot(config.MODELS_DIR), log)) : false;

  for (const s of [r.asr, r.speaker]) {
    const label = s.kind === 'whisper' ? 'ASR model' : 'speaker model';
    if (s.state === 'present' || s.state === 'downloaded') log.info(`${label}: ${s.file} ${s.state}`);
    else if (s.state === 'disabled') log.info(`${label}: not used (${s.reason})`);
    else log.info(`${label}: ${s.file} ${s.state}${s.reason ? ` — ${s.reason}` : ''}`);
  }
  if (r.ok && !llmFailed) return 0;
  if (r.ok) return 1;
  const asrMissing = r.asr.state === 'missing' || r.asr.state === 'failed';
  if (r.offline) log.error('the model host could not be reached (offline?).');
  if (asrMissing) {
    log.error('The server will still start, in diarization-only mode: speakers are attributed but transcription text is null. Run "npm run models" again when online.');
  }
  if (r.speaker.state === 'failed' || (r.speaker.state === 'missing' && config.SPEAKER_ENCODER === 'neural')) {
    log.error(
      config.SPEAKER_ENCODER === 'neural'
        ? 'SPEAKER_ENCODER=neural needs the speaker model; set SPEAKER_ENCODER=auto to start with the built-in encoder instead.'
        : 'The built-in speaker encoder will be used.',
    );
  }
  return 1;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
