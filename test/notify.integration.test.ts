/**
 * Notifications against real receivers: an HTTP server that checks the `Duet-Signature`, and
 * a real SMTP server (Debian's python3-aiosmtpd) that keeps what it receives and rejects some
 * recipients. A finished upload sends the signed event and the e-mail with TXT and SRT
 * attached; a live conversation stopped over WSS sends its event; a receiver that is slow, down, answers 500 or a redirect gets retries (or, for the
 * redirect, a permanent failure without following it), and never holds the API up.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { Notifier } from '../src/notify/notifier.js';
import { verifySignature } from '../src/notify/signature.js';
import type { RunningServer } from '../src/server.js';
import type { ConversationRecord } from '../src/storage/types.js';
import { ProtocolClient, type Received as ServerMessage } from '../src/testing/client.js';
import { loadConversation } from '../src/testing/corpus.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { FIXTURE_CORPUS_DIR } from '../src/testing/paths.js';
import { startTestServer } from './helpers/server.js';
import { attachmentsOf, startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { freePort } from '../src/testing/free-port.js';

const SECRET = 'webhook-secret-0123456789';
interface Received {
  body: string;
  signatureOk: boolean;
  at: number;
}

type Mode = 'ok' | 'fail500' | 'redirect' | 'slow';


async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('notifications', () => {
  let receiver: Server;
  let receiverPort: number;
  let smtp: TestSmtp;
  let smtpPort: number;
  let mode: Mode = 'ok';
  let fails = 0;
  const received: Received[] = [];
  let redirectFollowed = false;
  const slowAnswers: Array<() => void> = [];

  beforeAll(async () => {
    receiver = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/elsewhere') {
        redirectFollowed = true;
        res.end();
        return;
      }
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ body, signatureOk: verifySignature(req.headers['duet-signature'] as string | undefined, body, SECRET, Date.now() / 1000), at: Date.now() });
        if (mode === 'fail500' && fails-- > 0) {
          res.statusCode = 500;
          res.end('busy');
        } else if (mode === 'redirect') {
          res.writeHead(307, { Location: `http://127.0.0.1:${receiverPort}/elsewhere` });
          res.end();
        } else if (mode === 'slow') {
          // Answers after 30 s (or when the test ends).
          const t = setTimeout(() => res.end('late'), 30_000);
          slowAnswers.push(() => {
            clearTimeout(t);
            res.destroy();
          });
        } else res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverPort = (receiver.address() as { port: number }).port;

    smtp = await startTestSmtp();
    smtpPort = smtp.port;
  }, 30_000);

  afterAll(async () => {
    for (const end of slowAnswers) end();
    smtp?.stop();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('a finished upload sends a signed event and an e-mail with TXT and SRT; a slow receiver holds nothing up', async () => {
    const server: RunningServer = await startTestServer(
      {
        AUTH: true,
        SPEAKER_ENCODER: 'builtin',
        NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`,
        NOTIFY_WEBHOOK_SECRET: SECRET,
        NOTIFY_TIMEOUT_MS: 1000,
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        SMTP_FROM: 'duet@example.org',
        NOTIFY_EMAIL: 'owner@example.org',
      },
      { asr: new FakeAsrEngine({ text: 'and so my fellow americans' }) },
    );
    const call = (method: string, path: string, body?: Buffer) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, method, path, rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const info = JSON.parse((await call('GET', '/api/notifications')).body) as { targets: unknown; notifications: { webhook: { enabled: boolean; target: string } } };
      expect(info.targets).toEqual({ webhook: `http://127.0.0.1:${receiverPort}`, email: { to: 'owner@example.org', for: 'asked' } });
      expect(info.notifications.webhook).toMatchObject({ enabled: true, target: `http://127.0.0.1:${receiverPort}`, pending: 0 });

      mode = 'slow';
      const wav = readFileSync(join(FIXTURE_CORPUS_DIR, 'jfk.wav'));
      const posted = await call('POST', '/api/transcriptions?language=en&title=jfk.wav&notify=email', wav);
      expect(posted.status, posted.body).toBe(202);
      const { id } = JSON.parse(posted.body) as { id: string };
      let view: { status: string; conversation_id?: string } = { status: 'queued' };
      for (let i = 0; i < 600 && view.status !== 'done' && view.status !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        view = JSON.parse((await call('GET', `/api/transcriptions/${id}`)).body) as typeof view;
      }
      expect(view.status).toBe('done');
      // The first delivery reached the slow receiver, which has not answered; the API answers all the same.
      await until(() => received.length >= 1, 10_000, 'the first webhook attempt');
      expect((await call('GET', '/api/conversations')).status).toBe(200);
      const during = JSON.parse((await call('GET', '/api/notifications')).body) as { notifications: { webhook: { pending: number; delivered_total: number } } };
      expect(during.notifications.webhook).toMatchObject({ pending: 1, delivered_total: 0 });

      // The attempt times out (NOTIFY_TIMEOUT_MS), the retry finds the receiver well again.
      mode = 'ok';
      await until(() => received.length >= 2, 20_000, 'the webhook retry');
      const event = JSON.parse(received[1]!.body) as Record<string, unknown>;
      expect(received.every((r) => r.signatureOk)).toBe(true);
      expect(Object.keys(event).sort()).toEqual(['conversation_id', 'created_at', 'duration_s', 'id', 'segments', 'source', 'type']);
      expect(event).toMatchObject({ type: 'transcript.ready', conversation_id: view.conversation_id, source: 'file' });
      // The retried delivery is the same event (receivers de-duplicate by id).
      expect(received[0]!.body).toBe(received[1]!.body);

      await until(() => smtp.messages().length > 0, 20_000, 'the e-mail');
      const eml = smtp.messages()[0]!;
      expect(eml).toMatch(/^Subject: Transcript ready: jfk\.wav/m);
      expect(eml).toMatch(/^To: owner@example\.org/m);
      const files = attachmentsOf(eml);
      expect([...files.keys()].sort()).toEqual(['jfk.srt', 'jfk.txt']);
      expect(files.get('jfk.txt')).toContain('and so my fellow americans');
      expect(files.get('jfk.srt')).toMatch(/^1\r?\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\r?\nSpeaker \d: and so my fellow americans/);

      const after = JSON.parse((await call('GET', '/api/notifications')).body) as { notifications: { webhook: { delivered_total: number; recent: Array<{ attempts: number; outcome: string }> }; email: { delivered_total: number } } };
      expect(after.notifications.webhook.delivered_total).toBe(1);
      expect(after.notifications.webhook.recent[0]).toMatchObject({ outcome: 'delivered', attempts: 2 });
      expect(after.notifications.email.delivered_total).toBe(1);

      // An unknown notify value is refused before the body is read.
      expect((await call('POST', '/api/transcriptions?notify=sms', wav)).status).toBe(400);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('announces a live conversation over WSS when it is stopped', async () => {
    const server = await startTestServer(
      { NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`, NOTIFY_WEBHOOK_SECRET: SECRET },
      { asr: new FakeAsrEngine({ text: 'live words' }) },
    );
    try {
      mode = 'ok';
      received.length = 0;
      const conv = loadConversation('1688-1998-easy');
      const client = await ProtocolClient.connect({ url: server.url, token: server.token });
      expect((await client.enroll(0, conv.enrollA, 'Alice')).type).toBe('speaker_registration_completed');
      expect((await client.enroll(1, conv.enrollB)).type).toBe('speaker_registration_completed');
      let from = client.messages.length;
      client.send({ type: 'start_transcription', language: 'en' });
      const started = (await client.next((m) => m.type === 'transcription_started', 10_000, from)) as Extract<ServerMessage, { type: 'transcription_started' }>;
      from = client.messages.length;
      await client.streamAudio(conv.audio.subarray(0, 16_000 * 10));
      expect(received).toHaveLength(0);
      client.send({ type: 'stop_transcription' });
      await client.next((m) => m.type === 'transcription_stopped', 60_000, from);
      await until(() => received.length >= 1, 10_000, 'the live event');
      expect(received[0]!.signatureOk).toBe(true);
      expect(JSON.parse(received[0]!.body)).toMatchObject({ type: 'transcript.ready', source: 'live', conversation_id: started.conversation_id });
      await client.close();
    } finally {
      await server.close();
    }
  }, 90_000);

  it('retries a receiver that answers 500 or is down, and does not follow a redirect', async () => {
    const rec: ConversationRecord = {
      id: 'c1',
      title: 'talk',
      started_at: new Date().toISOString(),
      ended_at: new Date().toISOString(),
      language: 'en',
      models: { asr: null, speaker: 's', vad: 'v' },
      speakers: [{ id: 0, name: 'Ana' }, { id: 1, name: null }],
      audio_s: 3,
      audio_file: null,
      duration_s: 3,
      segments: [{ segment_id: 0, speaker_id: 0, start: 0, end: 1, text: 'hello' } as ConversationRecord['segments'][number]],
    };
    const notifierFor = (url: string, extra: Record<string, unknown> = {}) =>
      new Notifier({
        config: loadConfig({}, [], { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_TIMEOUT_MS: 500, NOTIFY_RETRY_FOR_S: 3, ...extra }),
        load: async () => rec,
        baseDelayMs: 100,
      });

    received.length = 0;
    mode = 'fail500';
    fails = 2;
    const flaky = notifierFor(`http://127.0.0.1:${receiverPort}/hook`);
    flaky.transcriptReady('c1', 'live');
    await until(() => flaky.status().webhook.delivered_total === 1, 10_000, 'delivery after two 500s');
    expect(flaky.status().webhook.recent[0]).toMatchObject({ outcome: 'delivered', attempts: 3, last_status: 200 });
    expect(received).toHaveLength(3);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ source: 'live', conversation_id: 'c1' });
    flaky.close();

    mode = 'redirect';
    const redirected = notifierFor(`http://127.0.0.1:${receiverPort}/hook`);
    redirected.transcriptReady('c1', 'file');
    await until(() => redirected.status().webhook.failed_total === 1, 10_000, 'the redirect to fail');
    expect(redirected.status().webhook.recent[0]).toMatchObject({ outcome: 'failed', attempts: 1, last_status: 307 });
    expect(redirected.status().webhook.recent[0]!.last_error).toContain('not followed');
    expect(redirectFollowed).toBe(false);
    redirected.close();

    const down = notifierFor(`http://127.0.0.1:${await freePort()}/hook`);
    down.transcriptReady('c1', 'file');
    await until(() => (down.status().webhook.recent[0]?.attempts ?? 0) >= 2, 10_000, 'a retry of a receiver that is down');
    expect(down.status().webhook.recent[0]!.last_error).toMatch(/ECONNREFUSED/);
    // The budget (NOTIFY_RETRY_FOR_S = 3 s) runs out: given up, said so.
    await until(() => down.status().webhook.failed_total === 1, 15_000, 'giving up');
    expect(down.status().webhook.recent[0]!.last_error).toMatch(/^gave up after \d+ attempts/);
    down.close();
  }, 60_000);

  it('records a recipient the SMTP server rejects, without retrying it', async () => {
    const rec = { id: 'c2', title: null, started_at: new Date().toISOString(), ended_at: null, language: 'en', models: { asr: null, speaker: 's', vad: 'v' }, speakers: [], audio_s: 1, audio_file: null, duration_s: 1, segments: [] } as ConversationRecord;
    const n = new Notifier({
      config: loadConfig({}, [], { SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, NOTIFY_EMAIL: 'reject-me@example.org', NOTIFY_EMAIL_FOR: 'all' }),
      load: async () => rec,
      baseDelayMs: 100,
    });
    n.transcriptReady('c2', 'live');
    await until(() => n.status().email.failed_total === 1, 15_000, 'the rejection');
    const st = n.status().email.recent[0]!;
    expect(st).toMatchObject({ outcome: 'failed', attempts: 1, last_status: 550 });
    expect(st.last_error).toContain('rejected');
    expect(st.last_error).not.toContain('reject-me');
    n.close();
  }, 30_000);
});
