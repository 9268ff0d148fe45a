import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/constants.js';
import { concat, mix, silence, tone, whiteNoise } from '../testing/signals.js';
import { RoomLevels, type FrameVerdict } from './room-levels.js';

/** Judges every whole frame of `x` with the probability `prob(t)` (t in seconds); the verdicts. */
function verdicts(room: RoomLevels, x: Float32Array, prob: (t: number) => number): Array<FrameVerdict | null> {
  const out: Array<FrameVerdict | null> = [];
  for (let at = 0; at + FRAME_SAMPLES <= x.length; at += FRAME_SAMPLES) {
    const f = x.subarray(at, at + FRAME_SAMPLES);
    out.push(room.judge(f, f, at, prob(at / SAMPLE_RATE)).verdict);
  }
  return out;
}
const frameAt = (s: number) => Math.floor((s * SAMPLE_RATE) / FRAME_SAMPLES);

describe('RoomLevels: one verdict per frame', () => {
  it('names silence, the noise floor and a flat spectrum, in that order', () => {
    const room = new RoomLevels();
    const x = concat(silence(0.5), whiteNoise({ durationS: 4, dbfs: -40, seed: 1 }));
    const v = verdicts(room, x, () => 1);
    expect(v[frameAt(0.2)]).toBe('silence');
    // After the floor window the steady noise is the floor.
    expect(v[frameAt(4)]).toBe('noise_floor');
    // Early in the noise, above the silent floor but spectrally flat.
    expect(v.slice(frameAt(0.6), frameAt(1.5))).toContain('flat');
  });

  it('calls distant babble between turns noisy_room once it knows the conversation, and never the voices', () => {
    // Every 3 s: a voice at about −21 dBFS for 2 s, the room alone (−52 dBFS) for 0.3 s, then a
    // distant babble 6 dB over the room for 0.7 s, which the gates let through.
    const voice = (s: number) => mix(tone({ durationS: s, frequencyHz: 220, dbfs: -23 }), tone({ durationS: s, frequencyHz: 660, dbfs: -26 }), tone({ durationS: s, frequencyHz: 1500, dbfs: -30 }));
    const babble = (s: number) => mix(tone({ durationS: s, frequencyHz: 310, dbfs: -50 }), tone({ durationS: s, frequencyHz: 930, dbfs: -53 }), tone({ durationS: s, frequencyHz: 2100, dbfs: -56 }));
    const parts: Float32Array[] = [];
    for (let k = 0; k < 6; k++) parts.push(voice(2), silence(0.3), babble(0.7));
    const x = mix(concat(...parts), whiteNoise({ durationS: 18, dbfs: -52, seed: 2 }));
    const prob = (t: number) => (t % 3 < 2 ? 0.95 : 0.6);
    const v = verdicts(new RoomLevels(), x, prob);
    const inBabble = (k: number) => v.slice(frameAt(3 * k + 2.55), frameAt(3 * k + 2.95));
    expect(inBabble(0)).not.toContain('noisy_room'); // not yet: 2 s of confident speech first
    for (const k of [2, 3, 4, 5]) expect(inBabble(k).filter((x) => x !== 'noisy_room'), `babble ${k}`).toEqual([]);
    for (let k = 0; k < 6; k++) expect(v.slice(frameAt(3 * k + 0.5), frameAt(3 * k + 1.9)).filter((x) => x === 'noisy_room'), `turn ${k}`).toEqual([]);
    // Off (0), the same babble passes.
    const off = verdicts(new RoomLevels({ quietBelowConversationDb: 0 }), x, prob);
    expect(off).not.toContain('noisy_room');
    expect(off.slice(frameAt(3 * 4 + 2.55), frameAt(3 * 4 + 2.95)).every((x) => x === null)).toBe(true);
  });

  it('gives the segmenter the floor it measures onsets against, and forgets it all on reset', () => {
    const room = new RoomLevels();
    verdicts(room, concat(whiteNoise({ durationS: 2, dbfs: -60, seed: 3 }), tone({ durationS: 1, dbfs: -20 })), () => 0.9);
    expect(room.onsetFloorDbfs()).toBeLessThan(-55);
    expect(room.onsetFloorDbfs()).toBeGreaterThan(-70);
    expect(room.noiseFloor).not.toBeNull();
    room.reset();
    expect(room.noiseFloor).toBeNull();
    expect(room.speechLevel).toBeNull();
    expect(room.noisyRoom()).toBe(false);
  });

  it('rejects nonsense settings, naming them', () => {
    expect(() => new RoomLevels({ conversationPercentile: 120 })).toThrow(/conversationPercentile/);
    expect(() => new RoomLevels({ noisyRoomSnrDb: -1 })).toThrow(/noisyRoomSnrDb/);
    expect(() => new RoomLevels({ levelSmoothingMs: Number.NaN })).toThrow(/levelSmoothingMs/);
  });
});
