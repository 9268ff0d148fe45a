/**
 * Exports of a conversation record: plain text, SRT, WebVTT, JSON — pure. The durable
 * conversation store has its own exporters; these serve the file path until it is merged
 * (`GET /api/transcriptions/:id/export`) and the command line.
 */
import type { ConversationRecord } from './conversation.js';

export type ExportFormat = 'txt' | 'srt' | 'vtt' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['txt', 'srt', 'vtt', 'json'];

export const EXPORT_MIME: Readonly<Record<ExportFormat, string>> = {
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

function speakerName(c: ConversationRecord, id: number | null): string {
  if (id === null) return 'Unknown';
  return c.speakers.find((s) => s.id === id)?.name ?? `Speaker ${id + 1}`;
}

/** `hh:mm:ss,mmm` (SRT) or `hh:mm:ss.mmm` (VTT). */
export function timestamp(seconds: number, sep: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (x: number, n = 2) => String(x).padStart(n, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

/** Cue text: one line, the speaker first (subtitle files have no other speaker field). */
function cueText(c: ConversationRecord, seg: ConversationRecord['segments'][number]): string {
  const text = seg.text.replace(/\s*\n\s*/g, ' ').trim();
  return `${speakerName(c, seg.speaker_id)}: ${text || '…'}`;
}

export function exportConversation(c: ConversationRecord, format: ExportFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(c, null, 2) + '\n';
    case 'txt':
      return (
        `${c.title}\n\n` +
        c.segments.map((s) => `[${timestamp(s.start, '.').slice(0, 8)}] ${speakerName(c, s.speaker_id)}: ${s.text.trim()}`).join('\n') +
        '\n'
      );
    case 'srt':
      return c.segments.map((s, i) => `${i + 1}\n${timestamp(s.start, ',')} --> ${timestamp(s.end, ',')}\n${cueText(c, s)}\n`).join('\n');
    case 'vtt':
      return (
        'WEBVTT\n\n' +
        c.segments
          .map((s) => `${timestamp(s.start, '.')} --> ${timestamp(s.end, '.')}\n<v ${speakerName(c, s.speaker_id)}>${cueText(c, s).replace(/^[^:]*: /, '')}\n`)
          .join('\n')
      );
  }
}

/** One SRT cue, parsed back (tests and tools). */
export interface SrtCue {
  index: number;
  startS: number;
  endS: number;
  text: string;
}

export function parseSrt(text: string): SrtCue[] {
  const toS = (t: string) => {
    const m = /(\d+):(\d\d):(\d\d)[,.](\d{3})/.exec(t)!;
    return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
  };
  return text
    .replace(/\r/g, '')
    .split(/\n\n+/)
    .map((b) => b.trim())
    .filter(Boolean)
    .map((b) => {
      const [idx, times, ...rest] = b.split('\n');
      const [a, z] = times!.split(' --> ');
      return { index: Number(idx), startS: toS(a!), endS: toS(z!), text: rest.join('\n') };
    });
}
