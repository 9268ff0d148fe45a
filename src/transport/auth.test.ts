import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FailureLimiter, generateToken, originAllowed, presentedToken, TokenGate, tokensEqual } from './auth.js';

const req = (url: string, headers: Record<string, string> = {}) =>
  ({ url, headers, socket: { remoteAddress: '10.0.0.1' } }) as unknown as IncomingMessage;

describe('tokens', () => {
  it('generates distinct URL-safe tokens', () => {
    const a = generateToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(generateToken()).not.toBe(a);
  });
  it('compares exactly', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abd', 'abc')).toBe(false);
    expect(tokensEqual('abc ', 'abc')).toBe(false);
    expect(tokensEqual('', 'abc')).toBe(false);
  });
  it('reads the token from the query or a bearer header', () => {
    expect(presentedToken(req('/ws?token=t%2B1'))).toBe('t+1');
    expect(presentedToken(req('/api/info', { authorization: 'Bearer xyz' }))).toBe('xyz');
    expect(presentedToken(req('/ws'))).toBeNull();
  });
});

describe('FailureLimiter', () => {
  it('blocks an address after too many failures until the window passes', () => {
    let now = 0;
    const lim = new FailureLimiter(3, 1000, 100, () => now);
    for (let i = 0; i < 3; i++) lim.recordFailure('a');
    expect(lim.allowed('a')).toBe(false);
    expect(lim.allowed('b')).toBe(true);
    now = 1500;
    expect(lim.allowed('a')).toBe(true);
  });
  it('remembers a bounded number of addresses', () => {
    const lim = new FailureLimiter(1, 60_000, 2);
    lim.recordFailure('a');
    lim.recordFailure('b');
    lim.recordFailure('c');
    expect(lim.allowed('a')).toBe(true);
    expect(lim.allowed('c')).toBe(false);
  });
});

describe('originAllowed', () => {
  it('allows no Origin, the own origin and configured ones; refuses others', () => {
    expect(originAllowed(req('/ws', { host: 'me.example:8443' }), [])).toBe(true);
    expect(originAllowed(req('/ws', { host: 'me.example:8443', origin: 'https://me.example:8443' }), [])).toBe(true);
    expect(originAllowed(req('/ws', { host: 'me.example:8443', origin: 'https://evil.example' }), [])).toBe(false);
    expect(originAllowed(req('/ws', { host: 'me.example:8443', origin: 'http://me.example:8443' }), [])).toBe(false);
    expect(originAllowed(req('/ws', { host: 'localhost:8443', origin: 'https://talk.example.org' }), ['https://talk.example.org/'])).toBe(true);
  });
});

describe('TokenGate', () => {
  it('counts failures per address and refuses a locked address', () => {
    const gate = new TokenGate('short-token', new FailureLimiter(3, 60_000));
    expect(gate.check('a', 'short-token')).toBe('ok');
    for (let i = 0; i < 3; i++) expect(gate.check('a', 'guess')).toBe('unauthorized');
    expect(gate.check('a', null)).toBe('rate_limited');
    // A weak token is no way out of the lockout: guessing must stay slow.
    expect(gate.check('a', 'short-token')).toBe('rate_limited');
    expect(gate.check('b', 'short-token')).toBe('ok');
  });

  it('lets the right strong token through a lockout that strangers caused (shared tunnel address)', () => {
    const token = generateToken();
    const gate = new TokenGate(token, new FailureLimiter(3, 60_000));
    for (let i = 0; i < 5; i++) gate.check('127.0.0.1', 'guess');
    expect(gate.check('127.0.0.1', 'guess')).toBe('rate_limited');
    expect(gate.check('127.0.0.1', token)).toBe('ok');
  });
});
