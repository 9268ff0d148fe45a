/**
 * Access control at the network edge: constant-time token check, per-IP rate limit of failed
 * attempts, and an Origin allow-list against cross-site WebSocket hijacking.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseRequestTarget, type RequestTarget } from './request-target.js';

/** A URL-safe random token of 128 bits. */
export function generateToken(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Compares a presented token with the expected one in constant time: both are hashed first so
 * neither the content nor the length leaks through timing.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

/**
 * The token a request carries: `?token=` in the URL, or `Authorization: Bearer …`. `target` is
 * the request's already parsed target (parsed here when not given); an unparseable target
 * carries no token. Never throws.
 */
export function presentedToken(req: IncomingMessage, target: RequestTarget | null = parseRequestTarget(req.url)): string | null {
  const fromQuery = target?.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return null;
}

/**
 * Counts failed attempts per client address in a sliding window; once `maxFailures` are
 * reached within `windowMs`, that address is refused until the window passes. Bounded: at
 * most `maxTracked` addresses are remembered (oldest forgotten first).
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxTracked = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this address may try again. */
  allowed(ip: string): boolean {
    return this.recent(ip).length < this.maxFailures;
  }

  recordFailure(ip: string): void {
    const list = this.recent(ip);
    list.push(this.now());
    this.failures.delete(ip);
    this.failures.set(ip, list);
    if (this.failures.size > this.maxTracked) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private recent(ip: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(ip) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(ip);
    else this.failures.set(ip, list);
    return list;
  }
}

/**
 * Whether a WebSocket upgrade's `Origin` may connect. Browsers always send Origin; it must be
 * the server's own origin (as the browser reached it, i.e. `https://<Host header>`) or one of
 * the configured extra origins. Clients that send no Origin (not a browser, so not a
 * cross-site page) are allowed: the token still protects them.
 */
export function originAllowed(req: IncomingMessage, extraOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  const own = host ? [`https://${host}`.toLowerCase()] : [];
  const allowed = new Set([...own, ...extraOrigins.map((o) => o.trim().toLowerCase().replace(/\/$/, ''))]);
  return allowed.has(origin.toLowerCase());
}

/** The client's address for rate limiting (the socket's peer; the tunnel relays to loopback). */
export function clientIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Tokens at least this long (e.g. the generated 22-character ones) cannot be guessed online. */
export const STRONG_TOKEN_CHARS = 16;

export type Admission = 'ok' | 'unauthorized' | 'rate_limited';

/**
 * The one token check for the WebSocket and the API. Failures are counted per address; an
 * address over the limit is refused without its token being compared — except that the right
 * token still gets in when it is a strong one: behind the SSH tunnel every client shares the
 * address 127.0.0.1, and a stranger's wrong guesses must not lock the owner out, while a strong
 * token cannot be found by guessing anyway.
 */
export class TokenGate {
  constructor(
    private readonly token: string,
    private readonly limiter = new FailureLimiter(),
  ) {}

  /** `_req` is for checks that also read a session cookie (SignIn); this one does not. */
  check(ip: string, presented: string | null, _req?: IncomingMessage): Admission {
    const correct = presented !== null && tokensEqual(presented, this.token);
    if (!this.limiter.allowed(ip)) {
      return correct && this.token.length >= STRONG_TOKEN_CHARS ? 'ok' : 'rate_limited';
    }
    if (correct) return 'ok';
    this.limiter.recordFailure(ip);
    return 'unauthorized';
  }
}
