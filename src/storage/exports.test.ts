import { describe, expect, it } from 'vitest';
import { cuesOf, exportConversation, toSrt, toTxt, toVtt } from './exports.js';
import type { ConversationRecord, StoredSegment } from './types.js';

function record(segments: StoredSegment[]): ConversationRecord {
  return {
    id: 'AAAAAAAAAAAAAAAAAAAAAA',
    title: 'Intake <1>',
    started_at: '2026-03-01T09:00:00.000Z',
    ended_at: '2026-03-01T09:10:00.000Z',
    language: 'en',
    models: { asr: 'fake', speaker: 'enc', vad: 'silero-v4' },
    speakers: [
      { id: 0, name: 'Dr. <Kim> & co' },
      { id: 1, name: null },
    ],
    audio_s: 600,
    audio_file: null,
    duration_s: 600,
    segments,
  };
}

const seg = (segment_id: number, speaker_id: 0 | 1 | null, start: number, end: number, text: string | null): StoredSegment => ({ segment_id, speaker_id, start, end, text });

/** Parses SRT strictly: numbered blocks, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, one or more text lines. */
function parseSrt(text: string) {
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n\n').map((block, i) => {
    const lines = block.split('\n');
    expect(lines[0]).toBe(String(i + 1));
    const m = /^(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)$/.exec(lines[1]!);
    expect(m, `bad timing line ${lines[1]}`).not.toBeNull();
    const ms = (a: number) => ((Number(m![a]) * 60 + Number(m![a + 1])) * 60 + Number(m![a + 2])) * 1000 + Number(m![a + 3]);
    const body = lines.slice(2);
    expect(body.length).toBeGreaterThan(0);
    for (const l of body) expect(l.trim()).not.toBe('');
    return { start: ms(1), end: ms(5), text: body.join('\n') };
  });
}

/** Parses WebVTT: header, blank line, cues `HH:MM:SS.mmm --> HH:MM:SS.mmm` + `<v Name>text`. */
function parseVtt(text: string) {
  const [header, ...blocks] = text.trimEnd().split('\n\n');
  expect(header).toBe('WEBVTT');
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return blocks.map((block) => {
    const [timing, ...body] = block.split('\n');
    const m = /^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$/.exec(timing!);
    expect(m, `bad timing line ${timing}`).not.toBeNull();
    const ms = (a: number) => ((Number(m![a]) * 60 + Number(m![a + 1])) * 60 + Number(m![a + 2])) * 1000 + Number(m![a + 3]);
    expect(body).toHaveLength(1);
    const v = /^<v ([^>]*)>(.*)$/.exec(body[0]!);
    expect(v, `no voice span in ${body[0]}`).not.toBeNull();
    // Outside the voice tag no raw markup characters may remain.
    expect(v![1]).not.toMatch(/[<>]/);
    expect(v![2]).not.toMatch(/[<>]/);
    expect(body[0]).not.toContain('-->');
    return { start: ms(1), end: ms(5), name: unescape(v![1]!), text: unescape(v![2]!) };
  });
}

describe('exports', () => {
  const rec = record([
    seg(0, 0, 0.5, 2.25, 'Hello, how are <you> & co?'),
    seg(1, 1, 2.0, 3.0, 'Fine.\n\nThanks --> really'), // overlaps the previous one and holds a blank line
    seg(2, 1, 3.0, 3.0, 'Zero length.'),
    seg(3, null, 3.5, 4.0, ''), // non-speech: left out
    seg(4, 0, 3661.5, 3662.25, null), // not transcribed
  ]);

  it('SRT parses back: cues in order, never overlapping, Name: text, no blank line inside a cue', () => {
    const cues = parseSrt(toSrt(rec));
    expect(cues.map((c) => c.text)).toEqual([
      'Dr. <Kim> & co: Hello, how are <you> & co?',
      'Speaker 2: Fine. Thanks --> really',
      'Speaker 2: Zero length.',
      'Dr. <Kim> & co: …',
    ]);
    expect(cues[0]).toMatchObject({ start: 500, end: 2250 });
    expect(cues[3]).toMatchObject({ start: 3_661_500, end: 3_662_250 });
    for (let i = 0; i < cues.length; i++) {
      expect(cues[i]!.end).toBeGreaterThan(cues[i]!.start);
      if (i > 0) expect(cues[i]!.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
    }
  });

  it('VTT parses back with <v Name> spans and &, <, > escaped', () => {
    const text = toVtt(rec);
    expect(text.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = parseVtt(text);
    expect(cues.map((c) => [c.name, c.text])).toEqual([
      ['Dr. <Kim> & co', 'Hello, how are <you> & co?'],
      ['Speaker 2', 'Fine. Thanks --> really'],
      ['Speaker 2', 'Zero length.'],
      ['Dr. <Kim> & co', '…'],
    ]);
    expect(text).toContain('<v Dr. &lt;Kim&gt; &amp; co>Hello, how are &lt;you&gt; &amp; co?');
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
  });

  it('cues never run backwards even when segments come out of order', () => {
    const cues = cuesOf([seg(1, 0, 5, 6, 'b'), seg(0, 1, 1, 2, 'a'), seg(2, 0, 5.5, 5.7, 'c')]);
    expect(cues.map((c) => [c.text, c.startMs, c.endMs])).toEqual([
      ['a', 1000, 2000],
      ['b', 5000, 6000],
      ['c', 6000, 6001],
    ]);
  });

  it('TXT has one line per turn with its name and time; JSON is the record', () => {
    const txt = toTxt(rec);
    expect(txt.split('\n')).toEqual([
      'Intake <1>',
      '2026-03-01T09:00:00.000Z',
      '',
      '[00:00:00] Dr. <Kim> & co: Hello, how are <you> & co?',
      '[00:00:02] Speaker 2: Fine. Thanks --> really Zero length.',
      '[01:01:01] Dr. <Kim> & co: …',
      '',
    ]);
    expect(JSON.parse(exportConversation(rec, 'json'))).toEqual(rec);
  });
});
