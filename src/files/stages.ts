/** The file path's stages from the server's shared pipeline and configuration. */
import type { Config } from '../config.js';
import type { Pipeline } from '../session/pipeline.js';
import type { FileStages } from './pipeline.js';

export function fileStagesFrom(pipeline: Pipeline, config: Config): FileStages {
  return {
    models: pipeline.models,
    createFront: () => pipeline.createFront(),
    encoder: pipeline.encoder,
    vad: pipeline.vad,
    transcribe: (samples, language, signal) => pipeline.transcribe(samples, language, signal),
    enrollmentGates: { threshold: config.VAD_THRESHOLD, rmsGateDbfs: config.RMS_GATE_DBFS, varianceGate: config.VARIANCE_GATE },
    speakerThreshold: config.SPEAKER_THRESHOLD,
  };
}
