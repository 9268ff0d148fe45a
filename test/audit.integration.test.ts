/**
 * The access log over a real server: signing in, reading, exporting, editing and deleting a
 * stored conversation each leave one entry (time, action, id, session hash, address), never
 * the text, the title, the names, the token or the cookie; GET /api/audit shows them.
 */
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import type { AuditEntry } from '../src/storage/audit-log.js';
import { startTestServer } from './helpers/server.js';

function hit(server: RunningServer, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method, rejectUnauthorized: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('access log', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('records every read, export, edit, delete and sign-in without content or secrets', async () => {
    const meta = await server.store.createFinished({
      language: 'en',
      models: { asr: null, speaker: 'e', vad: 'v' },
      speakers: [
        { id: 0, name: 'Patient Zed' },
        { id: 1, name: 'Doctor Quinn' },
      ],
      title: 'Private consultation',
      endedAt: new Date(),
      audioS: 3,
      segments: [{ segment_id: 0, speaker_id: 0, start: 0, end: 2, text: 'my secret symptom' }],
    });
    const signIn = await hit(server, 'GET', `/?token=${server.token}`);
    const cookie = String((signIn.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    const origin = server.url.replace(/\/$/, '');
    const asPage = { cookie, origin };
    expect((await hit(server, 'GET', `/api/conversations/${meta.id}`, asPage)).status).toBe(200);
    expect((await hit(server, 'GET', `/api/conversations/${meta.id}/export?format=srt`, asPage)).status).toBe(200);
    const patch = JSON.stringify({ title: 'Renamed secret title' });
    expect((await hit(server, 'PATCH', `/api/conversations/${meta.id}`, { ...asPage, 'content-type': 'application/json', 'content-length': String(patch.length) }, patch)).status).toBe(200);
    expect((await hit(server, 'GET', `/api/conversations/${meta.id}`, { authorization: `Bearer ${server.token}` })).status).toBe(200);
    // Refused or missing things are not someone seeing data.
    expect((await hit(server, 'GET', `/api/conversations/${meta.id}`)).status).toBe(401);
    expect((await hit(server, 'DELETE', `/api/conversations/${meta.id}`, asPage)).status).toBe(200);
    expect((await hit(server, 'GET', `/api/conversations/${meta.id}`, asPage)).status).toBe(404);

    const answer = await hit(server, 'GET', '/api/audit?limit=50', asPage);
    expect(answer.status).toBe(200);
    const entries = (JSON.parse(answer.text) as { entries: AuditEntry[] }).entries.reverse();
    expect(entries.map((e) => e.action)).toEqual(['sign_in', 'read', 'export', 'edit', 'read', 'delete']);
    const session = entries[0]!.session;
    expect(session).toMatch(/^[0-9a-f]{12}$/);
    for (const e of entries.slice(1)) expect(e.conversation_id).toBe(meta.id);
    expect(entries.filter((e) => e.session === session).map((e) => e.via)).toEqual(['cookie', 'cookie', 'cookie', 'cookie', 'cookie']);
    expect(entries[4]).toMatchObject({ via: 'bearer', session: null, ip: '127.0.0.1' });

    const file = join(server.store.dataDir, 'audit.jsonl');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, 'utf8');
    for (const secret of ['secret', 'Patient', 'Quinn', 'consultation', server.token, cookie.split('=')[1]!]) expect(raw).not.toContain(secret);
    expect((await hit(server, 'GET', '/api/audit?limit=0', asPage)).status).toBe(400);
    expect((await hit(server, 'GET', '/api/audit?conversation=../x', asPage)).status).toBe(400);
    expect((await hit(server, 'GET', '/api/audit')).status).toBe(401);
  });
});
