import { createHash } from 'node:crypto';
import type { ScoreNormalizer } from './snorm.js';

/** Speaker-embedding model boundary. */
export interface SpeakerEncoder {
  /** Short name reported in `model_loaded.models.speaker`, e.g. `builtin-mfcc-lda`. */
  readonly name: string;
  /** Embedding dimension. */
  readonly dim: number;
  load(): Promise<void>;
  /**
   * Embeds 16 kHz float samples in [-1, 1] (speech only, any length ≥ ~0.3 s). The result is
   * comparable by cosine similarity with other embeddings of the same encoder.
   */
  embed(samples: Float32Array): Promise<Float32Array>;
  /**
   * Cohort score normalisation for this encoder's embeddings, once loaded (null or absent:
   * raw cosine). The matcher, the assigner and enrollment's `too_similar` check all use it.
   */
  readonly scoreNorm?: ScoreNormalizer | null;
  /**
   * The `too_similar` bound calibrated for this encoder's (normalised) profile similarity;
   * absent: `DEFAULT_ENROLLMENT.tooSimilarBound`.
   */
  readonly tooSimilarBound?: number;
  /**
   * The model's version once loaded (a short hash of its file), so that voices saved with an
   * earlier model of the same name are recognised as incompatible. Absent: the name alone.
   */
  readonly version?: string;
  /** Idempotent. */
  close(): Promise<void>;
}

/** What a saved voice records as its encoder: `name@version` (the name alone without a version). */
export function encoderTag(encoder: Pick<SpeakerEncoder, 'name' | 'version'>): string {
  return encoder.version ? `${encoder.name}@${encoder.version}` : encoder.name;
}

/** A short version of a model from its bytes (first 12 hex digits of SHA-256). */
export function modelVersion(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 12);
}

/** An enrolled voice. Embeddings are personal data: never log them. */
export interface SpeakerProfile {
  /** Encoder that made the embeddings (profiles of different encoders are not comparable). */
  encoder: string;
  /** Embedding of all the enrollment speech. */
  mean: Float32Array;
  /** Embeddings of overlapping sub-windows of the enrollment speech. */
  embeddings: Float32Array[];
  /** Seconds of speech the profile was built from. */
  speechSeconds: number;
  /** Segments folded in by slow adaptation. */
  adaptedSegments: number;
}
