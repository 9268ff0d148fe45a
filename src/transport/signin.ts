/**
 * Sign-in: the access token (link, `Authorization: Bearer`, `?token=`) or the session cookie
 * the link is exchanged for. One object that every route calls:
 *
 * - {@link SignIn.credentials}: who a request is, without side effects (the connection budget
 *   and the access log use it);
 * - {@link SignIn.check}: the admission decision, counting and logging failed attempts;
 * - {@link SignIn.exchange}: `GET /page?token=…` → cookie + redirect to the address without it;
 * - {@link SignIn.signOut}: ends the cookie's session;
 * - {@link SignIn.sameOrigin}: a request that changes something on the strength of the cookie
 *   alone must come from the page's own origin (cross-site request forgery).
 *
 * Never logs a token or a cookie.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { clientIp, FailureLimiter, originAllowed, presentedToken, STRONG_TOKEN_CHARS, tokensEqual, type Admission } from './auth.js';
import type { RequestTarget } from './request-target.js';
import {
  clearedCookieHeader,
  issueSession,
  readCookie,
  SESSION_COOKIE,
  sessionCookieHeader,
  sessionHash,
  verifySession,
  type CookieSession,
} from './session-cookie.js';

/** How a request proved itself. `sid` is set for a cookie session. */
export type Credentials = { via: 'bearer' | 'query' } | { via: 'cookie'; sid: string; expiresS: number };

/** A sign-in, successful or not, for the access log. */
export interface SignInEvent {
  ok: boolean;
  ip: string;
  /** The new session's id (successful cookie sign-ins only). */
  sid?: string;
  action: 'sign_in' | 'sign_out';
}

export interface SignInOptions {
  /** The current access token (it may change while the server runs: rotation). */
  token: () => string;
  /** Lifetime of a session cookie, seconds. */
  sessionTtlS: number;
  /** Extra origins allowed besides the server's own (ALLOWED_ORIGINS). */
  extraOrigins?: readonly string[];
  limiter?: FailureLimiter;
  log: Logger;
  now?: () => number;
  /** Told of every sign-in and sign-out (the access log). */
  onEvent?: (e: SignInEvent) => void;
}

/** Signed-out sessions remembered at most (each until its cookie would have expired). */
const MAX_REVOKED = 10_000;

export class SignIn {
  private readonly limiter: FailureLimiter;
  private readonly now: () => number;
  /** Signed-out session ids → their expiry (Unix seconds). In memory: see docs/privacy-security.md. */
  private readonly revoked = new Map<string, number>();
  /** Addresses already reported as rate limited in the current window (bounded by the limiter's own bound). */
  private readonly reported = new Map<string, number>();

  constructor(private readonly opts: SignInOptions) {
    this.limiter = opts.limiter ?? new FailureLimiter();
    this.now = opts.now ?? Date.now;
  }

  /** The current access token. */
  get token(): string {
    return this.opts.token();
  }

  /** The valid cookie session a request carries, if any. */
  cookieSession(req: IncomingMessage): CookieSession | null {
    const value = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (value === null) return null;
    const s = verifySession(value, this.opts.token(), this.now(), this.opts.sessionTtlS);
    if (s === null || this.revoked.has(s.sid)) return null;
    return s;
  }

  /** Who the request is, without counting anything; null when it carries no valid credential. */
  credentials(req: IncomingMessage, target?: RequestTarget | null): Credentials | null {
    const presented = presentedToken(req, target);
    if (presented !== null && tokensEqual(presented, this.opts.token())) {
      return { via: req.headers.authorization && !target?.searchParams.get('token') ? 'bearer' : 'query' };
    }
    const s = this.cookieSession(req);
    return s ? { via: 'cookie', sid: s.sid, expiresS: s.expiresS } : null;
  }

