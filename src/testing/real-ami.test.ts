import { describe, expect, it } from 'vitest';
import { fixturePath } from './paths.js';
import { loadRealAmi, soloSpeech } from './real-ami.js';

describe('real-ami solo speech', () => {
  it('takes only the stretches where one speaker talks alone', () => {
    const f = loadRealAmi('trn01', fixturePath('real-ami'));
    expect(f.uem).toEqual({ startS: 0, endS: 30 });
    const solo = Object.fromEntries(soloSpeech(f).map((s) => [s.speaker, s.seconds]));
    // FEO066 talks alone at 2.98–3.37 s; at 28.59–30 s MÉO069 talks over her.
    expect(solo.FEO066).toBeCloseTo(0.39, 1);
    expect(solo['MÉO069']).toBe(0);
    expect(solo.MEE068).toBeCloseTo(0.96, 1);
  });
});
