import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifySignature } from './signature.js';

const SECRET = 'a-long-shared-secret-0123';

describe('Duet-Signature', () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "t.body">', () => {
    const body = '{"type":"transcript.ready"}';
    const header = signBody(SECRET, body, 1_765_000_000.9);
    const mac = createHmac('sha256', SECRET).update(`1765000000.${body}`).digest('hex');
    expect(header).toBe(`t=1765000000,v1=${mac}`);
    expect(verifySignature(header, body, SECRET, 1_765_000_010)).toBe(true);
  });

  it('refuses another body, another secret, an old time and malformed headers', () => {
    const body = '{"a":1}';
    const header = signBody(SECRET, body, 1000);
    expect(verifySignature(header, '{"a":2}', SECRET, 1000)).toBe(false);
    expect(verifySignature(header, body, 'another-secret-0123456', 1000)).toBe(false);
    expect(verifySignature(header, body, SECRET, 1000 + 301)).toBe(false);
    for (const bad of [undefined, '', 't=1000', 'v1=abc', `t=x,${header.split(',')[1]}`, 'x'.repeat(2000)]) {
      expect(verifySignature(bad, body, SECRET, 1000)).toBe(false);
    }
  });
});
