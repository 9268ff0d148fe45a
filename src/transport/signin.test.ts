import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { FailureLimiter } from './auth.js';
import { parseRequestTarget } from './request-target.js';
import { issueSession, readCookie, sessionCookieHeader, sessionHash, verifySession } from './session-cookie.js';
import { SignIn } from './signin.js';
import { FileToken, loadOrCreateToken, readTokenFile, tokenPathOf, writeNewToken } from './token-file.js';

const TOKEN = 'A'.repeat(22);
const HOUR_S = 3600;

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-signin-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('session cookie', () => {
  it('verifies what it issued, until it expires', () => {
    const s = issueSession(TOKEN, 1_000_000, HOUR_S);
    expect(verifySession(s.value, TOKEN, 1_000_000, HOUR_S)).toEqual({ sid: s.sid, expiresS: s.expiresS });
    expect(verifySession(s.value, TOKEN, 1_000_000 + HOUR_S * 1000 + 1000, HOUR_S)).toBeNull();
  });

  it('refuses a cookie signed under another token (rotation), tampered, forged or malformed', () => {
    const s = issueSession(TOKEN, 0, HOUR_S);
    expect(verifySession(s.value, 'B'.repeat(22), 0, HOUR_S)).toBeNull();
    const [v, sid, exp, mac] = s.value.split('.') as [string, string, string, string];
    expect(verifySession([v, sid, String(Number(exp) + 100), mac].join('.'), TOKEN, 0, HOUR_S)).toBeNull();
    const flipped = mac[0] === 'A' ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
    expect(verifySession([v, sid, exp, flipped].join('.'), TOKEN, 0, HOUR_S)).toBeNull();
    for (const bad of ['', 'v1', 'v1...', `v2.${sid}.${exp}.${mac}`, 'x'.repeat(10_000), `${s.value}.x`, '\u0000']) {
      expect(verifySession(bad, TOKEN, 0, HOUR_S)).toBeNull();
    }
  });

  it('refuses an expiry further than the lifetime allows (a leaked key cannot mint a forever cookie)', () => {
    const long = issueSession(TOKEN, 0, 100 * HOUR_S);
    expect(verifySession(long.value, TOKEN, 0, HOUR_S)).toBeNull();
  });

  it('parses cookie headers totally and writes the attributes the browser needs', () => {
    expect(readCookie('a=1; duet_session=xyz; b=2', 'duet_session')).toBe('xyz');
    expect(readCookie(undefined, 'duet_session')).toBeNull();
    expect(readCookie('garbage;;==;', 'duet_session')).toBeNull();
    expect(readCookie(['x=1', 'duet_session=v'], 'duet_session')).toBe('v');
    const h = sessionCookieHeader('v', 7200);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Max-Age=7200', 'Path=/']) expect(h).toContain(attr);
    expect(sessionHash('abc')).toMatch(/^[0-9a-f]{12}$/);
    expect(sessionHash('abc')).not.toContain('abc');
  });
});

describe('kept token file', () => {
  it('is created once, owner-only, and read back the same after a restart', async () => {
    const dir = tmp();
    const a = await loadOrCreateToken(dir);
    expect(a.created).toBe(true);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(statSync(tokenPathOf(dir)).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateToken(dir);
    expect(b).toEqual({ token: a.token, created: false });
  });

  it('refuses a damaged file with the fix, instead of silently making a new token', async () => {
    const dir = tmp();
    writeFileSync(tokenPathOf(dir), 'short\n');
    expect(() => readTokenFile(tokenPathOf(dir))).toThrow(/npm run token -- --rotate/);
    writeFileSync(tokenPathOf(dir), 'x'.repeat(10_000));
    expect(() => readTokenFile(tokenPathOf(dir))).toThrow(/too large/);
  });

  it('is re-read by a running server when it is replaced, keeping the last good one when damaged', async () => {
    const dir = tmp();
    const { token } = await loadOrCreateToken(dir);
    let now = 0;
    const problems: string[] = [];
    const file = new FileToken(tokenPathOf(dir), token, (m) => problems.push(m), () => now);
    expect(file.current()).toBe(token);
    const next = await writeNewToken(tokenPathOf(dir), dir);
    now += 500;
    expect(file.current()).toBe(token); // looked at no more than once a second
    now += 600;
    expect(file.current()).toBe(next);
    writeFileSync(tokenPathOf(dir), '!');
    now += 1100;
    expect(file.current()).toBe(next);
    expect(problems).toHaveLength(1);
  });
});

function request(url: string, headers: Record<string, string> = {}, method = 'GET', ip = '10.0.0.1'): IncomingMessage {
  return { url, method, headers: { host: 'duet.test:8443', ...headers }, socket: { remoteAddress: ip } } as unknown as IncomingMessage;
}

function fakeResponse() {
  const out = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      out.status = status;
      out.headers = headers;
      return res;
    },
    end(body?: string) {
      out.body = body ?? '';
    },
  };
  return { res: res as never, out };
}

