import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fromRoot } from '../paths.js';
import { BuiltinSpeakerEncoder } from './builtin.js';
import { encoderTag, modelVersion } from './types.js';
import { utterance } from '../testing/dev-utterances.js';
import { cosine } from './matcher.js';

describe('BuiltinSpeakerEncoder on real speech', () => {
  const enc = new BuiltinSpeakerEncoder();
  beforeAll(() => enc.load());

  it('loads the shipped model', () => {
    expect(enc.name).toBe('builtin-mfcc-lda');
    expect(enc.dim).toBeGreaterThan(8);
  });

  it('has a version: the short hash of its model file, so a retrained model under the same name differs', async () => {
    const file = readFileSync(fromRoot('models/builtin/speaker-lda.json'), 'utf8');
    expect(enc.version).toBe(modelVersion(file));
    expect(encoderTag(enc)).toMatch(/^builtin-mfcc-lda@[0-9a-f]{12}$/);
    const model = JSON.parse(file) as { projection: number[] };
    model.projection[0]! += 1e-3;
    const retrained = new BuiltinSpeakerEncoder(model as never);
    await retrained.load();
    expect(retrained.name).toBe(enc.name);
    expect(retrained.version).toMatch(/^[0-9a-f]{12}$/);
    expect(retrained.version).not.toBe(enc.version);
  });

  it('gives unit-length, deterministic embeddings, even for 0.1 s', async () => {
    const x = utterance('1688', 2);
    const a = await enc.embed(x);
    const b = await enc.embed(x);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    const tiny = await enc.embed(x.subarray(16_000, 17_600));
    expect(tiny.every(Number.isFinite)).toBe(true);
  });

  it('scores same-speaker utterances above different-speaker ones (1688 vs 2033, both male)', async () => {
    const e = async (s: string, i: number) => enc.embed(utterance(s, i));
    const [a2, a3, a4, b2, b3, b4] = await Promise.all([e('1688', 2), e('1688', 3), e('1688', 4), e('2033', 2), e('2033', 3), e('2033', 4)]);
    const same = [cosine(a2, a3), cosine(a2, a4), cosine(a3, a4), cosine(b2, b3), cosine(b2, b4), cosine(b3, b4)];
    const diff = [a2, a3, a4].flatMap((a) => [b2, b3, b4].map((b) => cosine(a, b)));
    expect(Math.min(...same)).toBeGreaterThan(Math.max(...diff));
  });

  it('scores the same speaker above the other for female voices too (1998 vs 3080)', async () => {
    const e = async (s: string, i: number) => enc.embed(utterance(s, i));
    const [a, a2, b] = await Promise.all([e('1998', 2), e('1998', 5), e('3080', 2)]);
    expect(cosine(a, a2)).toBeGreaterThan(cosine(a, b) + 0.2);
  });

  it('window embeddings match whole embeddings of the same span', async () => {
    const x = utterance('2033', 3).subarray(0, 48_000);
    const wins = await enc.embedWindows(x, 48_000, 8_000);
    expect(wins).toHaveLength(1);
    expect(cosine(wins[0]!.embedding, await enc.embed(x))).toBeGreaterThan(0.999);
    const many = await enc.embedWindows(x, 16_000, 4_000);
    expect(many[0]!.startSample).toBe(0);
    expect(many[many.length - 1]!.endSample).toBe(48_000);
  });
});
