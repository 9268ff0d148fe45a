import { describe, expect, it } from 'vitest';
import { parseInference } from './client.js';

describe('parseInference (whisper-server answers)', () => {
  it('reads verbose_json: text joined by spaces, per-segment confidence', () => {
    const body = JSON.stringify({
      task: 'transcribe',
      language: 'english',
      duration: 2,
      text: ' Thank you.\n So long.\n',
      segments: [
        { id: 0, text: ' Thank you.', tokens: [1, 2], avg_logprob: -0.21, no_speech_prob: 0.013 },
        { id: 1, text: ' So long.', tokens: [3], avg_logprob: -0.4, no_speech_prob: 0.2 },
      ],
    });
    expect(parseInference(body)).toEqual({
      text: 'Thank you. So long.',
      segments: [
        { text: 'Thank you.', noSpeechProb: 0.013, avgLogprob: -0.21 },
        { text: 'So long.', noSpeechProb: 0.2, avgLogprob: -0.4 },
      ],
    });
  });

  it('reads missing or non-numeric confidence as none (a NaN average is serialised as null)', () => {
    const r = parseInference(JSON.stringify({ text: ' you', segments: [{ text: ' you', avg_logprob: null }] }));
    expect(r?.segments).toEqual([{ text: 'you', noSpeechProb: 1, avgLogprob: -Infinity }]);
  });

  it('reads plain json without segments', () => {
    expect(parseInference('{"text":" Hello.\\n"}')).toEqual({ text: 'Hello.', segments: [] });
  });

  it("reads the patched server's wait for the model, ignoring a bad one", () => {
    expect(parseInference('{"text":" Hi","duet_wait_ms":12.5}')).toEqual({ text: 'Hi', segments: [], engineWaitMs: 12.5 });
    expect(parseInference('{"text":" Hi","duet_wait_ms":-1}')).toEqual({ text: 'Hi', segments: [] });
    expect(parseInference('{"text":" Hi","duet_wait_ms":"5"}')).toEqual({ text: 'Hi', segments: [] });
  });

  it('is null for anything else', () => {
    expect(parseInference('')).toBeNull();
    expect(parseInference('<html>')).toBeNull();
    expect(parseInference('{"error":"unauthorized"}')).toBeNull();
    expect(parseInference('null')).toBeNull();
    expect(parseInference('[1]')).toBeNull();
  });
});
