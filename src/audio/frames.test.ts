import { describe, expect, it } from 'vitest';
import { seededRandom, whiteNoise } from '../testing/signals.js';
import { FrameAssembler, type AudioFrame } from './frames.js';
import { floatToPcm16, pcm16ToFloat } from './wav.js';

/** Splits `bytes` at random even (or, with `odd`, any) positions. */
function randomChunks(bytes: Uint8Array, seed: number, odd = false): Uint8Array[] {
  const random = seededRandom(seed);
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    let len = 1 + Math.floor(random() * 3000);
    if (!odd && len % 2 === 1) len++;
    if (random() < 0.05) len = 0;
    chunks.push(bytes.subarray(at, Math.min(bytes.length, at + len)));
    at += len;
  }
  return chunks;
}

function assemble(chunks: Uint8Array[]): { frames: AudioFrame[]; last: ReturnType<FrameAssembler['flush']> } {
  const a = new FrameAssembler(512);
  const frames: AudioFrame[] = [];
  for (const c of chunks) frames.push(...a.push(c));
  return { frames, last: a.flush() };
}

describe('FrameAssembler', () => {
  const signal = whiteNoise({ durationS: 1.7, dbfs: -20, seed: 7 });
  const pcm = floatToPcm16(signal);
  const expected = pcm16ToFloat(pcm);

  it('gives the same frames and indices for any even chunking', () => {
    const reference = assemble([pcm]);
    expect(reference.frames).toHaveLength(Math.floor(expected.length / 512));
    reference.frames.forEach((f, i) => {
      expect(f.startSample).toBe(i * 512);
      expect(Array.from(f.samples)).toEqual(Array.from(expected.subarray(i * 512, (i + 1) * 512)));
    });
    for (let seed = 1; seed <= 20; seed++) {
      const got = assemble(randomChunks(pcm, seed));
      expect(got.frames).toEqual(reference.frames);
      expect(got.last).toEqual(reference.last);
    }
  });

  it('is robust to odd-length chunks (a sample split across chunks)', () => {
    const reference = assemble([pcm]);
    for (let seed = 100; seed < 110; seed++) {
      const got = assemble(randomChunks(pcm, seed, true));
      expect(got.frames).toEqual(reference.frames);
      expect(got.last).toEqual(reference.last);
    }
  });

  it('flushes the last partial frame zero-padded, with its real length, and keeps counting', () => {
    const a = new FrameAssembler(512);
    expect(a.push(pcm.subarray(0, 2 * 700))).toHaveLength(1);
    expect(a.receivedSamples).toBe(700);
    const last = a.flush()!;
    expect(last.startSample).toBe(512);
    expect(last.validSamples).toBe(188);
    expect(last.samples).toHaveLength(512);
    expect(Array.from(last.samples.subarray(0, 188))).toEqual(Array.from(expected.subarray(512, 700)));
    expect(last.samples.subarray(188).every((x) => x === 0)).toBe(true);
    expect(a.flush()).toBeNull();
    const next = a.push(pcm.subarray(0, 1024));
    expect(next[0]!.startSample).toBe(700);
    a.reset();
    expect(a.receivedSamples).toBe(0);
    expect(a.push(pcm.subarray(0, 1024))[0]!.startSample).toBe(0);
  });

  it('decodes PCM16 little-endian exactly', () => {
    const a = new FrameAssembler(4);
    const bytes = Uint8Array.from([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0xff, 0xff]);
    const [f] = a.push(bytes);
    expect(Array.from(f!.samples)).toEqual([-1, 32767 / 32768, 0, -1 / 32768]);
  });
});
