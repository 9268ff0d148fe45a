/**
 * The webhook signature: `Duet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`
 * keyed with NOTIFY_WEBHOOK_SECRET. The time is inside the signed text, so a captured request
 * cannot be replayed later with a new time; receivers refuse old times. Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Duet-Signature';

/** The header value for `body` sent at `unixS`. */
export function signBody(secret: string, body: string, unixS: number): string {
  const t = Math.floor(unixS);
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/**
 * A receiver's check: the header is well formed, one of its `v1` values is the HMAC of
 * "t.body", and `t` lies within `toleranceS` of `nowS`. Never throws.
 */
export function verifySignature(header: string | undefined, body: string, secret: string, nowS: number, toleranceS = 300): boolean {
  if (!header || header.length > 1024) return false;
  let t: number | null = null;
  const macs: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2).map((x) => x.trim());
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) macs.push(v);
  }
  if (t === null || macs.length === 0 || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return macs.some((m) => timingSafeEqual(Buffer.from(m), expected));
}
