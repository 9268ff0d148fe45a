/**
 * Every bad input of protocol.md and issues #2/#5 gets a coded error (or a refused upgrade),
 * the offending connection keeps working where the protocol says so, and a normal
 * conversation on another connection is unaffected.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsrQueue } from '../src/asr/queue.js';
import { RemoteAsrError, type RemoteAsrErrorCode } from '../src/asr/redis/streams.js';
import { floatToPcm16 } from '../src/audio/wav.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import type { RunningServer } from '../src/server.js';
import { laneRecognizer } from '../src/session/pipeline.js';
import type { ClosedSegment, Connection, PipelineFactory } from '../src/session/ports.js';
import { Conversations } from '../src/session/conversations.js';
import { MAX_INBOX_ITEMS, Session } from '../src/session/session.js';
import { ConversationStore } from '../src/storage/store.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { Gateway, type SessionHandle } from '../src/transport/gateway.js';
import { ProtocolClient, type Received } from '../src/testing/client.js';
import { loadConversation, type Conversation } from '../src/testing/corpus.js';
import { startTestServer } from './helpers/server.js';
import { FakeConnection } from '../src/testing/fake-ports.js';

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
    conv = loadConversation('1688-1998-easy');
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
    // Invalid UTF-8 in a text frame is bad input too, not a reason to close (1007).
    await errorAfter(c, () => c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x7d]), { binary: false }), 'bad_json');
    await errorAfter(c, () => c.send({ type: 'teleport' }), 'unknown_type');
    await errorAfter(c, () => c.send({ type: 'start_speaker_registration', speaker_id: 2 }), 'bad_message');
    await errorAfter(c, () => c.send({ type: 'start_speaker_registration', speaker_id: 0, name: 7 }), 'bad_message');
    await errorAfter(c, () => c.ws.send(`{"type":"stop_transcription","x":${'['.repeat(10_00)}${']'.repeat(10_00)}}`), 'bad_message');
    await errorAfter(c, () => c.send({ type: 'stop_transcription' }), 'wrong_state');
    await errorAfter(c, () => c.send({ type: 'complete_speaker_registration', speaker_id: 1 }), 'wrong_state');
    await errorAfter(c, () => c.send({ type: 'start_transcription' }), 'not_registered');
    await errorAfter(c, () => c.ws.send(Buffer.alloc(3)), 'odd_length_audio');
    // Just over MAX_FRAME_BYTES: a coded error, the frame is dropped, the connection stays.
    await errorAfter(c, () => c.ws.send(Buffer.alloc(65_536 + 2)), 'frame_too_large');
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

  it('closes (1009) a connection that sends a frame far above the largest allowed, without buffering it', async () => {
    const c = await ProtocolClient.connect({ url: server.url, token: server.token });
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    c.ws.send(Buffer.alloc(10 * 1024 * 1024));
    expect(await closed).toBe(1009);
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

    // A refused client whose first frame is a protocol error (reserved opcode 3), sent in the
    // same packet as its upgrade request: the refused socket must not crash the process.
    const raw = tlsConnect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
    raw.on('error', () => undefined);
    await new Promise<void>((r) => raw.once('secureConnect', () => r()));
    raw.write(
      `GET /ws?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    raw.write(Buffer.from([0x83, 0x82, 0, 0, 0, 0, 0x01, 0x02]));
    await new Promise((r) => setTimeout(r, 300));
    raw.destroy();
    const health = await new Promise<number>((resolve) => {
      httpsGet(`https://127.0.0.1:${server.port}/healthz`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(-1));
    });
    expect(health).toBe(200);
    await Promise.all(clients.map((c) => c.close()));
  });
});


interface PendingAsr {
  resolve(text: string): void;
  reject(err: unknown): void;
}

/** A pipeline where every pushed frame closes one segment and recognition waits for the test. */
function fakePipeline(opts: { flushThrows?: boolean; asrCapacity?: number; queue?: AsrQueue } = {}): PipelineFactory & { asr: PendingAsr[] } {
  const asr: PendingAsr[] = [];
  let at = 0;
  const segmentOf = (samples: number): ClosedSegment => {
    const seg = { startSample: at, endSample: at + samples, audio: new Float32Array(samples), audioStartSample: at };
    at += samples;
    return seg;
  };
  return {
    asr,
    models: { asr: 'fake', speaker: 'fake', vad: 'fake' },
    createFront: () => ({
      push: async (pcm16) => [segmentOf(pcm16.byteLength / 2)],
      flush: async () => {
        if (opts.flushThrows) throw new Error('flush failed');
        return [];
      },
    }),
    createRoom: () => ({
      enroll: async () => ({ ok: true, profile: null, speechSeconds: 3 }),
      has: () => true,
      assign: async (seg) => [{ startSample: seg.startSample, endSample: seg.endSample, speakerId: 0, similarity: [0.9, 0.1] }],
    }),
    createRecognizer: (session) =>
      opts.queue
        ? laneRecognizer(opts.queue, session)
        : {
            transcribe: (_samples, _language, signal) =>
              new Promise<string | null>((resolve, reject) => {
                asr.push({ resolve, reject });
                signal.addEventListener('abort', () => reject(new Error('aborted')));
              }),
            pending: 0,
            capacity: opts.asrCapacity ?? 16,
            close: () => undefined,
          },
  };
}