describe('SignIn', () => {
  const make = (token = TOKEN, limiter?: FailureLimiter) => {
    let current = token;
    const events: unknown[] = [];
    const lines: string[] = [];
    const s = new SignIn({
      token: () => current,
      sessionTtlS: HOUR_S,
      log: createLogger('debug', '', (l) => lines.push(l)),
      onEvent: (e) => events.push(e),
      ...(limiter ? { limiter } : {}),
    });
    return { s, events, lines, rotate: (t: string) => (current = t) };
  };
  const cookieFrom = (setCookie: string) => setCookie.split(';')[0]!;

  it('exchanges the link for a cookie and a redirect without the token, then knows the cookie', () => {
    const { s, events, lines } = make();
    const { res, out } = fakeResponse();
    const target = parseRequestTarget(`/?lang=ko&token=${TOKEN}`)!;
    expect(s.exchange(request(`/?lang=ko&token=${TOKEN}`), res, target)).toBe(true);
    expect(out.status).toBe(303);
    expect(out.headers.Location).toBe('/?lang=ko');
    const cookie = cookieFrom(out.headers['Set-Cookie']!);
    const withCookie = request('/api/conversations', { cookie });
    expect(s.check('10.0.0.1', null, withCookie)).toBe('ok');
    expect(s.credentials(withCookie)).toMatchObject({ via: 'cookie' });
    expect(events).toMatchObject([{ ok: true, action: 'sign_in' }]);
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(lines.join('\n')).not.toContain(cookie.split('=')[1]);
  });

  it('lets the page load as usual on a wrong token, and logs the failure without the token', () => {
    const { s, events, lines } = make();
    const wrong = 'W'.repeat(22);
    const { res, out } = fakeResponse();
    expect(s.exchange(request(`/?token=${wrong}`), res, parseRequestTarget(`/?token=${wrong}`)!)).toBe(false);
    expect(out.status).toBe(0);
    expect(events).toMatchObject([{ ok: false, action: 'sign_in' }]);
    expect(lines.some((l) => /failed attempt from 10\.0\.0\.1/.test(l))).toBe(true);
    expect(lines.join('\n')).not.toContain(wrong);
  });

  it('ends every session when the token is rotated, and one session at sign-out', () => {
    const { s, rotate } = make();
    const a = issueSession(TOKEN, Date.now(), HOUR_S);
    const b = issueSession(TOKEN, Date.now(), HOUR_S);
    const reqA = request('/api/x', { cookie: `duet_session=${a.value}` }, 'DELETE');
    const reqB = request('/api/x', { cookie: `duet_session=${b.value}` });
    const { res, out } = fakeResponse();
    s.signOut(reqA, res);
    expect(JSON.parse(out.body)).toEqual({ signed_out: true });
    expect(out.headers['Set-Cookie']).toContain('Max-Age=0');
    expect(s.check('10.0.0.1', null, reqA)).toBe('unauthorized');
    expect(s.check('10.0.0.1', null, reqB)).toBe('ok');
    rotate('R'.repeat(22));
    expect(s.check('10.0.0.1', null, reqB)).toBe('unauthorized');
  });

  it('refuses a tampered cookie', () => {
    const { s } = make();
    const a = issueSession(TOKEN, Date.now(), HOUR_S);
    const tampered = a.value.slice(0, -2) + (a.value.endsWith('AA') ? 'BB' : 'AA');
    expect(s.check('10.0.0.1', null, request('/api/x', { cookie: `duet_session=${tampered}` }))).toBe('unauthorized');
  });

  it('after 10,000 failed sign-ins from one address the owner still gets in, and the flood is rate limited', () => {
    const { s, lines } = make(TOKEN, new FailureLimiter(10, 60_000));
    const answers = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const a = s.check('127.0.0.1', `guess-${i}-${'x'.repeat(16)}`);
      answers.set(a, (answers.get(a) ?? 0) + 1);
    }
    expect(answers.get('unauthorized')).toBe(10);
    expect(answers.get('rate_limited')).toBe(9_990);
    expect(s.check('127.0.0.1', TOKEN)).toBe('ok');
    // Bounded logging: the ten failures and one rate-limit line, not ten thousand lines.
    expect(lines.length).toBeLessThanOrEqual(11);
    const { res, out } = fakeResponse();
    expect(s.exchange(request(`/?token=${TOKEN}`, {}, 'GET', '127.0.0.1'), res, parseRequestTarget(`/?token=${TOKEN}`)!)).toBe(true);
    expect(out.status).toBe(303);
  });

  it('accepts a change made with the cookie only from the page’s own origin', () => {
    const { s } = make();
    const a = issueSession(TOKEN, Date.now(), HOUR_S);
    const cookie = `duet_session=${a.value}`;
    const creds = (r: IncomingMessage) => s.credentials(r);
    const own = request('/api/conversations/x', { cookie, origin: 'https://duet.test:8443' }, 'PATCH');
    const foreign = request('/api/conversations/x', { cookie, origin: 'https://evil.example' }, 'DELETE');
    const noOrigin = request('/api/conversations/x', { cookie }, 'POST');
    const fetchMeta = request('/api/conversations/x', { cookie, 'sec-fetch-site': 'same-origin' }, 'POST');
    const read = request('/api/conversations/x', { cookie, origin: 'https://evil.example' }, 'GET');
    const bearer = request('/api/conversations/x', { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' }, 'DELETE');
    expect(s.sameOrigin(own, creds(own))).toBe(true);
    expect(s.sameOrigin(foreign, creds(foreign))).toBe(false);
    expect(s.sameOrigin(noOrigin, creds(noOrigin))).toBe(false);
    expect(s.sameOrigin(fetchMeta, creds(fetchMeta))).toBe(true);
    expect(s.sameOrigin(read, creds(read))).toBe(true);
    expect(s.sameOrigin(bearer, creds(bearer))).toBe(true);
  });
});
