/**
 * `/api/transcriptions` against the real server (diarization only): upload, progress, result
 * and exports; the token and security headers; and every bad upload — too large (declared and
 * undeclared), cut off mid-upload, empty, not audio — leaves nothing behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeDer } from '../src/eval/der.js';
import { parseSrt } from '../src/files/export.js';
import { BuiltinSpeakerEncoder } from '../src/speaker/builtin.js';
import { enrollSpeaker } from '../src/speaker/profile.js';
import { encoderTag } from '../src/speaker/types.js';
import { profileToJson } from '../src/session/pipeline.js';
import { loadConversation } from '../src/testing/corpus.js';
import type { RunningServer } from '../src/server.js';
import { FIXTURE_CORPUS_DIR as CORPUS_DIR } from '../src/testing/paths.js';
const CONVERSATIONS_DIR = join(CORPUS_DIR, 'conversations');
import { startTestServer } from './helpers/server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const MAX_MB = 8;

describe('/api/transcriptions', () => {
  let server: RunningServer;

  const call = (method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const opts: RequestOptions = {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        rejectUnauthorized: false,
        headers: { Authorization: `Bearer ${server.token}`, ...headers },
      };
      const req = request(opts, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const waitDone = async (id: string) => {
    const seen: number[] = [];
    for (let i = 0; i < 600; i++) {
      const r = await call('GET', `/api/transcriptions/${id}`);
      const v = JSON.parse(r.body) as { status: string; progress: number };
      seen.push(v.progress);
      if (v.status === 'done' || v.status === 'failed') return { view: v as Record<string, unknown>, seen };
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('job did not finish');
  };

  const uploadsLeft = () => readdirSync(server.uploadDir).length;

  beforeAll(async () => {
    server = await startTestServer({ MAX_UPLOAD_MB: MAX_MB, AUTH: true, SPEAKER_ENCODER: 'builtin' });
  });
  afterAll(() => server?.close());

  it('takes a recording and gives back a diarized conversation with exports', async () => {
    const wav = readFileSync(join(CONVERSATIONS_DIR, '1688-1998-easy', 'conv.wav'));
    const posted = await call('POST', '/api/transcriptions?language=en&speakers=2&title=interview.wav', wav, { 'Content-Type': 'audio/wav' });
    expect(posted.status, posted.body).toBe(202);
    expect(posted.headers['content-security-policy']).toBeDefined();
    expect(posted.headers['x-content-type-options']).toBe('nosniff');
    const { id } = JSON.parse(posted.body) as { id: string };
    const { view, seen } = await waitDone(id);
    expect(view).toMatchObject({ status: 'done', progress: 1, speakers: 2 });
    expect(view.decoder).toMatch(/^ffmpeg/);
    expect(typeof view.conversation_id).toBe('string');
    expect(seen.some((p) => p > 0 && p < 1) || seen.length === 1).toBe(true);
    const json = JSON.parse((await call('GET', `/api/transcriptions/${id}/export?format=json`)).body) as { id: string; title: string; segments: unknown[] };
    expect(json.id).toBe(view.conversation_id);
    expect(json.title).toBe('interview.wav');
    const srt = await call('GET', `/api/transcriptions/${id}/export?format=srt`);
    expect(srt.headers['content-disposition']).toBe('attachment; filename="interview.srt"');
    expect(parseSrt(srt.body)).toHaveLength(json.segments.length);
    expect((await call('GET', `/api/transcriptions/${id}/export?format=vtt`)).body.startsWith('WEBVTT')).toBe(true);
    expect((await call('GET', `/api/transcriptions/${id}/export?format=doc`)).status).toBe(400);
    expect(uploadsLeft()).toBe(0);
    expect((await call('DELETE', `/api/transcriptions/${id}`)).status).toBe(204);
    expect((await call('GET', `/api/transcriptions/${id}`)).status).toBe(404);
  }, 90_000);

  it('keeps the result in the conversation store: listed, opened, exported, renamed, deleted', async () => {
    const wav = readFileSync(join(CONVERSATIONS_DIR, '1688-1998-easy', 'conv.wav'));
    const posted = await call('POST', '/api/transcriptions?language=en&title=meeting.wav', wav);
    const { view } = await waitDone((JSON.parse(posted.body) as { id: string }).id);
    expect(view.status).toBe('done');
    const cid = view.conversation_id as string;
    const list = JSON.parse((await call('GET', '/api/conversations')).body) as Array<{ id: string; title: string; segments: number; ended_at: string | null; duration_s: number }>;
    const item = list.find((c) => c.id === cid);
    expect(item).toMatchObject({ title: 'meeting.wav', ended_at: expect.any(String) });
    expect(item!.segments).toBeGreaterThan(5);
    expect(item!.duration_s).toBeCloseTo(view.duration_s as number, 1);
    const rec = JSON.parse((await call('GET', `/api/conversations/${cid}`)).body) as { language: string; models: { speaker: string }; speakers: unknown[]; segments: Array<{ speaker_id: number | null; start: number; end: number }> };
    expect(rec).toMatchObject({ language: 'en', models: { speaker: 'builtin-mfcc-lda' } });
    expect(rec.speakers).toHaveLength(2);
    expect(new Set(rec.segments.map((x) => x.speaker_id))).toEqual(new Set([0, 1]));
    const srt = parseSrt((await call('GET', `/api/conversations/${cid}/export?format=srt`)).body);
    expect(srt).toHaveLength(rec.segments.length);
    expect(srt[0]!.text).toMatch(/^Speaker 1:/);
    // Renamed in the store: the transcription's own export follows.
    expect((await call('PATCH', `/api/conversations/${cid}`, Buffer.from(JSON.stringify({ speakers: [{ id: 0, name: 'Ana' }] })), { 'Content-Type': 'application/json' })).status).toBe(200);
    expect(parseSrt((await call('GET', `/api/transcriptions/${view.id}/export?format=srt`)).body)[0]!.text).toMatch(/^Ana:/);
    expect((await call('DELETE', `/api/conversations/${cid}`)).status).toBe(200);
    expect((await call('GET', `/api/transcriptions/${view.id}/export?format=srt`)).status).toBe(404);
  }, 90_000);

  it('attributes with two saved voices as live; unknown and incompatible voices are refused', async () => {
    const conv = loadConversation('1688-1998-easy');
    const encoder = new BuiltinSpeakerEncoder();
    await encoder.load();
    const save = async (name: string, clip: Float32Array, tag = encoderTag(encoder)) => {
      const r = await enrollSpeaker(encoder, clip);
      if (!r.ok) throw new Error(r.reason);
      return (await server.store.saveVoice({ name, encoder: tag, profile: profileToJson(r.profile) })).id;
    };
    const [first, second] = conv.speakerId.A === 0 ? [conv.enrollA, conv.enrollB] : [conv.enrollB, conv.enrollA];
    const a = await save('Ana', first);
    const b = await save('Ben', second);
    const listed = JSON.parse((await call('GET', '/api/voices')).body) as Array<{ id: string; encoder: string }>;
    expect(listed.find((v) => v.id === a)!.encoder).toMatch(/^builtin-mfcc-lda@[0-9a-f]{12}$/);

    const wav = readFileSync(join(CONVERSATIONS_DIR, conv.name, 'conv.wav'));
    const posted = await call('POST', `/api/transcriptions?language=en&voices=${a},${b}`, wav);
    expect(posted.status, posted.body).toBe(202);
    const { view } = await waitDone((JSON.parse(posted.body) as { id: string }).id);
    expect(view.status).toBe('done');
    const rec = JSON.parse((await call('GET', `/api/conversations/${view.conversation_id as string}`)).body) as { speakers: Array<{ id: number; name: string; voice_id: string }>; segments: Array<{ speaker_id: 0 | 1 | null; start: number; end: number }> };
    expect(rec.speakers).toEqual([{ id: 0, name: 'Ana', voice_id: a }, { id: 1, name: 'Ben', voice_id: b }]);
    const der = computeDer(
      conv.reference.map((t) => ({ speaker: conv.speakerId[t.speaker]!, startS: t.startS, endS: t.endS })),
      rec.segments.map((x) => ({ speaker: x.speaker_id, startS: x.start, endS: x.end })),
      { durationS: conv.audio.length / 16_000 },
    );
    expect(der.der).toBeLessThan(0.05);

    const refused = async (query: string) => {
      const r = await call('POST', `/api/transcriptions?${query}`, wav.subarray(0, 64_000));
      return { status: r.status, code: (JSON.parse(r.body) as { error: { code: string } }).error.code };
    };
    expect(await refused(`voices=${a},AAAAAAAAAAAAAAAAAAAAAA`)).toEqual({ status: 400, code: 'unknown_voice' });
    // Saved with another version of the same encoder, or before versions were recorded.
    const older = await save('Old', first, 'builtin-mfcc-lda@000000000000');
    expect(await refused(`voices=${a},${older}`)).toEqual({ status: 400, code: 'voice_incompatible' });
    const unversioned = await save('Older', first, 'builtin-mfcc-lda');
    expect(await refused(`voices=${unversioned},${b}`)).toEqual({ status: 400, code: 'voice_incompatible' });
    const neural = await save('Other', first, 'campplus-en-voxceleb@0123456789ab');
    expect(await refused(`voices=${a},${neural}`)).toEqual({ status: 400, code: 'voice_incompatible' });
    expect(await refused(`voices=${a}`)).toEqual({ status: 400, code: 'bad_voices' });
    expect(uploadsLeft()).toBe(0);
    await encoder.close();
  }, 90_000);

  it('needs the token', async () => {
    const r = await call('POST', '/api/transcriptions', Buffer.from('x'), { Authorization: 'Bearer wrong' });
    expect(r.status).toBe(401);
  });

  it('refuses a declared length over MAX_UPLOAD_MB with 413 before reading the body', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/api/transcriptions',
          rejectUnauthorized: false,
          headers: { Authorization: `Bearer ${server.token}`, 'Content-Length': String((MAX_MB + 1) * 1024 * 1024) },
        },
        (res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          req.destroy();
        },
      );
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      // Only the first 64 KiB are ever sent: the answer must come without the rest.
      req.write(Buffer.alloc(65_536));
    });
    expect(r).toBe(413);
    expect(uploadsLeft()).toBe(0);
  });

  it('cuts off an undeclared (chunked) upload at the limit with 413 and deletes it', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/transcriptions', rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, 'Transfer-Encoding': 'chunked' } },
        (res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          req.destroy();
        },
      );
      req.on('error', (e) => (['ECONNRESET', 'EPIPE'].includes((e as NodeJS.ErrnoException).code ?? '') ? undefined : reject(e)));
      const chunk = Buffer.alloc(256 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < (MAX_MB + 4) * 1024 * 1024 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
      };
      pump();
    });
    expect(status).toBe(413);
    await new Promise((r) => setTimeout(r, 200));
    expect(uploadsLeft()).toBe(0);
  });

  it('deletes the partial file of a client that disconnects mid-upload', async () => {
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/transcriptions', rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, 'Content-Length': String(2 * 1024 * 1024) } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(512 * 1024, 3), () => {
        setTimeout(() => {
          expect(uploadsLeft()).toBe(1);
          req.destroy();
          resolve();
        }, 300);
      });
    });
    for (let i = 0; i < 50 && uploadsLeft() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(uploadsLeft()).toBe(0);
  });

  it('answers an empty upload and a file that is not audio with coded errors, leaving nothing', async () => {
    const empty = await call('POST', '/api/transcriptions', Buffer.alloc(0));
    expect(empty.status).toBe(400);
    expect(JSON.parse(empty.body).error.code).toBe('empty_input');
    const pdf = Buffer.from('%PDF-1.4\n' + 'stream garbage '.repeat(500) + '\n%%EOF\n');
    const posted = await call('POST', '/api/transcriptions', pdf);
    expect(posted.status).toBe(202);
    const { view } = await waitDone((JSON.parse(posted.body) as { id: string }).id);
    expect(view).toMatchObject({ status: 'failed', error: { code: 'not_audio' } });
    expect(uploadsLeft()).toBe(0);
    expect((await call('POST', '/api/transcriptions?speakers=3', Buffer.from('x'))).status).toBe(400);
  }, 30_000);

  it('cancels a running job with DELETE', async () => {
    const wav = readFileSync(join(CONVERSATIONS_DIR, '1688-1998-easy', 'conv.wav'));
    const posted = await call('POST', '/api/transcriptions', wav);
    const { id } = JSON.parse(posted.body) as { id: string };
    expect((await call('DELETE', `/api/transcriptions/${id}`)).status).toBe(204);
    expect((await call('GET', `/api/transcriptions/${id}`)).status).toBe(404);
    for (let i = 0; i < 50 && uploadsLeft() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(uploadsLeft()).toBe(0);
  }, 30_000);
});