const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe('session flow control', () => {
  const log = createLogger('silent');
  const start = JSON.stringify({ type: 'start_transcription' });
  const stop = JSON.stringify({ type: 'stop_transcription' });

  it('stops reading a flood of control messages while it is busy, and resumes once they are handled', async () => {
    const conn = new FakeConnection();
    const pipeline = fakePipeline();
    const session = new Session(conn, { config: loadConfig(), pipeline, log });
    session.onText(start);
    session.onBinary(Buffer.alloc(320));
    session.onText(stop);
    await until(() => pipeline.asr.length === 1, 'the recognition job');
    // The stop now waits for recognition; valid messages keep coming.
    for (let i = 0; i < 3 * MAX_INBOX_ITEMS; i++) session.onText(stop);
    expect(conn.pauses).toBe(1);
    expect(conn.resumes).toBe(0);
    pipeline.asr[0]!.resolve('hello');
    await until(() => conn.of('error').length === 3 * MAX_INBOX_ITEMS, 'every message answered');
    expect(conn.resumes).toBe(1);
    const order = conn.sent.map((m) => m.type).filter((t) => t !== 'error');
    expect(order).toEqual(['model_loaded', 'transcription_started', 'segment', 'transcription', 'transcription_stopped']);
    await session.close();
  });

  it('answers stop_transcription even when closing the last segment fails', async () => {
    const conn = new FakeConnection();
    const session = new Session(conn, { config: loadConfig(), pipeline: fakePipeline({ flushThrows: true }), log });
    session.onText(start);
    session.onText(stop);
    await until(() => conn.of('transcription_stopped').length === 1, 'transcription_stopped');
    expect(conn.of('error')).toMatchObject([{ code: 'internal' }]);
    // And the session is idle again: a new conversation can start.
    session.onText(start);
    await until(() => conn.of('transcription_started').length === 2, 'a second start');
    await session.close();
  });

  it('keeps a fast replay within its share of the recognition queue instead of losing text to overload', async () => {
    const conn = new FakeConnection();
    // This session's share of the recognition queue: 2 jobs at once.
    const pipeline = fakePipeline({ asrCapacity: 2 });
    const config = loadConfig();
    const session = new Session(conn, { config, pipeline, log });
    session.onText(start);
    for (let i = 0; i < 10; i++) session.onBinary(Buffer.alloc(320));
    session.onText(stop);
    await until(() => pipeline.asr.length === 2, 'two jobs');
    await new Promise((r) => setTimeout(r, 50));
    expect(pipeline.asr).toHaveLength(2);
    for (let done = 0; done < 10; done++) {
      await until(() => pipeline.asr.length > done, `job ${done}`);
      pipeline.asr[done]!.resolve(`t${done}`);
    }
    await until(() => conn.of('transcription_stopped').length === 1, 'transcription_stopped');
    const texts = conn.of('transcription').map((m) => (m as { text: string }).text);
    expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`));
    expect(conn.of('error')).toEqual([]);
    await session.close();
  });
});

describe('session and engine faults', () => {
  const log = createLogger('silent');

  it('an engine time-out or crash gives that segment "" and an asr_failed error; the next segment is transcribed', async () => {
    const conn = new FakeConnection();
    const pipeline = fakePipeline();
    const session = new Session(conn, { config: loadConfig(), pipeline, log });
    session.onText(JSON.stringify({ type: 'start_transcription' }));
    for (let i = 0; i < 3; i++) session.onBinary(Buffer.alloc(320));
    session.onText(JSON.stringify({ type: 'stop_transcription' }));
    await until(() => pipeline.asr.length === 3, 'three jobs');
    pipeline.asr[0]!.reject(Object.assign(new Error('no answer'), { code: 'timeout' }));
    pipeline.asr[1]!.reject(Object.assign(new Error('died'), { code: 'crashed' }));
    pipeline.asr[2]!.resolve('back');
    await until(() => conn.of('transcription_stopped').length === 1, 'transcription_stopped');
    expect(conn.of('transcription').map((m) => (m as { text: string }).text)).toEqual(['', '', 'back']);
    expect(conn.of('error').map((m) => (m as { code: string }).code)).toEqual(['asr_failed', 'asr_failed']);
    await session.close();
  });

  it('remote recognition failures (workers behind Redis) reach the client as asr_failed with their cause; jobs carry the session and conversation ids', async () => {
    const codes: RemoteAsrErrorCode[] = ['unavailable', 'no_workers', 'deadline', 'dead_letter', 'engine'];
    // Segment i has 160 + i samples: the first five fail remotely, each with its code; the sixth is recognised.
    const engine = new FakeAsrEngine({ failWith: (samples) => (samples.length - 160 < codes.length ? new RemoteAsrError(codes[samples.length - 160]!, 'worker detail') : null) });
    const queue = new AsrQueue(engine, { maxQueued: 64 });
    const dir = mkdtempSync(join(tmpdir(), 'duet-remote-'));
    try {
      const store = new ConversationStore(dir);
      await store.init();
      const conversations = new Conversations({ store, resumeWindowS: 600, models: { asr: 'fake', speaker: 'fake', vad: 'fake' }, log, maxSuspended: 4 });
      const conn = new FakeConnection();
      const session = new Session(conn, { config: loadConfig(), pipeline: fakePipeline({ queue }), log, conversations });
      session.onText(JSON.stringify({ type: 'start_transcription' }));
      for (let i = 0; i <= codes.length; i++) session.onBinary(Buffer.alloc(2 * (160 + i)));
      session.onText(JSON.stringify({ type: 'stop_transcription' }));
      await until(() => conn.of('transcription_stopped').length === 1, 'transcription_stopped');
      expect(conn.of('transcription').map((m) => (m as { text: string }).text)).toEqual(['', '', '', '', '', `samples=${160 + codes.length}`]);
      const errors = conn.of('error') as Array<{ code: string; message: string }>;
      expect(errors.map((e) => e.code)).toEqual(codes.map(() => 'asr_failed'));
      codes.forEach((c, i) => expect(errors[i]!.message).toContain(`(${c}: `));
      // The worker's own words stay in the server log.
      expect(errors.some((e) => e.message.includes('worker detail'))).toBe(false);
      const conversationId = (conn.of('transcription_started')[0] as { conversation_id?: string }).conversation_id;
      expect(conversationId).toMatch(/\S/);
      const sessions = new Set(engine.calls.map((c) => c.session));
      expect(sessions.size).toBe(1);
      expect([...sessions][0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(engine.calls.map((c) => c.conversation)).toEqual(engine.calls.map(() => conversationId));
      await session.close();
      await queue.close();
      await conversations.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('gateway edge', () => {
  /** A plain-HTTP gateway with a scripted session, for heartbeat and send-buffer behaviour. */
  async function gatewayWith(
    heartbeatMs: number,
    onText: (conn: Connection, text: string) => void,
    maxSendBufferBytes?: number,
    idle: { timeoutMs: number; busy(): boolean } = { timeoutMs: 120_000, busy: () => false },
  ): Promise<{ url: string; gateway: Gateway; close(): Promise<void> }> {
    const gateway = new Gateway({
      tokenGate: null,
      allowedOrigins: [],
      maxSessions: 4,
      hardMaxPayloadBytes: 1024 * 1024,
      heartbeatMs,
      idleTimeoutMs: idle.timeoutMs,
      ...(maxSendBufferBytes !== undefined ? { maxSendBufferBytes } : {}),
      log: createLogger('silent'),
      createSession: (conn): SessionHandle => ({
        onText: (text) => onText(conn, text),
        onBinary: () => undefined,
        close: async () => undefined,
        busy: () => idle.busy(),
      }),
    });
    const http = createHttpServer();
    http.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    return {
      url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`,
      gateway,
      close: async () => {
        await gateway.close();
        http.closeAllConnections();
        await new Promise<void>((r) => http.close(() => r()));
      },
    };
  }

  it('does not terminate a peer whose socket it paused for backpressure (its pongs cannot be read)', async () => {
    const g = await gatewayWith(100, (conn, text) => {
      // Paused for 6 heartbeats, as a session busy with a long backlog would be.
      if (text === 'pause') {
        conn.pause();
        setTimeout(() => conn.resume(), 600);
      }
      conn.send({ type: 'transcription_started', language: text });
    });
    const ws = new WebSocket(g.url);
    let closed = false;
    ws.on('close', () => (closed = true));
    const replies: string[] = [];
    ws.on('message', (d) => replies.push((JSON.parse(d.toString()) as { language: string }).language));
    await new Promise((r) => ws.once('open', r));
    ws.send('pause');
    await new Promise((r) => setTimeout(r, 1000));
    expect(closed).toBe(false);
    ws.send('after');
    await until(() => replies.includes('after'), 'a reply after the pause');
    expect(g.gateway.size).toBe(1);
    ws.terminate();
    await g.close();
  });

  it('does not close as idle a quiet peer that is still owed results (busy), and closes it once it is not', async () => {
    let busy = true;
    const g = await gatewayWith(60_000, () => undefined, undefined, { timeoutMs: 300, busy: () => busy });
    const ws = new WebSocket(g.url);
    let code: number | null = null;
    ws.on('close', (c) => (code = c));
    await new Promise((r) => ws.once('open', r));
    // Five idle periods of silence while the session still owes its client text.
    await new Promise((r) => setTimeout(r, 1500));
    expect(code).toBeNull();
    busy = false;
    await until(() => code !== null, 'the idle close once nothing is owed');
    expect(code).toBe(1001);
    await g.close();
  });

  it('disconnects a peer that leaves too many replies unread', async () => {
    const g = await gatewayWith(
      60_000,
      (conn) => {
        for (let i = 0; i < 20_000; i++) conn.send({ type: 'error', code: 'internal', message: 'x'.repeat(1000) });
      },
      64 * 1024,
    );
    const ws = new WebSocket(g.url);
    await new Promise((r) => ws.once('open', r));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    ws.send('flood');
    await until(() => g.gateway.size === 0, 'the stalled peer to be dropped');
    ws.terminate();
    await g.close();
  });
});

describe('configuration', () => {
  it('refuses a yes/no setting it does not understand instead of reading it as "no"', () => {
    expect(() => loadConfig({ AUTH: 'ture' })).toThrow(/AUTH/);
    expect(loadConfig({ AUTH: 'off' }).AUTH).toBe(false);
    expect(loadConfig({ AUTH: 'Yes' }).AUTH).toBe(true);
    expect(loadConfig({}).AUTH).toBe(true);
  });
  it('refuses limits that would disable themselves or kill every connection', () => {
    expect(() => loadConfig({ HEARTBEAT_MS: '0' })).toThrow(/HEARTBEAT_MS/);
    expect(() => loadConfig({ MAX_SESSIONS: '0' })).toThrow(/MAX_SESSIONS/);
    expect(() => loadConfig({ MAX_BACKLOG_S: '-1' })).toThrow(/MAX_BACKLOG_S/);
  });
});
