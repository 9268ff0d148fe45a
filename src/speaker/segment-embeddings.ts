/**
 * Each stretch of a closed segment's audio embedded at most once.
 *
 * Assigning one segment looks at the same samples more than once: the whole segment, then the
 * parts of a split (a merged part can span the whole again), the last part once more as the
 * neighbour of the next turn, and in auto-enrollment the same segment is assigned twice. A
 * closed segment's audio is its own copy and never changes after the segment closes, so an
 * embedding is keyed by where its samples sit in that copy (byte offset and length) and kept as
 * long as the copy itself lives (a weak map: nothing outlives the segment's audio).
 */
import type { SpeakerEncoder } from './types.js';

export class SegmentEmbeddings {
  /** Per segment audio: `byteOffset:length` of a view into it → its embedding (in memory only, never logged). */
  private readonly byAudio = new WeakMap<Float32Array, Map<string, Promise<Float32Array>>>();

  constructor(private readonly encoder: SpeakerEncoder) {}

  /**
   * The embedding of `samples`, a view into `audio` (a closed segment's audio, never written
   * after it closed); computed on the first request, the same object after. A view into other
   * memory is embedded every time (nothing says it stays the same).
   */
  embed(audio: Float32Array, samples: Float32Array): Promise<Float32Array> {
    if (samples.buffer !== audio.buffer) return this.encoder.embed(samples);
    let memo = this.byAudio.get(audio);
    if (!memo) {
      memo = new Map();
      this.byAudio.set(audio, memo);
    }
    const key = `${samples.byteOffset}:${samples.length}`;
    const known = memo.get(key);
    if (known) return known;
    const made = this.encoder.embed(samples);
    memo.set(key, made);
    // A failed embedding is not remembered: the next request tries again (and sees the error itself).
    const m = memo;
    made.catch(() => {
      if (m.get(key) === made) m.delete(key);
    });
    return made;
  }

  /**
   * `encoder` with its `embed` going through this memo for views into `audio` (e.g. enrolling
   * a voice from a segment that is then assigned); every other member is the encoder's own.
   */
  encoderFor(audio: Float32Array): SpeakerEncoder {
    const encoder = this.encoder;
    const embed = (samples: Float32Array) => this.embed(audio, samples);
    return new Proxy(encoder, {
      get(target, key) {
        if (key === 'embed') return embed;
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}
