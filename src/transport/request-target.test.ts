import { describe, expect, it } from 'vitest';
import { MAX_TARGET_CHARS, parseRequestTarget } from './request-target.js';

describe('parseRequestTarget', () => {
  it('parses origin-form targets', () => {
    expect(parseRequestTarget('/')?.pathname).toBe('/');
    expect(parseRequestTarget('/ws?token=t%2B1')?.searchParams.get('token')).toBe('t+1');
    expect(parseRequestTarget('/a/../b')?.pathname).toBe('/b');
    // `//host` stays a path, it does not become another authority.
    expect(parseRequestTarget('//evil.example/ws')?.pathname).toBe('//evil.example/ws');
  });

  it('answers null, never throws, for what it cannot parse or does not accept', () => {
    const bad = [
      undefined,
      '',
      '*',
      'ws',
      'https://evil.example/ws',
      'http://[::1/',
      '/\u0000',
      '/a b',
      '/\t',
      '/x\u007f',
      '/' + 'a'.repeat(MAX_TARGET_CHARS),
      '/%',
      '/\\\\evil',
    ];
    for (const raw of bad) {
      let result: unknown;
      expect(() => (result = parseRequestTarget(raw))).not.toThrow();
      if (raw !== '/%' && raw !== '/\\\\evil') expect(result, JSON.stringify(raw)).toBeNull();
    }
    // Stray percent signs and backslashes are valid paths; the static handler refuses them later.
    expect(parseRequestTarget('/\\\\evil')?.pathname.startsWith('/')).toBe(true);
  });
});
