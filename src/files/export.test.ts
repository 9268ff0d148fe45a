import { describe, expect, it } from 'vitest';
import type { ConversationRecord } from './conversation.js';
import { exportConversation, parseSrt, timestamp } from './export.js';

const conv: ConversationRecord = {
  id: 'c1',
  title: 'interview.m4a',
  started_at: '2026-01-01T00:00:00.000Z',
  ended_at: '2026-01-01T00:01:00.000Z',
  duration_s: 3725.5,
  speakers: [
    { id: 0, name: 'Speaker 1' },
    { id: 1, name: 'Speaker 2' },
  ],
  segments: [
    { segment_id: 0, speaker_id: 0, start: 1.28, end: 3.328, text: ' Hello there.' },
    { segment_id: 1, speaker_id: 1, start: 3723.5, end: 3725.25, text: 'Two\nlines' },
    { segment_id: 2, speaker_id: null, start: 3725.3, end: 3725.5, text: '' },
  ],
};

describe('exports', () => {
  it('formats SRT and VTT timestamps, hours included', () => {
    expect(timestamp(3723.5, ',')).toBe('01:02:03,500');
    expect(timestamp(1.2805, '.')).toBe('00:00:01.281');
  });

  it('writes SRT that parses back with speakers on the cues', () => {
    const srt = exportConversation(conv, 'srt');
    const cues = parseSrt(srt);
    expect(cues.map((c) => c.index)).toEqual([1, 2, 3]);
    expect(cues[0]).toMatchObject({ startS: 1.28, endS: 3.328, text: 'Speaker 1: Hello there.' });
    expect(cues[1]).toMatchObject({ startS: 3723.5, text: 'Speaker 2: Two lines' });
    expect(cues[2]!.text).toBe('Unknown: …');
  });

  it('writes WebVTT with voice tags, plain text and the record as JSON', () => {
    const vtt = exportConversation(conv, 'vtt');
    expect(vtt.startsWith('WEBVTT\n\n00:00:01.280 --> 00:00:03.328\n<v Speaker 1>Hello there.\n')).toBe(true);
    expect(exportConversation(conv, 'txt')).toContain('[01:02:03] Speaker 2: Two\nlines');
    expect(JSON.parse(exportConversation(conv, 'json'))).toEqual(conv);
  });
});
