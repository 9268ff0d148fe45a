import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStaticHandler, safeJoin } from './static.js';

/** Lets a test make the next file read fail after it was opened (EACCES, file removed…). */
const readFailure = vi.hoisted(() => ({ next: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const { Readable } = await import('node:stream');
  return {
    ...fs,
    createReadStream: ((...args: Parameters<typeof fs.createReadStream>) => {
      if (!readFailure.next) return fs.createReadStream(...args);
      readFailure.next = false;
      return new Readable({
        read() {
          this.destroy(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
        },
      });
    }) as typeof fs.createReadStream,
  };
});

describe('safeJoin', () => {
  it('refuses paths that leave the root', () => {
    expect(safeJoin('/srv/public', '/index.html')).toBe('/srv/public/index.html');
    expect(safeJoin('/srv/public', '/../etc/passwd')).toBeNull();
    expect(safeJoin('/srv/public', '/%2e%2e/etc/passwd')).toBeNull();
    expect(safeJoin('/srv/public', '/a/%2E%2E/%2E%2E/x')).toBeNull();
    expect(safeJoin('/srv/public', '/..%2fsecret')).toBeNull();
    expect(safeJoin('/srv/public', '/x%00.html')).toBeNull();
    expect(safeJoin('/srv/public', '/%E0%A4%A')).toBeNull();
    expect(safeJoin('/srv/public', '/a\\..\\b')).toBeNull();
  });
});

describe('static handler', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'static-'));
    const root = join(dir, 'public');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<h1>hi</h1>');
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    symlinkSync(join(dir, 'secret.txt'), join(root, 'link.txt'));
    const handle = createStaticHandler(root);
    server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('serves the index with security headers', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('hi');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('survives a file that cannot be read (no unhandled stream error)', async () => {
    readFailure.next = true;
    await fetch(`${base}/index.html`).then(
      (res) => res.text(),
      () => '',
    ).catch(() => '');
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('hi');
  });

  it('does not follow a symlink out of the root', async () => {
    const res = await fetch(`${base}/link.txt`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('secret');
  });

  it('refuses encoded traversal', async () => {
    for (const p of ['/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%252e%252e/secret.txt']) {
      const res = await fetch(`${base}${p}`);
      expect([400, 404]).toContain(res.status);
      expect(await res.text()).not.toContain('secret\n');
    }
  });
});
