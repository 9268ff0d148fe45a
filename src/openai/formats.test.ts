import { describe, expect, it } from 'vitest';
import type { ConversationRecord } from '../files/conversation.js';
import { errorBody, formatTranscription, RESPONSE_FORMATS, type TranscriptionOutcome } from './formats.js';

const conversation: ConversationRecord = {
  id: 'c',
  title: 'talk.wav',
  started_at: '2026-12-07T00:00:00.000Z',
  ended_at: '2026-12-07T00:00:10.000Z',
  duration_s: 9.2004,
  speakers: [
    { id: 0, name: 'Speaker 1' },
    { id: 1, name: 'Speaker 2' },
  ],
  segments: [
    { segment_id: 0, speaker_id: 0, start: 0.5, end: 2.25, text: ' Hello\nthere. ' },
    { segment_id: 1, speaker_id: 1, start: 2.5, end: 4, text: '' },
    { segment_id: 2, speaker_id: 1, start: 4.1, end: 6.0001, text: 'Hi.' },
    { segment_id: 3, speaker_id: null, start: 6.5, end: 7, text: 'Who?' },
  ],
};
const outcome = (over: Partial<TranscriptionOutcome> = {}): TranscriptionOutcome => ({ conversation, labels: ['A', 'B'], language: 'en', withText: true, ...over });

describe('formatTranscription', () => {
  it('json: text of the recognised parts and the duration used', () => {
    const b = formatTranscription(outcome(), 'json');
    expect(b.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(b.text)).toEqual({ text: 'Hello there. Hi. Who?', usage: { type: 'duration', seconds: 10 } });
  });

  it('diarized_json: labels, unknown voices, millisecond times, parts without text left out', () => {
    const d = JSON.parse(formatTranscription(outcome({ labels: ['Ana', 'Ben'] }), 'diarized_json').text);
    expect(d).toEqual({
      task: 'transcribe',
      duration: 9.2,
      text: 'Hello there. Hi. Who?',
      segments: [
        { type: 'transcript.text.segment', id: 'seg_0', start: 0.5, end: 2.25, speaker: 'Ana', text: 'Hello there.' },
        { type: 'transcript.text.segment', id: 'seg_1', start: 4.1, end: 6, speaker: 'Ben', text: 'Hi.' },
        { type: 'transcript.text.segment', id: 'seg_2', start: 6.5, end: 7, speaker: 'unknown', text: 'Who?' },
      ],
      usage: { type: 'duration', seconds: 10 },
    });
  });

  it('keeps every part in diarization-only mode (all texts empty)', () => {
    const silent = { ...conversation, segments: conversation.segments.map((s) => ({ ...s, text: '' })) };
    const d = JSON.parse(formatTranscription(outcome({ conversation: silent, withText: false }), 'diarized_json').text);
    expect(d.segments).toHaveLength(4);
    expect(d.text).toBe('');
  });

  it('verbose_json, text, srt and vtt', () => {
    const v = JSON.parse(formatTranscription(outcome(), 'verbose_json').text);
    expect(v).toMatchObject({ task: 'transcribe', language: 'en', duration: 9.2, text: 'Hello there. Hi. Who?' });
    expect(v.segments[1]).toEqual({ id: 1, seek: 410, start: 4.1, end: 6, text: 'Hi.', tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 1, no_speech_prob: 0, speaker: 'B' });
    expect(formatTranscription(outcome(), 'text').text).toBe('Hello there. Hi. Who?\n');
    const srt = formatTranscription(outcome(), 'srt').text;
    expect(srt.startsWith('1\n00:00:00,500 --> 00:00:02,250\nA: Hello there.\n')).toBe(true);
    expect(srt).not.toContain('00:00:02,500');
    expect(formatTranscription(outcome(), 'vtt').text).toContain('00:00:04.100 --> 00:00:06.000\n<v B>Hi.\n');
    expect(RESPONSE_FORMATS).toHaveLength(6);
  });

  it('errors in OpenAI\'s shape, typed by status', () => {
    expect(JSON.parse(errorBody(400, 'missing_file', 'no file', 'file'))).toEqual({ error: { message: 'no file', type: 'invalid_request_error', param: 'file', code: 'missing_file' } });
    expect(JSON.parse(errorBody(503, 'busy', 'later')).error.type).toBe('server_overloaded');
    expect(JSON.parse(errorBody(500, 'internal', 'bug')).error.type).toBe('server_error');
    expect(JSON.parse(errorBody(429, 'rate_limited', 'slow down')).error.type).toBe('rate_limit_error');
  });
});