  /**
   * Admission for the WebSocket and the API (same contract as TokenGate.check, plus the
   * cookie): a valid cookie is let in without being rate limited (it cannot be guessed); a
   * token is checked with failures counted per address; a rate-limited address still gets
   * in with the right strong token (behind the tunnel everyone is 127.0.0.1).
   */
  check(ip: string, presented: string | null, req?: IncomingMessage): Admission {
    const token = this.opts.token();
    const correct = presented !== null && tokensEqual(presented, token);
    if (correct && (this.limiter.allowed(ip) || token.length >= STRONG_TOKEN_CHARS)) return 'ok';
    if (presented === null && req && this.cookieSession(req)) return 'ok';
    if (!this.limiter.allowed(ip)) {
      if (!this.reported.has(ip)) {
        if (this.reported.size >= MAX_REVOKED) this.reported.clear();
        this.reported.set(ip, this.now());
        this.opts.log.warn(`sign-in: ${ip} is rate limited after repeated failed attempts`);
      }
      return 'rate_limited';
    }
    this.reported.delete(ip);
    if (presented === null) return 'unauthorized';
    this.limiter.recordFailure(ip);
    this.opts.log.warn(`sign-in: failed attempt from ${ip} (wrong token)`);
    this.opts.onEvent?.({ ok: false, ip, action: 'sign_in' });
    return 'unauthorized';
  }

  /**
   * `GET <page>?token=…`: a right token is exchanged for a session cookie and the browser is
   * sent to the same address without the token (303), so the token leaves the address bar,
   * the history and bookmarks. Returns true when it answered; false to serve the page as
   * usual (no token in the address, or a wrong one: the page then says access is denied).
   */
  exchange(req: IncomingMessage, res: ServerResponse, target: RequestTarget): boolean {
    const presented = target.searchParams.get('token');
    if (presented === null) return false;
    const ip = clientIp(req);
    const admission = this.check(ip, presented);
    if (admission === 'rate_limited') {
      res.writeHead(429, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '60' });
      res.end('too many failed sign-ins from this address; try again in a minute\n');
      return true;
    }
    if (admission !== 'ok') return false;
    const session = issueSession(this.opts.token(), this.now(), this.opts.sessionTtlS);
    const rest = new URLSearchParams(target.searchParams);
    rest.delete('token');
    const query = rest.toString();
    res.writeHead(303, {
      Location: `${target.pathname}${query ? `?${query}` : ''}`,
      'Set-Cookie': sessionCookieHeader(session.value, this.opts.sessionTtlS),
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Length': '0',
    });
    res.end();
    this.opts.log.info(`sign-in: new session ${sessionHash(session.sid)} from ${ip}`);
    this.opts.onEvent?.({ ok: true, ip, sid: session.sid, action: 'sign_in' });
    return true;
  }

  /** Ends the request's cookie session (if any) and clears the cookie; answers 200. */
  signOut(req: IncomingMessage, res: ServerResponse): void {
    const s = this.cookieSession(req);
    if (s) {
      this.revoke(s);
      this.opts.log.info(`sign-in: session ${sessionHash(s.sid)} signed out`);
      this.opts.onEvent?.({ ok: true, ip: clientIp(req), sid: s.sid, action: 'sign_out' });
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Set-Cookie': clearedCookieHeader() });
    res.end(JSON.stringify({ signed_out: s !== null }));
  }

  /** `GET /api/session`: how this request is signed in. */
  describe(req: IncomingMessage, target: RequestTarget | null): { via: Credentials['via'] | null; expires_at: string | null } {
    const c = this.credentials(req, target);
    return { via: c?.via ?? null, expires_at: c?.via === 'cookie' ? new Date(c.expiresS * 1000).toISOString() : null };
  }

  /**
   * Whether a request may change something: always with a token (a page on another site
   * cannot set the Authorization header without a CORS grant, which this server never
   * gives); with the cookie alone only from the page's own origin (Origin, else
   * Sec-Fetch-Site; a browser sends one of them with every POST, PATCH and DELETE).
   */
  sameOrigin(req: IncomingMessage, creds: Credentials | null): boolean {
    if (creds === null || creds.via !== 'cookie') return true;
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return true;
    if (req.headers.origin !== undefined) return originAllowed(req, this.opts.extraOrigins ?? []);
    const site = req.headers['sec-fetch-site'];
    return site === 'same-origin';
  }

  private revoke(s: CookieSession): void {
    const nowS = this.now() / 1000;
    for (const [sid, exp] of this.revoked) if (exp <= nowS) this.revoked.delete(sid);
    this.revoked.set(s.sid, s.expiresS);
    while (this.revoked.size > MAX_REVOKED) {
      const oldest = this.revoked.keys().next().value;
      if (oldest === undefined) break;
      this.revoked.delete(oldest);
    }
  }
}
