/**
 * Exports of a stored conversation: TXT (one line per turn), SRT and WebVTT (one cue per
 * segment), JSON (the stored record). Pure: record in, text out.
 *
 * Times are conversation-relative. Cues are made monotonic: a cue never starts before the
 * previous one ends and always lasts at least 1 ms, so players never see overlaps or time
 * running backwards. Segments whose text is "" (recognised as non-speech) are left out;
 * segments without text (diarization-only mode, or not transcribed yet) show "…".
 */
import type { ConversationRecord, StoredSegment } from './types.js';

export const EXPORT_FORMATS = ['txt', 'srt', 'vtt', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_TYPES: Record<ExportFormat, string> = {
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/** A speaker's display name: the stored name, else "Speaker 1" / "Speaker 2". */
export function speakerName(rec: ConversationRecord, id: 0 | 1 | null): string {
  if (id === null) return 'Unknown speaker';
  const name = rec.speakers.find((s) => s.id === id)?.name?.trim();
  return name ? name : `Speaker ${id + 1}`;
}

interface Cue {
  startMs: number;
  endMs: number;
  speakerId: 0 | 1 | null;
  text: string;
}

/** One line of text: no line breaks (a blank line would end an SRT/VTT cue), single spaces. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The exportable segments as cues that never overlap nor run backwards. */
export function cuesOf(segments: readonly StoredSegment[]): Cue[] {
  const sorted = segments
    .filter((s) => s.text === null || oneLine(s.text) !== '')
    .slice()
    .sort((a, b) => a.start - b.start || a.segment_id - b.segment_id);
  const cues: Cue[] = [];
  let prevEnd = 0;
  for (const s of sorted) {
    const startMs = Math.max(prevEnd, Math.round(Math.max(0, s.start) * 1000));
    const endMs = Math.max(startMs + 1, Math.round(s.end * 1000));
    cues.push({ startMs, endMs, speakerId: s.speaker_id, text: s.text === null ? '…' : oneLine(s.text) });
    prevEnd = endMs;
  }
  return cues;
}

/** `HH:MM:SS` + separator + `mmm`. */
function clock(ms: number, sep: ',' | '.'): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function toSrt(rec: ConversationRecord): string {
  return cuesOf(rec.segments)
    .map((c, i) => `${i + 1}\n${clock(c.startMs, ',')} --> ${clock(c.endMs, ',')}\n${oneLine(speakerName(rec, c.speakerId))}: ${c.text}\n`)
    .join('\n');
}

export function toVtt(rec: ConversationRecord): string {
  const cues = cuesOf(rec.segments).map(
    (c) => `${clock(c.startMs, '.')} --> ${clock(c.endMs, '.')}\n<v ${escapeVtt(oneLine(speakerName(rec, c.speakerId)))}>${escapeVtt(c.text)}\n`,
  );
  return ['WEBVTT\n', ...cues].join('\n');
}

/** One line per turn (consecutive segments of one speaker): `[HH:MM:SS] Name: text`. */
export function toTxt(rec: ConversationRecord): string {
  const lines: string[] = [];
  let turn: { speakerId: 0 | 1 | null; startMs: number; texts: string[] } | null = null;
  const close = () => {
    if (turn) lines.push(`[${clock(turn.startMs, '.').slice(0, 8)}] ${oneLine(speakerName(rec, turn.speakerId))}: ${turn.texts.join(' ')}`);
  };
  for (const c of cuesOf(rec.segments)) {
    if (turn && turn.speakerId === c.speakerId) {
      turn.texts.push(c.text);
      continue;
    }
    close();
    turn = { speakerId: c.speakerId, startMs: c.startMs, texts: [c.text] };
  }
  close();
  const title = rec.title ? `${oneLine(rec.title)}\n` : '';
  return `${title}${rec.started_at}\n\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
}

export function exportConversation(rec: ConversationRecord, format: ExportFormat): string {
  switch (format) {
    case 'txt':
      return toTxt(rec);
    case 'srt':
      return toSrt(rec);
    case 'vtt':
      return toVtt(rec);
    case 'json':
      return JSON.stringify(rec, null, 2) + '\n';
  }
}
