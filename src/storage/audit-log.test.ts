import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, auditActionOf, parseAuditLine } from './audit-log.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-audit-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('auditActionOf', () => {
  it('names what a request does to stored data, and nothing else', () => {
    const id = 'a'.repeat(22);
    expect(auditActionOf('GET', '/api/conversations')).toEqual({ action: 'list', conversation_id: null, voice_id: null });
    expect(auditActionOf('GET', `/api/conversations/${id}`)).toMatchObject({ action: 'read', conversation_id: id });
    expect(auditActionOf('GET', `/api/conversations/${id}/export`)).toMatchObject({ action: 'export', conversation_id: id });
    expect(auditActionOf('PATCH', `/api/conversations/${id}`)).toMatchObject({ action: 'edit', conversation_id: id });
    expect(auditActionOf('POST', `/api/conversations/${id}/notes`)).toMatchObject({ action: 'edit', conversation_id: id });
    expect(auditActionOf('DELETE', `/api/conversations/${id}`)).toMatchObject({ action: 'delete', conversation_id: id });
    expect(auditActionOf('GET', `/api/voices/${id}`)).toMatchObject({ action: 'voice_read', voice_id: id });
    expect(auditActionOf('DELETE', `/api/voices/${id}`)).toMatchObject({ action: 'voice_delete', voice_id: id });
    expect(auditActionOf('GET', '/api/audit')).toMatchObject({ action: 'audit_read' });
    expect(auditActionOf('GET', '/api/search')).toMatchObject({ action: 'search', conversation_id: null });
    expect(auditActionOf('GET', '/api/info')).toBeNull();
    expect(auditActionOf('GET', '/index.html')).toBeNull();
    expect(auditActionOf('GET', `/api/conversations/${'x'.repeat(500)}`)!.conversation_id!.length).toBe(64);
  });
});

describe('AuditLog', () => {
  it('appends owner-only entries and answers newest first, by conversation', async () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    await log.record({ action: 'sign_in', session: 'abcdef012345', via: 'cookie', ip: '127.0.0.1' });
    await log.record({ action: 'read', conversation_id: 'c1', ip: '127.0.0.1' });
    await log.record({ action: 'export', conversation_id: 'c2', ip: '127.0.0.1' });
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
    const all = await log.query({ limit: 10 });
    expect(all.map((e) => e.action)).toEqual(['export', 'read', 'sign_in']);
    expect((await log.query({ limit: 10, conversationId: 'c1' })).map((e) => e.action)).toEqual(['read']);
    expect(await log.query({ limit: 1 })).toHaveLength(1);
  });

  it('flush waits for entries recorded without waiting (fire and forget), so the folder can go', async () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    for (let i = 0; i < 20; i++) void log.record({ action: 'read', conversation_id: `c${i}` });
    await log.flush();
    expect(readFileSync(log.path, 'utf8').trim().split('\n')).toHaveLength(20);
  });

  it('skips torn and foreign lines, and keeps what retention allows', async () => {
    const dir = tmp();
    let now = new Date('2026-01-01T00:00:00Z');
    const log = new AuditLog(dir, () => undefined, () => now);
    await log.record({ action: 'read', conversation_id: 'old' });
    now = new Date('2026-03-01T00:00:00Z');
    await log.record({ action: 'read', conversation_id: 'new' });
    appendFileSync(log.path, '{"t":"x","action":"rm -rf"}\nnot json\n{"t":"2026');
    expect((await log.query({ limit: 10 })).map((e) => e.conversation_id)).toEqual(['new', 'old']);
    expect(await log.prune(30)).toBe(4);
    expect((await log.query({ limit: 10 })).map((e) => e.conversation_id)).toEqual(['new']);
    expect(readFileSync(log.path, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
    expect(await log.prune(0)).toBe(0);
  });

  it('parses lines totally', () => {
    for (const bad of ['', '{}', 'null', '[]', '{"t":1}', 'x'.repeat(10_000)]) expect(parseAuditLine(bad)).toBeNull();
  });

  it('reports a failing disk instead of throwing', async () => {
    const errors: Error[] = [];
    const log = new AuditLog(join(tmp(), 'missing', 'deeper'), (e) => errors.push(e));
    await log.record({ action: 'read' });
    expect(errors).toHaveLength(1);
    await log.record({ action: 'read' });
    expect(errors).toHaveLength(2);
  });
});
