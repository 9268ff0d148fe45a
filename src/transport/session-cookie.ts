/**
 * The sign-in session cookie, pure: issue and verify a signed, expiring value. No I/O.
 *
 *   duet_session=v1.<session id>.<expiry, Unix seconds>.<HMAC-SHA256, base64url>
 *
 * The MAC key is derived from the access token, so replacing the token (`npm run token --
 * --rotate`) ends every session at once without a session table; a session id exists only to
 * be signed out (revoked) and to be named, hashed, in the access log.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Name of the cookie. */
export const SESSION_COOKIE = 'duet_session';
/** Largest cookie value parsed; anything longer is refused unread. */
const MAX_COOKIE_CHARS = 256;

function macKey(token: string): Buffer {
  return createHmac('sha256', token).update('duet session cookie v1').digest();
}

function mac(token: string, body: string): string {
  return createHmac('sha256', macKey(token)).update(body).digest('base64url');
}

/** A verified session. */
export interface CookieSession {
  /** Random 128-bit id (base64url). */
  sid: string;
  /** Expiry, Unix seconds. */
  expiresS: number;
}

/** A new session valid for `ttlS` seconds from `nowMs`, and the cookie value that carries it. */
export function issueSession(token: string, nowMs: number, ttlS: number): CookieSession & { value: string } {
  const sid = randomBytes(16).toString('base64url');
  const expiresS = Math.floor(nowMs / 1000) + Math.max(1, Math.floor(ttlS));
  const body = `v1.${sid}.${expiresS}`;
  return { sid, expiresS, value: `${body}.${mac(token, body)}` };
}

/**
 * The session a cookie value carries, or null when it is malformed, forged or altered, signed
 * under another token, expired, or claims to live longer than `maxTtlS` from now (a value
 * signed with a leaked key cannot be made to last forever). Total: never throws.
 */
export function verifySession(value: string, token: string, nowMs: number, maxTtlS: number): CookieSession | null {
  if (value.length > MAX_COOKIE_CHARS) return null;
  const m = /^v1\.([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return null;
  const [, sid, exp, presented] = m as unknown as [string, string, string, string];
  const expected = Buffer.from(mac(token, `v1.${sid}.${exp}`), 'utf8');
  const given = Buffer.from(presented, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const expiresS = Number(exp);
  const nowS = nowMs / 1000;
  if (expiresS <= nowS || expiresS > nowS + maxTtlS + 60) return null;
  return { sid, expiresS };
}

/** The value of cookie `name` in a `Cookie` header; null when absent. Total. */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text || text.length > 16_384) return null;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** `Set-Cookie` for a session: HttpOnly, Secure, SameSite=Strict, for `maxAgeS` seconds. */
export function sessionCookieHeader(value: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeS))}; HttpOnly; Secure; SameSite=Strict`;
}

/** `Set-Cookie` that removes the session cookie. */
export function clearedCookieHeader(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

/** A short one-way name of a session for logs (never the cookie itself): 12 hex digits. */
export function sessionHash(sid: string): string {
  return createHash('sha256').update(`duet session ${sid}`).digest('hex').slice(0, 12);
}
