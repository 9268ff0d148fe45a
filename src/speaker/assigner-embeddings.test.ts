/**
 * No stretch of a segment's audio is embedded twice while it is assigned (whole, split, parts,
 * merged parts, the tail kept as the next turn's neighbour, auto-enrollment's second pass).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SpeakerAssigner } from './assigner.js';
import { BuiltinSpeakerEncoder } from './builtin.js';
import { enrollSpeaker, type SpeakerProfile } from './profile.js';
import { concat } from '../testing/signals.js';
import { trimSilence, utterance } from '../testing/dev-utterances.js';
import { countingEncoder, repeatedCalls as repeated } from '../testing/counting-encoder.js';


describe('SpeakerAssigner embeds each stretch of a segment once', () => {
  const builtin = new BuiltinSpeakerEncoder();
  const profiles: SpeakerProfile[] = [];
  beforeAll(async () => {
    await builtin.load();
    for (const spk of ['1688', '2033']) {
      const r = await enrollSpeaker(builtin, concat(utterance(spk, 0), utterance(spk, 1)));
      if (!r.ok) throw new Error(r.reason);
      profiles.push(r.profile);
    }
  });

  it('through a split into two parts, the whole and the tail', async () => {
    const enc = countingEncoder(builtin);
    const a = new SpeakerAssigner(enc, { threshold: 0.6, clusterMinParts: 2, clusterMinS: 1 });
    a.setProfile(0, profiles[0]!);
    a.setProfile(1, profiles[1]!);
    const x = trimSilence(utterance('1688', 3)).subarray(0, 4 * 16_000);
    const y = trimSilence(utterance('2033', 3)).subarray(0, 3.5 * 16_000);
    const start = 50_000;
    let at = start;
    for (const audio of [concat(x, y), concat(y, x), trimSilence(utterance('2033', 4))]) {
      const from = enc.calls.length;
      const parts = await a.assign({ startSample: at, endSample: at + audio.length, audio, audioStartSample: at });
      const calls = enc.calls.slice(from);
      // The whole, the windows, the parts (and the tail, which is one of them): all embedded, none twice.
      expect(calls.length).toBeGreaterThan(audio.length > 6 * 16_000 ? 10 : 0);
      expect(repeated(calls)).toEqual([]);
      if (audio.length > 6 * 16_000) expect(parts.length).toBe(2);
      at += audio.length + 16_000;
    }
  });

  it('when the same segment is enrolled from and then assigned twice (auto-enrollment)', async () => {
    const enc = countingEncoder(builtin);
    const a = new SpeakerAssigner(enc, { threshold: 0.6 });
    a.setProfile(0, profiles[0]!);
    const audio = trimSilence(utterance('2033', 4));
    const seg = { startSample: 0, endSample: audio.length, audio, audioStartSample: 0 };
    // As the room does: a first pass with one voice, the voice taken from the segment, the real pass.
    await a.assign(seg);
    const r = await enrollSpeaker(a.encoderFor(seg), audio, { other: profiles[0]! });
    if (!r.ok) throw new Error(r.reason);
    a.setProfile(1, r.profile);
    const parts = await a.assign(seg);
    expect(parts[0]!.speakerId).toBe(1);
    expect(repeated(enc.calls)).toEqual([]);
    // Another segment's audio, even equal to this one, is its own (and the counter sees the repeats).
    const before = enc.calls.length;
    await a.assign({ ...seg, audio: Float32Array.from(audio) });
    expect(repeated(enc.calls)).toEqual(enc.calls.slice(before));
  });
});
