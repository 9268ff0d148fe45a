/**
 * The response bodies of `POST /v1/audio/transcriptions`, in the shapes OpenAI's API documents
 * for each `response_format`, built from a finished file transcription. Pure: record in, body
 * out. Times are seconds from the file's start.
 */
import type { ConversationRecord } from '../files/conversation.js';
import { exportConversation } from '../files/export.js';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json', 'diarized_json'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

export function isResponseFormat(value: string): value is ResponseFormat {
  return (RESPONSE_FORMATS as readonly string[]).includes(value);
}

/** What a body is built from. */
export interface TranscriptionOutcome {
  conversation: ConversationRecord;
  /** Label of speaker 0 and 1 (`A`/`B`, or the known speakers' names). */
  labels: readonly [string, string];
  /** The language asked for (`auto` when none was). */
  language: string;
  /** Whether text was recognised at all (false in diarization-only mode). */
  withText: boolean;
}

/** Label of a part whose voice matched neither known speaker. */
export const UNKNOWN_SPEAKER = 'unknown';

export interface Body {
  contentType: string;
  text: string;
}

interface Part {
  speaker: string;
  start: number;
  end: number;
  text: string;
}

/** Seconds rounded to the millisecond, so bodies do not carry float noise. */
const sec = (s: number) => Math.round(s * 1000) / 1000;

/** The parts to report: with recognition, parts recognised as non-speech ('') are left out. */
function partsOf(o: TranscriptionOutcome): Part[] {
  return o.conversation.segments
    .filter((s) => !o.withText || s.text.trim() !== '')
    .map((s) => ({
      speaker: s.speaker_id === null ? UNKNOWN_SPEAKER : (o.labels[s.speaker_id] ?? UNKNOWN_SPEAKER),
      start: sec(s.start),
      end: sec(s.end),
      text: s.text.replace(/\s+/g, ' ').trim(),
    }));
}

function fullText(parts: readonly Part[]): string {
  return parts
    .map((p) => p.text)
    .filter(Boolean)
    .join(' ');
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The body for one response format. */
export function formatTranscription(o: TranscriptionOutcome, format: ResponseFormat): Body {
  const parts = partsOf(o);
  const text = fullText(parts);
  const duration = sec(o.conversation.duration_s);
  const usage = { type: 'duration' as const, seconds: Math.ceil(o.conversation.duration_s) };
  switch (format) {
    case 'json':
      return { contentType: JSON_TYPE, text: JSON.stringify({ text, usage }) };
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', text: text + '\n' };
    case 'srt':
    case 'vtt': {
      const named: ConversationRecord = {
        ...o.conversation,
        speakers: [0, 1].map((id) => ({ id, name: o.labels[id]! })),
        segments: o.conversation.segments.filter((s) => !o.withText || s.text.trim() !== ''),
      };
      return { contentType: format === 'srt' ? 'application/x-subrip; charset=utf-8' : 'text/vtt; charset=utf-8', text: exportConversation(named, format) };
    }
    case 'verbose_json':
      return {
        contentType: JSON_TYPE,
        text: JSON.stringify({
          task: 'transcribe',
          language: o.language,
          duration,
          text,
          // Whisper's token ids and per-segment statistics are not kept by the file pipeline:
          // `tokens` is empty and the statistics are neutral values (documented in docs/integrations.md).
          segments: parts.map((p, i) => ({
            id: i,
            seek: Math.round(p.start * 100),
            start: p.start,
            end: p.end,
            text: p.text,
            tokens: [] as number[],
            temperature: 0,
            avg_logprob: 0,
            compression_ratio: 1,
            no_speech_prob: 0,
            speaker: p.speaker,
          })),
          usage,
        }),
      };
    case 'diarized_json':
      return {
        contentType: JSON_TYPE,
        text: JSON.stringify({
          task: 'transcribe',
          duration,
          text,
          segments: parts.map((p, i) => ({ type: 'transcript.text.segment', id: `seg_${i}`, start: p.start, end: p.end, speaker: p.speaker, text: p.text })),
          usage,
        }),
      };
  }
}

/** OpenAI's error types, by HTTP status. */
export function errorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return status === 503 ? 'server_overloaded' : 'server_error';
  return 'invalid_request_error';
}

/** `{error: {message, type, param, code}}`, as OpenAI answers errors. */
export function errorBody(status: number, code: string, message: string, param: string | null = null): string {
  return JSON.stringify({ error: { message, type: errorType(status), param, code } });
}
