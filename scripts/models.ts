/**
 * `npm run models [-- --speaker] [--all] [--verify] [--trust-on-first-use] [--SETTING=value …]`:
 * fetches the models the configuration needs into MODELS_DIR (src/models/ensure-models.ts).
 *
 * - The Whisper model named by ASR_MODEL (unless `none`, ASR_MODEL_PATH is set, or the file is
 *   present).
 * - The speaker model SPEAKER_MODEL when SPEAKER_ENCODER=neural, or with `--speaker`, or with
 *   `--all` under SPEAKER_ENCODER=auto.
 * - `--verify` re-hashes files that are already present.
 *
 * Offline it exits non-zero within seconds, saying the server will still start — without
 * transcription (diarization-only mode) when the Whisper model is missing. Settings come from
 * the environment, `.env` and setting flags (`--asr-model=small`), as for the server.
 */
import { parseArgs } from 'node:util';
import { loadConfigFromEnvironment, type Config } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { ensureModels } from '../src/models/ensure-models.js';
import { fetchDefaultLlm } from '../src/notes/default-model.js';
import { fromRoot } from '../src/paths.js';

const USAGE =
  'usage: npm run models -- [--speaker] [--llm] [--all] [--verify] [--trust-on-first-use] [--asr-model=base] [--models-dir=models] [--speaker-encoder=auto|builtin|neural]\n';

/** This command's own flags; any other `--key=value` is a setting, read by the configuration. */
function ownFlags(argv: readonly string[]): { speaker: boolean; llm: boolean; all: boolean; verify: boolean; tofu: boolean; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    options: {
      speaker: { type: 'boolean' },
      llm: { type: 'boolean' },
      all: { type: 'boolean' },
      verify: { type: 'boolean' },
      'trust-on-first-use': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const on = (v: unknown) => v === true;
  return { speaker: on(values.speaker), llm: on(values.llm), all: on(values.all), verify: on(values.verify), tofu: on(values['trust-on-first-use']), help: on(values.help) };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const flags = ownFlags(argv);
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfigFromEnvironment(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const log = createLogger(config.LOG_LEVEL === 'silent' ? 'silent' : 'info', 'models');
  const r = await ensureModels(config, { log, speaker: flags.speaker, all: flags.all, verify: flags.verify, trustOnFirstUse: flags.tofu });
  // Notes' local model: only when asked (`--llm`), never as a side effect (docs/notes.md).
  const llmFailed = flags.llm ? !(await fetchDefaultLlm(fromRoot(config.MODELS_DIR), log)) : false;

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

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
