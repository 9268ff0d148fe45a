/**
 * The "transcript ready" e-mail: composed from a stored conversation (pure), sent through
 * nodemailer to SMTP_URL (`smtps://` is TLS from the start; `smtp://` upgrades with STARTTLS
 * when the server offers it), with the attempt's outcome classified for retries: a 5xx reply
 * (a rejected recipient, a refused sender or login) is permanent, a 4xx or a network error is
 * retried.
 */
import nodemailer from 'nodemailer';
import { speakerName, toSrt, toTxt } from '../storage/exports.js';
import type { ConversationRecord } from '../storage/types.js';
import type { AttemptResult } from './retrying.js';

export interface TranscriptMail {
  subject: string;
  text: string;
  attachments: Array<{ filename: string; content: string; contentType: string }>;
}

/** `1 h 02 min 05 s`, `3 min 20 s`, `12 s`. */
export function spokenDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min ${String(r).padStart(2, '0')} s`;
  if (m > 0) return `${m} min ${String(r).padStart(2, '0')} s`;
  return `${r} s`;
}

/** The message for one conversation: title, speakers, duration in the body; TXT and SRT attached. */
export function composeTranscriptMail(rec: ConversationRecord): TranscriptMail {
  const title = (rec.title ?? '').replace(/\s+/g, ' ').trim() || 'Conversation';
  const speakers = rec.speakers.map((s) => speakerName(rec, s.id));
  const file = title.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_').slice(0, 80) || 'transcript';
  return {
    subject: `Transcript ready: ${title.slice(0, 150)}`,
    text: [
      `The transcript of "${title}" is ready.`,
      '',
      `Speakers: ${speakers.join(', ') || '—'}`,
      `Duration: ${spokenDuration(rec.duration_s)}`,
      `Started:  ${rec.started_at}`,
      `Segments: ${rec.segments.length}`,
      '',
      'The transcript is attached as plain text (TXT) and as subtitles (SRT).',
      '',
    ].join('\n'),
    attachments: [
      { filename: `${file}.txt`, content: toTxt(rec), contentType: 'text/plain; charset=utf-8' },
      { filename: `${file}.srt`, content: toSrt(rec), contentType: 'application/x-subrip; charset=utf-8' },
    ],
  };
}

/** The host an SMTP URL names (for /api/status: no user, no password). */
export function publicSmtpTarget(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

export interface Mailer {
  send(mail: TranscriptMail, signal: AbortSignal): Promise<AttemptResult>;
  close(): void;
}

/** A mailer over SMTP_URL from SMTP_FROM to NOTIFY_EMAIL. */
export function createMailer(smtpUrl: string, from: string, to: string, timeoutMs: number): Mailer {
  // The URL gives host, port, TLS and credentials; the limits keep one stuck server from holding an attempt.
  const transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs * 3 }, { from });
  return {
    async send(mail, signal) {
      if (signal.aborted) return { ok: false, retry: false, error: 'closed' };
      try {
        const info = await transport.sendMail({ from, to, subject: mail.subject, text: mail.text, attachments: mail.attachments });
        if (info.rejected.length > 0) return { ok: false, retry: false, error: 'the server rejected the recipient' };
        return { ok: true };
      } catch (err) {
        const e = err as Error & { responseCode?: number; code?: string };
        const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
        const permanent = (status !== undefined && status >= 500) || e.code === 'EAUTH';
        const what = e.code === 'EENVELOPE' ? 'the server rejected the recipient or sender' : e.code === 'EAUTH' ? 'the server refused the login' : 'sending failed';
        return { ok: false, retry: !permanent, ...(status !== undefined ? { status } : {}), error: `${what}${status !== undefined ? ` (${status})` : ''}${e.code ? ` [${e.code}]` : ''}` };
      }
    },
    close: () => transport.close(),
  };
}
