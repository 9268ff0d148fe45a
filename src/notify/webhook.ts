/**
 * One webhook delivery attempt: POST the JSON event with its `Duet-Signature`, wait at most
 * `timeoutMs`, and classify the answer. Redirects are not followed (a 3xx is a permanent
 * failure: the signed event must not be handed to a place nobody configured); 2xx is
 * delivered; 408, 425, 429 and 5xx, timeouts and network errors are retried; other 4xx are
 * permanent.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SIGNATURE_HEADER, signBody } from './signature.js';
import type { AttemptResult } from './retrying.js';

/** Bytes of a receiver's answer read (and thrown away); a larger answer is cut off. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface WebhookTarget {
  url: string;
  secret: string;
  timeoutMs: number;
}

/** The URL shown in /api/status: scheme, host and port only (a path or user may hold a secret). */
export function publicTarget(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

export function postWebhook(target: WebhookTarget, body: string, signal: AbortSignal, nowS = Date.now() / 1000): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      resolve({ ok: false, retry: false, error: 'NOTIFY_WEBHOOK_URL is not a URL' });
      return;
    }
    let done = false;
    const finish = (r: AttemptResult) => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      signal,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'User-Agent': 'duet-notify/1',
        [SIGNATURE_HEADER]: signBody(target.secret, body, nowS),
      },
    });
    req.setTimeout(target.timeoutMs, () => {
      req.destroy(new Error(`no answer within ${target.timeoutMs} ms`));
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (d: Buffer) => {
        read += d.length;
        if (read > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('error', () => undefined);
      res.resume();
      if (status >= 200 && status < 300) finish({ ok: true, status });
      else if (status >= 300 && status < 400) finish({ ok: false, retry: false, status, error: `the receiver answered ${status} (a redirect, not followed)` });
      else if (status === 408 || status === 425 || status === 429 || status >= 500) finish({ ok: false, retry: true, status, error: `the receiver answered ${status}` });
      else finish({ ok: false, retry: false, status, error: `the receiver refused the event (${status})` });
    });
    req.on('error', (err) => finish({ ok: false, retry: true, error: err.message.slice(0, 200) }));
    req.end(body);
  });
}
