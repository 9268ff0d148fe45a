/**
 * The front pool over a real WSS server (FRONT_THREADS = 2): two sessions land on the two
 * workers; when one worker dies, its session hears `front_crashed` and is closed (1011), the
 * other goes on to the end of its conversation untouched, and a new session is served.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { loadConversation, type Conversation } from '../src/testing/corpus.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { startTestServer } from './helpers/server.js';

describe('front worker pool over WSS', () => {
  let server: RunningServer;
  let conv: Conversation;
  const asr = new FakeAsrEngine({ text: (samples) => `${(samples.length / 16_000).toFixed(2)} s`, delayMs: 5 });
  const clients: ProtocolClient[] = [];

  beforeAll(async () => {
    conv = loadConversation('1688-1998-easy');
    server = await startTestServer({ FRONT_THREADS: 2, MAX_SESSIONS: 8 }, { asr });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  const connect = async () => {
    const c = await ProtocolClient.connect({ url: server.url, token: server.token });
    clients.push(c);
    return c;
  };
  const registerAndStart = async (c: ProtocolClient) => {
    expect((await c.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    expect((await c.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    const from = c.messages.length;
    c.send({ type: 'start_transcription', language: 'en' });
    await c.next((m) => m.type === 'transcription_started', 10_000, from);
  };

  it('a crashed worker ends only its own session, with a coded error; the pool serves new sessions', async () => {
    const pool = server.frontPool!;
    expect(pool).not.toBeNull();
    // Least loaded first: the first session goes to worker 0, the second to worker 1.
    const a = await connect();
    const b = await connect();
    expect(pool.loads).toEqual([1, 1]);
    await Promise.all([registerAndStart(a), registerAndStart(b)]);
    const half = Math.floor(conv.audio.length / 2);
    await Promise.all([a.streamAudio(conv.audio.subarray(0, half)), b.streamAudio(conv.audio.subarray(0, half))]);
    await b.next((m) => m.type === 'segment', 60_000);

    pool.crashWorkerForTest(0);
    const crashed = (await a.next((m) => m.type === 'error' && m.code === 'front_crashed', 30_000)) as Extract<Received, { type: 'error' }>;
    expect(crashed.message).toMatch(/reconnect/);
    await new Promise<void>((resolve) => (a.closeCode !== null ? resolve() : a.ws.once('close', () => resolve())));
    expect(a.closeCode).toBe(1011);

    // The other session streams on to the end and stops cleanly, without an error.
    const from = b.messages.length;
    await b.streamAudio(conv.audio.subarray(half));
    b.send({ type: 'stop_transcription' });
    await b.next((m) => m.type === 'transcription_stopped', 120_000, from);
    expect(b.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(b.messages.filter((m) => m.type === 'segment').length).toBeGreaterThan(3);
    expect(b.closeCode).toBeNull();

    // A new session is served (by the survivor or worker 0's replacement).
    const c = await connect();
    await registerAndStart(c);
    const fromC = c.messages.length;
    await c.streamAudio(conv.audio);
    c.send({ type: 'stop_transcription' });
    await c.next((m) => m.type === 'transcription_stopped', 120_000, fromC);
    expect(c.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(c.messages.filter((m) => m.type === 'segment').length).toBeGreaterThan(5);
  }, 300_000);

  it('160 sessions connecting at once are admitted up to MAX_SESSIONS or refused (server_busy), and the pool holds', async () => {
    const pool = server.frontPool!;
    const open = server.sessions();
    const sockets: WebSocket[] = [];
    const url = `wss://127.0.0.1:${server.port}/ws?token=${encodeURIComponent(server.token)}`;
    const outcomes = await Promise.all(
      Array.from(
        { length: 160 },
        () =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(url, { rejectUnauthorized: false });
            sockets.push(ws);
            let first = '';
            ws.on('message', (d) => {
              first ||= (JSON.parse(d.toString()) as { type: string; code?: string }).code ?? (JSON.parse(d.toString()) as { type: string }).type;
              if (first === 'model_loaded') resolve('admitted');
            });
            ws.on('close', (code) => resolve(first === 'server_busy' && code === 1013 ? 'refused' : `closed ${code} after ${first || 'nothing'}`));
            ws.on('error', () => undefined);
          }),
      ),
    );
    const admitted = outcomes.filter((o) => o === 'admitted').length;
    expect(admitted).toBe(8 - open);
    for (const ws of sockets) ws.terminate();
    for (let i = 0; i < 50 && server.sessions() > open; i++) await new Promise((r) => setTimeout(r, 100));
    expect(outcomes.filter((o) => o !== 'admitted' && o !== 'refused')).toEqual([]);
    // Both workers are alive and serve a session to the end.
    expect(pool.loads.length).toBe(2);
    const c = await connect();
    await registerAndStart(c);
    const from = c.messages.length;
    await c.streamAudio(conv.audio.subarray(0, 16_000 * 10));
    c.send({ type: 'stop_transcription' });
    await c.next((m) => m.type === 'transcription_stopped', 120_000, from);
    expect(c.messages.filter((m) => m.type === 'error')).toEqual([]);
  }, 300_000);
});
