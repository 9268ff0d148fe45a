/**
 * "Tell me when it's done": when a file job is done or a live conversation ends, optionally
 * POST a signed JSON event to NOTIFY_WEBHOOK_URL and/or e-mail the transcript to NOTIFY_EMAIL.
 * Off unless configured. Everything runs in the background: `transcriptReady()` returns at
 * once, never throws, and a slow, failing or absent receiver holds nothing else up. The
 * outcome of each delivery is in `status()` (for /api/status).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { ConversationRecord } from '../storage/types.js';
import { composeTranscriptMail, createMailer, publicSmtpTarget, type Mailer, type TranscriptMail } from './email.js';
import { RetryingSender, type ChannelStatus } from './retrying.js';
import { postWebhook, publicTarget } from './webhook.js';

/** Where a finished transcript came from. */
export type TranscriptSource = 'file' | 'live';

/** The JSON body POSTed to the webhook. It names the conversation; the transcript itself stays on the server. */
export interface TranscriptReadyEvent {
  type: 'transcript.ready';
  /** Unique per event (receivers de-duplicate retried deliveries by it). */
  id: string;
  /** ISO 8601, when the event was made. */
  created_at: string;
  conversation_id: string;
  source: TranscriptSource;
  /** Seconds of audio. */
  duration_s: number;
  /** Transcribed segments. */
  segments: number;
}

export interface NotificationsStatus {
  webhook: ChannelStatus;
  email: ChannelStatus & { for: 'all' | 'asked' };
}

export type NotifyConfig = Pick<
  Config,
  'NOTIFY_WEBHOOK_URL' | 'NOTIFY_WEBHOOK_SECRET' | 'NOTIFY_RETRY_FOR_S' | 'NOTIFY_TIMEOUT_MS' | 'SMTP_URL' | 'SMTP_FROM' | 'NOTIFY_EMAIL' | 'NOTIFY_EMAIL_FOR'
>;

export interface NotifierOptions {
  config: NotifyConfig;
  /** Reads the stored conversation (null when it is gone). */
  load(conversationId: string): Promise<ConversationRecord | null>;
  log?: Logger;
  /** First retry delay, ms (tests shorten it). Default 2 s. */
  baseDelayMs?: number;
}

export class Notifier {
  private readonly webhook: RetryingSender<string> | null;
  private readonly email: RetryingSender<TranscriptMail> | null;
  private readonly mailer: Mailer | null;

  constructor(private readonly opts: NotifierOptions) {
    const c = opts.config;
    const common = { retryForMs: c.NOTIFY_RETRY_FOR_S * 1000, ...(opts.baseDelayMs !== undefined ? { baseDelayMs: opts.baseDelayMs } : {}), ...(opts.log ? { log: opts.log } : {}) };
    this.webhook = c.NOTIFY_WEBHOOK_URL
      ? new RetryingSender<string>({
          ...common,
          what: 'webhook',
          attempt: (body, signal) => postWebhook({ url: c.NOTIFY_WEBHOOK_URL, secret: c.NOTIFY_WEBHOOK_SECRET, timeoutMs: c.NOTIFY_TIMEOUT_MS }, body, signal),
        })
      : null;
    this.mailer = c.SMTP_URL && c.NOTIFY_EMAIL ? createMailer(c.SMTP_URL, c.SMTP_FROM, c.NOTIFY_EMAIL, c.NOTIFY_TIMEOUT_MS) : null;
    const mailer = this.mailer;
    this.email = mailer ? new RetryingSender<TranscriptMail>({ ...common, what: 'e-mail', attempt: (mail, signal) => mailer.send(mail, signal) }) : null;
  }

  /** Whether an upload may ask for an e-mail (`notify=email`). */
  get emailAvailable(): boolean {
    return this.email !== null;
  }

  /** What the page tells the user before they ask for a notification: where things go, never credentials. */
  describe(): { webhook: string | null; email: { to: string; for: 'all' | 'asked' } | null } {
    const c = this.opts.config;
    return {
      webhook: this.webhook ? publicTarget(c.NOTIFY_WEBHOOK_URL) : null,
      email: this.email ? { to: c.NOTIFY_EMAIL, for: c.NOTIFY_EMAIL_FOR } : null,
    };
  }

  /**
   * A transcript is ready: announce it as configured. `emailAsked`: the upload asked for an
   * e-mail (`notify=email`); with NOTIFY_EMAIL_FOR=all every transcript is e-mailed.
   */
  transcriptReady(conversationId: string, source: TranscriptSource, emailAsked = false): void {
    const wantsEmail = this.email !== null && (emailAsked || this.opts.config.NOTIFY_EMAIL_FOR === 'all');
    if (!this.webhook && !wantsEmail) return;
    void this.opts
      .load(conversationId)
      .then((rec) => {
        if (!rec) return;
        if (this.webhook) {
          const event: TranscriptReadyEvent = {
            type: 'transcript.ready',
            id: randomUUID(),
            created_at: new Date().toISOString(),
            conversation_id: conversationId,
            source,
            duration_s: Math.round(rec.duration_s * 1000) / 1000,
            segments: rec.segments.length,
          };
          this.webhook.add(conversationId, JSON.stringify(event));
        }
        if (wantsEmail) this.email!.add(conversationId, composeTranscriptMail(rec));
      })
      .catch((err: Error) => this.opts.log?.error(`notification skipped: the conversation could not be read (${err.message})`));
  }

  status(): NotificationsStatus {
    const c = this.opts.config;
    const off: ChannelStatus = { enabled: false, target: null, pending: 0, delivered_total: 0, failed_total: 0, recent: [] };
    return {
      webhook: this.webhook ? this.webhook.status(true, publicTarget(c.NOTIFY_WEBHOOK_URL)) : off,
      email: { ...(this.email ? this.email.status(true, publicSmtpTarget(c.SMTP_URL)) : off), for: c.NOTIFY_EMAIL_FOR },
    };
  }

  /** Resolves when no attempt is in flight or due now (tests). */
  async whenIdle(): Promise<void> {
    await Promise.all([this.webhook?.whenIdle(), this.email?.whenIdle()]);
  }

  /** Stops retries and aborts attempts in flight. Idempotent. */
  close(): void {
    this.webhook?.close();
    this.email?.close();
    this.mailer?.close();
  }
}
