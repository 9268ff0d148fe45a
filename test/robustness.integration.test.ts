/**
 * Every bad input of protocol.md and issues #2/#5 gets a coded error (or a refused upgrade),
 * the offending connection keeps working where the protocol says so, and a normal
 * conversation on another connection is unaffected.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToPcm16 } from '../src/audio/wav.js';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { loadConversation, type Conversation } from '../src/testing/corpus.js';
import { startTestServer } from './helpers/server.js';

type Err = Extract<Received, { type: 'error' }>;

function wsUrl(server: RunningServer, query = `?token=${server.token}`): string {
  return `wss://127.0.0.1:${server.port}/ws${query}`;
}

/** Resolves with the HTTP status of a refused upgrade, or 101 when it was accepted. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false, headers });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('error', () => resolve(-1));
  });
}

async function errorAfter(client: ProtocolClient, act: () => void, code: string): Promise<Err> {
  const from = client.messages.length;
  act();
  return (await client.next((m) => m.type === 'error' && m.code === code, 10_000, from)) as Err;
}

describe('bad input', () => {
  let server: RunningServer;
  let conv: Conversation;

  beforeAll(async () => {
    conv = loadConversation('1688-2033-easy');
    server = await startTestServer({ MAX_SESSIONS: 6, MAX_ENROLLMENT_S: 30, MAX_FRAME_BYTES: 65_536 });
  });
  afterAll(() => server?.close());

  it('refuses a missing or wrong token and a foreign Origin before any audio', async () => {
    expect(await upgradeStatus(wsUrl(server, ''))).toBe(401);
    expect(await upgradeStatus(wsUrl(server, '?token=wrong'))).toBe(401);
    expect(await upgradeStatus(wsUrl(server), { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(wsUrl(server), { Origin: `https://127.0.0.1:${server.port}` })).toBe(101);
  });

  it('answers malformed control messages with codes and keeps the connection', async () => {
    const c = await ProtocolClient.connect({ url: server.url, token: server.token });
    await errorAfter(c, () => c.ws.send('{not json'), 'bad_json');
    await errorAfter(c, () => c.ws.send(randomBytes(300).toString('latin1')), 'bad_json');
    await errorAfter(c, () => c.send({ type: 'teleport' }), 'unknown_type');
    await errorAfter(c, () => c.send({ type: 'start_speaker_registration', speaker_id: 2 }), 'bad_message');
    await errorAfter(c, () => c.send({ type: 'start_speaker_registration', speaker_id: 0, name: 7 }), 'bad_message');
    await errorAfter(c, () => c.ws.send(`{"type":"stop_transcription","x":${'['.repeat(10_00)}${']'.repeat(10_00)}}`), 'bad_message');
    await errorAfter(c, () => c.send({ type: 'stop_transcription' }), 'wrong_state');
    await errorAfter(c, () => c.send({ type: 'complete_speaker_registration', speaker_id: 1 }), 'wrong_state');
    await errorAfter(c, () => c.send({ type: 'start_transcription' }), 'not_registered');
    await errorAfter(c, () => c.ws.send(Buffer.alloc(3)), 'odd_length_audio');
    await errorAfter(c, () => c.ws.send(Buffer.alloc(10 * 1024 * 1024)), 'frame_too_large');
    // Audio while idle: one error, not one per frame.
    const from = c.messages.length;
    for (let i = 0; i < 20; i++) c.sendAudio(Buffer.alloc(320));
    await c.next((m) => m.type === 'error' && m.code === 'unexpected_audio', 10_000, from);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.messages.slice(from).filter((m) => m.type === 'error' && m.code === 'unexpected_audio')).toHaveLength(1);
    // Still working: a registration succeeds on the same connection.
    const done = await c.enroll(0, conv.enrollA);
    expect(done.type).toBe('speaker_registration_completed');
    expect(c.closeCode).toBeNull();
    await c.close();
  });

  it('closes an over-long registration automatically', async () => {
    const c = await ProtocolClient.connect({ url: server.url, token: server.token });
    const long = new Float32Array(31 * 16_000);
    long.set(conv.enrollA.subarray(0, Math.min(conv.enrollA.length, long.length)));
    const from = c.messages.length;
    c.send({ type: 'start_speaker_registration', speaker_id: 1 });
    await c.streamAudio(long);
    await c.next((m) => m.type === 'error' && m.code === 'registration_too_long', 20_000, from);
    const result = await c.next(
      (m) => m.type === 'speaker_registration_completed' || m.type === 'speaker_registration_failed',
      20_000,
      from,
    );
    expect(result.type).toBe('speaker_registration_completed');
    await c.close();
  });

  it('survives floods, churn, a reader that stalls and a client that vanishes, while a real conversation runs', async () => {
    const main = await ProtocolClient.connect({ url: server.url, token: server.token });
    expect((await main.enroll(0, conv.enrollA)).type).toBe('speaker_registration_completed');
    expect((await main.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
    const from = main.messages.length;
    main.send({ type: 'start_transcription' });
    const mainDone = main.streamAudio(conv.audio.subarray(0, 40 * 16_000), { realTime: false, frameSamples: 1600 });

    // 1000 tiny frames in about a second, registering.
    const tiny = await ProtocolClient.connect({ url: server.url, token: server.token });
    tiny.send({ type: 'start_speaker_registration', speaker_id: 0 });
    for (let i = 0; i < 1000; i++) {
      tiny.sendAudio(Buffer.alloc(2));
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 100));
    }
    // A client that stops reading while it streams a conversation.
    const stalled = await ProtocolClient.connect({ url: server.url, token: server.token });
    await stalled.enroll(0, conv.enrollA);
    await stalled.enroll(1, conv.enrollB);
    stalled.send({ type: 'start_transcription' });
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    stalled.sendAudio(floatToPcm16(conv.audio.subarray(0, 20 * 16_000)));
    // A client that disconnects in the middle of a conversation.
    const vanish = await ProtocolClient.connect({ url: server.url, token: server.token });
    await vanish.enroll(0, conv.enrollA);
    await vanish.enroll(1, conv.enrollB);
    vanish.send({ type: 'start_transcription' });
    await vanish.streamAudio(conv.audio.subarray(0, 10 * 16_000));
    vanish.ws.terminate();
    // 200 connect/disconnect cycles.
    for (let i = 0; i < 200; i++) {
      const ws = new WebSocket(wsUrl(server), { rejectUnauthorized: false });
      await new Promise<void>((r) => {
        ws.once('open', () => {
          ws.close();
          r();
        });
        ws.once('error', () => r());
        ws.once('unexpected-response', () => r());
      });
    }

    await mainDone;
    main.send({ type: 'stop_transcription' });
    const stopped = await main.next((m) => m.type === 'transcription_stopped', 60_000, from);
    const segs = main.messages.slice(from).filter((m) => m.type === 'segment');
    expect(segs.length).toBeGreaterThan(3);
    expect(stopped).toMatchObject({ segments: segs.length });
    expect(main.messages.slice(from).filter((m) => m.type === 'error')).toEqual([]);

    tiny.ws.terminate();
    stalled.ws.terminate();
    await main.close();
    // Every session is freed.
    for (let i = 0; i < 50 && server.sessions() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(server.sessions()).toBe(0);
  });

  it('refuses sessions over the limit with a clear message', async () => {
    const clients = await Promise.all(
      Array.from({ length: 6 }, () => ProtocolClient.connect({ url: server.url, token: server.token })),
    );
    const extra = new WebSocket(wsUrl(server), { rejectUnauthorized: false });
    const [code, message] = await new Promise<[number, string]>((resolve) => {
      let msg = '';
      extra.on('message', (d) => (msg = d.toString()));
      extra.on('close', (c) => resolve([c, msg]));
    });
    expect(code).toBe(1013);
    expect(JSON.parse(message)).toMatchObject({ type: 'error', code: 'server_busy' });
    await Promise.all(clients.map((c) => c.close()));
  });
});
