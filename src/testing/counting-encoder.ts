/**
 * A speaker encoder behind a counter, for tests: each `embed()` call's audio is recorded by
 * content (length and SHA-256 of its bytes, never the samples), so a test can tell when the
 * same audio was embedded twice. Only `embed` is offered (no `embedWindows`): every embedding
 * the caller makes goes through it.
 */
import { createHash } from 'node:crypto';
import type { SpeakerEncoder } from '../speaker/types.js';

export type CountingEncoder = SpeakerEncoder & {
  /** One entry per `embed()` call, in order: `length:sha256`. */
  readonly calls: string[];
};

export function countingEncoder(inner: SpeakerEncoder): CountingEncoder {
  const calls: string[] = [];
  return {
    get name() {
      return inner.name;
    },
    get dim() {
      return inner.dim;
    },
    get scoreNorm() {
      return inner.scoreNorm;
    },
    get tooSimilarBound() {
      return inner.tooSimilarBound;
    },
    get version() {
      return inner.version;
    },
    load: () => inner.load(),
    close: () => inner.close(),
    calls,
    embed(samples: Float32Array) {
      calls.push(`${samples.length}:${createHash('sha256').update(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)).digest('hex')}`);
      return inner.embed(samples);
    },
  };
}

/** The entries of `calls` that repeat an earlier one (the same audio embedded again). */
export function repeatedCalls(calls: readonly string[]): string[] {
  return calls.filter((c, i) => calls.indexOf(c) !== i);
}
