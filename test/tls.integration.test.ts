/**
 * TLS: a self-signed pair is generated when none exists, covers localhost and 127.0.0.1, and a
 * reload switches new connections to new files without dropping open ones.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpsGet } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient } from '../src/testing/client.js';
import { isSelfSigned, loadOrCreateTls } from '../src/transport/certs.js';
import { presentedFingerprint, startTestServer } from './helpers/server.js';


describe('TLS material', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a self-signed certificate for local names once, then loads it', async () => {
    const cert = join(dir, 'a/fullchain.pem');
    const key = join(dir, 'a/privkey.pem');
    const first = await loadOrCreateTls(cert, key);
    expect(first.generated).toBe(true);
    const x = new X509Certificate(first.cert);
    expect(x.subjectAltName).toContain('DNS:localhost');
    expect(x.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(first.key))).toBe(true);
    const second = await loadOrCreateTls(cert, key);
    expect(second.generated).toBe(false);
    expect(second.cert.equals(first.cert)).toBe(true);
  });

  it('refuses a certificate without its key', async () => {
    const cert = join(dir, 'b/fullchain.pem');
    const key = join(dir, 'b/privkey.pem');
    await loadOrCreateTls(cert, key);
    rmSync(key);
    await expect(loadOrCreateTls(cert, key)).rejects.toThrow(/privkey/);
  });
});

describe('certificate reload', () => {
  let server: RunningServer;
  afterAll(() => server?.close());

  it('serves new connections with the new certificate and keeps open ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-reload-'));
    const cert = join(dir, 'fullchain.pem');
    const key = join(dir, 'privkey.pem');
    server = await startTestServer({ TLS_CERT: cert, TLS_KEY: key });
    const before = await presentedFingerprint(server.port);
    const open = await ProtocolClient.connect({ url: server.url, token: server.token });

    // Replace the files with another self-signed pair, as certbot's renewal would.
    const other = await loadOrCreateTls(join(dir, 'next/fullchain.pem'), join(dir, 'next/privkey.pem'));
    writeFileSync(cert, other.cert);
    writeFileSync(key, other.key);
    await server.reloadTls();

    const after = await presentedFingerprint(server.port);
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(other.cert).fingerprint256);
    // The connection opened before the reload still works.
    const from = open.messages.length;
    open.send({ type: 'stop_transcription' });
    const reply = await open.next((m) => m.type === 'error', 5000, from);
    expect(reply).toMatchObject({ code: 'wrong_state' });
    await open.close();
  });
});

describe('HSTS', () => {
  it('is not sent with a self-signed certificate', async () => {
    const server = await startTestServer();
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpsGet(
          { host: '127.0.0.1', port: server.port, path: '/healthz', rejectUnauthorized: false },
          resolve,
        );
        req.on('error', reject);
      });
      res.resume();
      expect(res.statusCode).toBe(200);
      expect(res.headers['strict-transport-security']).toBeUndefined();
      const dir = mkdtempSync(join(tmpdir(), 'duet-hsts-'));
      expect(isSelfSigned((await loadOrCreateTls(join(dir, 'c.pem'), join(dir, 'k.pem'))).cert)).toBe(true);
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await server.close();
    }
  });
});
