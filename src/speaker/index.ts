/**
 * Chooses the speaker encoder from config: `builtin` (no download, any machine), `neural` (an
 * ONNX speaker model through sherpa-onnx; its file must be present), or `auto` — neural when
 * `${MODELS_DIR}/${SPEAKER_MODEL}` exists, else built-in — with a log line saying which and why.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { speakerModel } from '../models/catalog.js';
import { decodeWav } from '../audio/wav.js';
import { fromRoot, ROOT } from '../paths.js';
import { BuiltinSpeakerEncoder } from './builtin.js';
import { NeuralSpeakerEncoder, type SherpaSpeakerModule } from './neural.js';
import type { SpeakerEncoder } from './types.js';

export { BuiltinSpeakerEncoder } from './builtin.js';
export { NeuralSpeakerEncoder } from './neural.js';
export type { SpeakerEncoder } from './types.js';

/**
 * Cohort voices shipped for the neural encoder's score normalisation: 20 LibriSpeech cohort
 * speakers (none of them dev or test voices), 4 s each, back to back in one 16 kHz WAV
 * (written by `scripts/research/train-speaker.ts`).
 */
export const COHORT_VOICES_PATH = 'models/builtin/cohort-voices.wav';
const COHORT_CLIP_S = 4;

/** The shipped cohort clips, or [] when the file is absent. */
export async function loadCohortVoices(path = fromRoot(COHORT_VOICES_PATH)): Promise<Float32Array[]> {
  if (!existsSync(path)) return [];
  const { samples } = decodeWav(await readFile(path));
  const n = COHORT_CLIP_S * 16_000;
  const clips: Float32Array[] = [];
  for (let s = 0; s + n <= samples.length; s += n) clips.push(samples.subarray(s, s + n));
  return clips;
}

export interface CreateSpeakerEncoderOptions {
  log?: Logger;
  /** Tests: a built-in encoder to use instead of the shipped one. */
  builtin?: () => SpeakerEncoder;
  /** Tests: where `sherpa-onnx-node` comes from. */
  loadAddon?: () => SherpaSpeakerModule;
}

/** Absolute path of the configured neural speaker model (`SPEAKER_MODEL` may be a catalog short name). */
export function speakerModelPath(config: Pick<Config, 'MODELS_DIR' | 'SPEAKER_MODEL'>): string {
  const file = speakerModel(config.SPEAKER_MODEL)?.file ?? config.SPEAKER_MODEL;
  return resolve(fromRoot(config.MODELS_DIR), file);
}

/** A path for log lines: relative to the repository when inside it. */
function shown(path: string): string {
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? path : rel;
}

/**
 * Builds and loads the configured speaker encoder. Under `auto`, a neural model that is present
 * but fails to load falls back to the built-in encoder with a warning; under `neural` that is
 * an error, as is a missing model file.
 */
export async function createSpeakerEncoder(
  config: Pick<Config, 'SPEAKER_ENCODER' | 'SPEAKER_MODEL' | 'MODELS_DIR'>,
  options: CreateSpeakerEncoderOptions = {},
): Promise<SpeakerEncoder> {
  const log = options.log;
  const makeBuiltin = options.builtin ?? (() => new BuiltinSpeakerEncoder());
  const modelPath = speakerModelPath(config);
  const fetchHint = `run "npm run models -- --speaker --trust-on-first-use" to download it (its publisher gives no checksum)`;

  const loadBuiltin = async (why: string): Promise<SpeakerEncoder> => {
    const enc = makeBuiltin();
    await enc.load();
    log?.info(`speaker encoder: ${enc.name} (built-in, dim ${enc.dim}) — ${why}`);
    return enc;
  };
  const loadNeural = async (why: string): Promise<SpeakerEncoder> => {
    const enc = new NeuralSpeakerEncoder({ modelPath, loadAddon: options.loadAddon, cohort: () => loadCohortVoices() });
    await enc.load();
    log?.info(`speaker encoder: ${enc.name} (neural, dim ${enc.dim}, ${enc.scoreNorm ? `AS-norm over ${enc.scoreNorm.cohort.length} cohort embeddings` : 'raw cosine: no cohort voices'}) — ${why}`);
    return enc;
  };

  switch (config.SPEAKER_ENCODER) {
    case 'builtin':
      return loadBuiltin('SPEAKER_ENCODER=builtin');
    case 'neural':
      if (!existsSync(modelPath)) {
        throw new Error(`SPEAKER_ENCODER=neural but the speaker model ${shown(modelPath)} does not exist; ${fetchHint}, or set SPEAKER_ENCODER=auto`);
      }
      return loadNeural(`SPEAKER_ENCODER=neural, model ${shown(modelPath)}`);
    case 'auto': {
      if (!existsSync(modelPath)) {
        return loadBuiltin(`SPEAKER_ENCODER=auto and no neural model at ${shown(modelPath)} (${fetchHint})`);
      }
      try {
        return await loadNeural(`SPEAKER_ENCODER=auto and ${shown(modelPath)} is present`);
      } catch (err) {
        log?.warn(`neural speaker model ${shown(modelPath)} could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
        return loadBuiltin('SPEAKER_ENCODER=auto, falling back after the neural model failed to load');
      }
    }
  }
}
