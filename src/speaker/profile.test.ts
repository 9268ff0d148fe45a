import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BuiltinSpeakerEncoder } from './builtin.js';
import { concat } from '../testing/signals.js';
import { DEV_LIBRISPEECH_DIR, utterance } from '../testing/dev-utterances.js';
import { enrollSpeaker, subWindowStarts, type SpeakerProfile } from './profile.js';

describe('subWindowStarts', () => {
  it('covers the audio with overlapping windows, the last ending at the end', () => {
    expect(subWindowStarts(10, 20, 5)).toEqual([0]);
    expect(subWindowStarts(100, 40, 20)).toEqual([0, 20, 40, 60]);
    expect(subWindowStarts(105, 40, 20)).toEqual([0, 20, 40, 60, 65]);
  });
});

describe.skipIf(!existsSync(DEV_LIBRISPEECH_DIR))('enrollSpeaker', () => {
  const enc = new BuiltinSpeakerEncoder();
  let first: SpeakerProfile;
  beforeAll(async () => {
    await enc.load();
    const r = await enrollSpeaker(enc, concat(utterance('1688', 0), utterance('1688', 1)));
    if (!r.ok) throw new Error(r.reason);
    first = r.profile;
  });

  it('builds a profile with several sub-window embeddings', () => {
    expect(first.embeddings.length).toBeGreaterThanOrEqual(3);
    expect(first.speechSeconds).toBeGreaterThan(5);
    expect(first.encoder).toBe('builtin-mfcc-lda');
  });

  it('fails with too_quiet when there is no speech', async () => {
    expect(await enrollSpeaker(enc, new Float32Array(0))).toMatchObject({ ok: false, reason: 'too_quiet' });
    expect(await enrollSpeaker(enc, new Float32Array(48_000), { gate: { totalFrames: 100, speechFrames: 0 } })).toMatchObject({ ok: false, reason: 'too_quiet' });
  });

  it('fails with too_short under 2 s of speech', async () => {
    const r = await enrollSpeaker(enc, utterance('2033', 2).subarray(0, 1.5 * 16_000));
    expect(r).toMatchObject({ ok: false, reason: 'too_short' });
    expect(r.speechSeconds).toBeCloseTo(1.5, 6);
  });

  it('refuses the same person enrolled twice (from other utterances) as too_similar', async () => {
    const r = await enrollSpeaker(enc, concat(utterance('1688', 5), utterance('1688', 6)), { other: first });
    expect(r).toMatchObject({ ok: false, reason: 'too_similar' });
  });

  it('accepts two different people of the same sex', async () => {
    const male = await enrollSpeaker(enc, concat(utterance('2033', 0), utterance('2033', 1)), { other: first });
    expect(male.ok).toBe(true);
    const f1 = await enrollSpeaker(enc, concat(utterance('1998', 0), utterance('1998', 1)));
    if (!f1.ok) throw new Error(f1.reason);
    const f2 = await enrollSpeaker(enc, concat(utterance('3080', 0), utterance('3080', 1)), { other: f1.profile });
    expect(f2.ok).toBe(true);
    expect(f2.similarityToOther).toBeLessThan(0.7);
  });
});
