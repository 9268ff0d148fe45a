import { describe, expect, it } from 'vitest';
import { addSpeechScores, falseAlarmRate, missedRate, parseUem, scoreSpeech } from './speech.js';

describe('scoreSpeech', () => {
  it('counts missed and false-alarm time outside the collars, inside the UEM', () => {
    const ref = [{ startS: 1, endS: 5 }];
    // Hypothesis misses 2–3 s and adds 7–8 s.
    const hyp = [{ startS: 1, endS: 2 }, { startS: 3, endS: 5 }, { startS: 7, endS: 8 }];
    const s = scoreSpeech(ref, hyp, { uem: [{ startS: 0, endS: 10 }] });
    // Scored speech: 1.25–4.75 s = 3.5 s; non-speech: 10 − 4 − 0.5 (collars outside speech) = 5.5 s.
    expect(s.speechS).toBeCloseTo(3.5, 6);
    expect(s.nonSpeechS).toBeCloseTo(5.5, 6);
    expect(s.missedS).toBeCloseTo(1, 6);
    expect(s.falseAlarmS).toBeCloseTo(1, 6);
    expect(missedRate(s)).toBeCloseTo(1 / 3.5, 6);
    expect(falseAlarmRate(s)).toBeCloseTo(1 / 3.5, 6);
  });

  it('takes the union of overlapping speakers and scores only the UEM', () => {
    const ref = [{ startS: 0, endS: 4 }, { startS: 2, endS: 6 }, { startS: 20, endS: 30 }];
    const s = scoreSpeech(ref, [], { uem: [{ startS: 0, endS: 10 }], collarS: 0 });
    expect(s.speechS).toBeCloseTo(6, 6);
    expect(s.missedS).toBeCloseTo(6, 6);
    expect(s.nonSpeechS).toBeCloseTo(4, 6);
    const both = addSpeechScores([s, s]);
    expect(both.speechS).toBeCloseTo(12, 6);
    expect(missedRate(both)).toBe(1);
  });

  it('parses UEM lines per file', () => {
    const u = parseUem('a NA 0.000 30.000\nb 1 1.5 2.5\nbad line\nb 1 3 4\n');
    expect(u.get('a')).toEqual([{ startS: 0, endS: 30 }]);
    expect(u.get('b')).toEqual([{ startS: 1.5, endS: 2.5 }, { startS: 3, endS: 4 }]);
  });
});
