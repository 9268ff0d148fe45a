/**
 * Sign-in over a real HTTPS server: the kept token survives a restart, the link becomes a
 * session cookie (and leaves the address), the cookie opens the API and the WebSocket, a
 * cross-site change with the cookie is refused, rotation and sign-out end sessions, a tampered
 * cookie is refused, and Bearer tokens keep working.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { tokenPathOf, writeNewToken } from '../src/transport/token-file.js';
import { startTestServer } from './helpers/server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function hit(server: RunningServer, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method, rejectUnauthorized: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a WebSocket with these headers opens (true) or is refused (the HTTP status). */
function openWs(server: RunningServer, headers: Record<string, string>): Promise<true | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.url.replace('https', 'wss')}ws`, { rejectUnauthorized: false, headers });
    ws.on('open', () => {
      ws.close();
      resolve(true);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', () => undefined);
  });
}

const cookieOf = (a: Answer) => String((a.headers['set-cookie'] as string[] | undefined)?.[0] ?? '').split(';')[0]!;

describe('sign-in over HTTPS', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'duet-signin-data-'));
  const servers: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = async () => {
    const s = await startTestServer({ DATA_DIR: dataDir, SESSION_TTL_H: 2 });
    servers.push(s);
    return s;
  };

  it('keeps the token across a restart, owner-only', async () => {
    const first = await start();
    const token = first.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await first.close();
    const second = await start();
    expect(second.token).toBe(token);
    expect(statSync(tokenPathOf(dataDir)).mode & 0o777).toBe(0o600);
  });

  it('exchanges the link for a cookie that opens the API and the WebSocket; sign-out ends it', async () => {
    const server = servers.at(-1)!;
    const page = await hit(server, 'GET', `/?token=${server.token}`);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/');
    const setCookie = String((page.headers['set-cookie'] as string[])[0]);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', `Max-Age=${2 * 3600}`]) expect(setCookie).toContain(attr);
    const cookie = cookieOf(page);
    // A bookmark or a new tab: no token, only the cookie.
    expect((await hit(server, 'GET', '/')).status).toBe(200);
    expect((await hit(server, 'GET', '/api/conversations', { cookie })).status).toBe(200);
    expect((await hit(server, 'GET', '/api/conversations')).status).toBe(401);
    expect(JSON.parse((await hit(server, 'GET', '/api/session', { cookie })).text)).toMatchObject({ via: 'cookie' });
    const origin = server.url.replace(/\/$/, '');
    expect(await openWs(server, { cookie, origin })).toBe(true);
    // Bearer keeps working for the API, the CLI and workers.
    expect((await hit(server, 'GET', '/api/conversations', { authorization: `Bearer ${server.token}` })).status).toBe(200);
    expect(await openWs(server, { authorization: `Bearer ${server.token}` })).toBe(true);
    // A cross-site change carrying the cookie is refused; the page's own is not.
    const gone = '0'.repeat(22);
    expect((await hit(server, 'DELETE', `/api/conversations/${gone}`, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await hit(server, 'DELETE', `/api/conversations/${gone}`, { cookie, origin })).status).toBe(404);
    expect((await hit(server, 'DELETE', `/api/conversations/${gone}`, { authorization: `Bearer ${server.token}` })).status).toBe(404);
    // Tampered.
    const tampered = cookie.slice(0, -3) + (cookie.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await hit(server, 'GET', '/api/conversations', { cookie: tampered })).status).toBe(401);
    expect(await openWs(server, { cookie: tampered, origin })).toBe(401);
    // Sign out.
    const out = await hit(server, 'DELETE', '/api/session', { cookie, origin });
    expect(out.status).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await hit(server, 'GET', '/api/conversations', { cookie })).status).toBe(401);
    expect(await openWs(server, { cookie, origin })).toBe(401);
  });

  it('a wrong link serves the page (which says access is denied) and sets no cookie', async () => {
    const server = servers.at(-1)!;
    const page = await hit(server, 'GET', `/?token=${'W'.repeat(22)}`);
    expect(page.status).toBe(200);
    expect(page.headers['set-cookie']).toBeUndefined();
  });

  it('rotation ends every session and the old link, without a restart', async () => {
    const server = servers.at(-1)!;
    const old = server.token;
    const cookie = cookieOf(await hit(server, 'GET', `/?token=${old}`));
    expect((await hit(server, 'GET', '/api/conversations', { cookie })).status).toBe(200);
    // An open session, signed in with the cookie, is ended too.
    const live = new WebSocket(`${server.url.replace('https', 'wss')}ws`, { rejectUnauthorized: false, headers: { cookie, origin: server.url.replace(/\/$/, '') } });
    live.on('error', () => undefined);
    await new Promise((r) => live.once('open', r));
    const closed = new Promise<number>((r) => live.once('close', (code) => r(code)));
    const fresh = await writeNewToken(tokenPathOf(dataDir), dataDir);
    // The server looks at the file once a second.
    expect(await closed).toBe(4401);
    expect((await hit(server, 'GET', '/api/conversations', { cookie })).status).toBe(401);
    expect((await hit(server, 'GET', `/?token=${old}`)).status).toBe(200);
    expect(server.token).toBe(fresh);
    const again = cookieOf(await hit(server, 'GET', `/?token=${fresh}`));
    expect((await hit(server, 'GET', '/api/conversations', { cookie: again })).status).toBe(200);
  });
});
