import { describe, expect, it } from 'vitest';
import { MAX_TEXT_FRAME_BYTES, parseClientMessage, samplesToSeconds } from './messages.js';

describe('parseClientMessage', () => {
  it('accepts every client message of the protocol', () => {
    const ok = [
      { type: 'start_speaker_registration', speaker_id: 0 },
      { type: 'start_speaker_registration', speaker_id: 1, name: 'Dr. Kim' },
      { type: 'complete_speaker_registration', speaker_id: 1 },
      { type: 'start_transcription' },
      { type: 'start_transcription', language: 'ko' },
      { type: 'start_transcription', language: 'auto' },
      { type: 'stop_transcription' },
      { type: 'start_transcription', conversation_id: 'AbCdEfGhIjKlMnOpQrSt_-', last_segment_id: -1 },
      { type: 'start_transcription', language: 'en', conversation_id: 'AbCdEfGhIjKlMnOpQrSt_-', last_segment_id: 12 },
      { type: 'save_voice', speaker_id: 0, name: 'Dr. Kim' },
      { type: 'save_voice', speaker_id: 1 },
      { type: 'use_saved_voice', speaker_id: 1, voice_id: 'AbCdEfGhIjKlMnOpQrSt_-' },
    ];
    for (const m of ok) expect(parseClientMessage(JSON.stringify(m))).toEqual({ ok: true, message: m });
  });

  it.each([
    ['not json', '{oops', 'bad_json'],
    ['a bare string', '"hello"', 'bad_json'],
    ['an array', '[1,2]', 'bad_json'],
    ['null', 'null', 'bad_json'],
    ['no type', '{"speaker_id":0}', 'unknown_type'],
    ['unknown type', '{"type":"dance"}', 'unknown_type'],
    ['speaker 2', '{"type":"start_speaker_registration","speaker_id":2}', 'bad_message'],
    ['speaker as string', '{"type":"complete_speaker_registration","speaker_id":"0"}', 'bad_message'],
    ['long name', JSON.stringify({ type: 'start_speaker_registration', speaker_id: 0, name: 'x'.repeat(41) }), 'bad_message'],
    ['bad language', '{"type":"start_transcription","language":"english"}', 'bad_message'],
    ['extra field', '{"type":"stop_transcription","now":true}', 'bad_message'],
    ['malformed conversation id', '{"type":"start_transcription","conversation_id":"../../x"}', 'bad_message'],
    ['last_segment_id below -1', '{"type":"start_transcription","conversation_id":"AbCdEfGhIjKlMnOpQrSt_-","last_segment_id":-2}', 'bad_message'],
    ['voice without id', '{"type":"use_saved_voice","speaker_id":0}', 'bad_message'],
    ['deep nesting', `{"type":"stop_transcription","x":${'['.repeat(500)}${']'.repeat(500)}}`, 'bad_message'],
    ['oversized', JSON.stringify({ type: 'stop_transcription', pad: 'x'.repeat(MAX_TEXT_FRAME_BYTES) }), 'frame_too_large'],
  ])('refuses %s with a code', (_name, text, code) => {
    const r = parseClientMessage(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.message.length).toBeGreaterThan(0);
    }
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 500; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      expect(() => parseClientMessage(bytes.toString('utf8'))).not.toThrow();
    }
  });
});

describe('samplesToSeconds', () => {
  it('rounds to milliseconds', () => {
    expect(samplesToSeconds(16_000)).toBe(1);
    expect(samplesToSeconds(8)).toBe(0.001);
    expect(samplesToSeconds(12_345)).toBe(0.772);
  });
});
