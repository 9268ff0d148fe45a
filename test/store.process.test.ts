/**
 * Durability of the real server process: kill -9 in the middle of a conversation, start again
 * on the same DATA_DIR, and the conversation is listed and complete up to the last message
 * the client was sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../src/paths.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { loadConversation } from '../src/testing/corpus.js';
import { api } from './helpers/api.js';

const TOKEN = 'durability-test-token-0123456789';

describe('kill -9 of the server mid-conversation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-kill-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts src/main.ts on a free port and resolves with its base URL. */
  async function startMain(): Promise<{ child: ChildProcess; url: string; err: () => string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), '--port=0', '--host=127.0.0.1'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TLS_CERT: join(dir, 'fullchain.pem'),
        TLS_KEY: join(dir, 'privkey.pem'),
        DATA_DIR: join(dir, 'data'),
        ACCESS_TOKEN: TOKEN,
        ASR_MODEL: 'none',
        SPEAKER_ENCODER: 'builtin',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const port = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no link printed:\n${out}\n${err}`)), 60_000);
      const poll = setInterval(() => {
        const m = /Open:\s+https:\/\/[^:/]+:(\d+)\//.exec(out);
        if (m) {
          clearInterval(poll);
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }, 50);
    });
    return { child, url: `https://127.0.0.1:${port}/`, err: () => err };
  }

  it('lists the conversation after a restart, complete up to the last message sent', async () => {
    const conv = loadConversation('1688-1998-easy');
    const first = await startMain();
    const client = await ProtocolClient.connect({ url: first.url, token: TOKEN });
    expect((await client.enroll(0, conv.enrollA, 'Alice')).type).toBe('speaker_registration_completed');
    expect((await client.enroll(1, conv.enrollB, 'Bob')).type).toBe('speaker_registration_completed');
    client.send({ type: 'start_transcription', language: 'en' });
    const started = (await client.next((m) => m.type === 'transcription_started')) as Extract<Received, { type: 'transcription_started' }>;
    // Stream without waiting and kill the process as soon as a few segments have been shown:
    // the kill lands while the server is busy writing and sending.
    const streaming = client.streamAudio(conv.audio).catch(() => undefined);
    await client.next((m) => m.type === 'transcription' && m.segment_id >= 3, 120_000);
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    await streaming;
    const shown = client.messages.filter((m): m is Extract<Received, { type: 'segment' }> => m.type === 'segment');
    const texts = client.messages.filter((m) => m.type === 'transcription');
    expect(shown.length).toBeGreaterThanOrEqual(4);
    await client.close().catch(() => undefined);
    // As if the kill had landed in the middle of an append: a torn last record.
    const events = join(dir, 'data', 'conversations', started.conversation_id!, 'events.jsonl');
    appendFileSync(events, '{"k":"transcription","segment_id":99,"te');

    const second = await startMain();
    const list = await api(second.url, TOKEN, 'GET', '/api/conversations');
    expect(list.status).toBe(200);
    const items = list.json<Array<{ id: string; ended_at: string | null; segments: number; speakers: unknown[] }>>();
    const item = items.find((c) => c.id === started.conversation_id);
    expect(item).toBeDefined();
    expect(item!.ended_at).not.toBeNull(); // a conversation left open by a dead process is ended at restart
    expect(item!.speakers).toEqual([{ id: 0, name: 'Alice' }, { id: 1, name: 'Bob' }]);
    const rec = (await api(second.url, TOKEN, 'GET', `/api/conversations/${started.conversation_id}`)).json<{
      segments: Array<{ segment_id: number; speaker_id: number | null; start: number; end: number; text: string | null }>;
    }>();
    // Every message the client was shown is on disk, with the same values; the disk may hold
    // a little more (written, then killed before sending), never less.
    const stored = new Map(rec.segments.map((s) => [s.segment_id, s]));
    for (const s of shown) expect(stored.get(s.segment_id)).toMatchObject({ speaker_id: s.speaker_id, start: s.start, end: s.end });
    expect(rec.segments.map((s) => s.segment_id)).toEqual(rec.segments.map((_, i) => i));
    expect(rec.segments.length).toBeLessThanOrEqual(shown.length + 2);
    expect(texts.length).toBeGreaterThan(0);
    // The torn record was cut away at start, leaving whole lines only.
    const repaired = readFileSync(events, 'utf8');
    expect(repaired.endsWith('\n')).toBe(true);
    expect(repaired).not.toContain('"segment_id":99');
    expect(second.err()).toContain('repaired 1 torn record(s)');
    second.child.kill('SIGTERM');
  });
});
