/** The file path's stages from the server's shared pipeline and configuration. */
import type { Config } from '../config.js';
import type { Pipeline } from '../session/pipeline.js';
import type { Recognizer } from '../session/ports.js';
import { speechFrontOptionsFromConfig } from '../front/front.js';
import type { FileStages } from './pipeline.js';

export function fileStagesFrom(pipeline: Pipeline, config: Config): FileStages {
  // All file jobs share one lane of the fair recognition queue: together they are one more
  // session, served in turn with the live ones and never ahead of them.
  let lane: Recognizer | null = null;
  return {
    models: pipeline.models,
    createFront: () => pipeline.createFront(),
    encoder: pipeline.encoder,
    vad: pipeline.vad,
    transcribe: (samples, language, signal) => (lane ??= pipeline.createRecognizer()).transcribe(samples, language, signal),
    // The same front settings as a live registration (Room.enroll).
    enrollmentGates: speechFrontOptionsFromConfig(config),
    speakerThreshold: config.SPEAKER_THRESHOLD,
  };
}
