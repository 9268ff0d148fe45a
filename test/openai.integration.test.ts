/**
 * `/v1/audio/transcriptions` and `/v1/models` against the real server, called by OpenAI's own
 * Node client as a program would (base URL, API key = the token, a fetch that trusts the
 * server's self-signed certificate): every response_format in its documented shape, the error
 * shape for a bad file, a too-large file and a wrong token, and the bad inputs the API page
 * lists (no file, two files, 0 bytes, wrong content type, unknown format or model, a file
 * announcing 2,000 minutes). Recognition is the fake engine: the text does not matter here.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSrt } from '../src/files/export.js';
import { BuiltinSpeakerEncoder } from '../src/speaker/builtin.js';
import { enrollSpeaker } from '../src/speaker/profile.js';
import { encoderTag } from '../src/speaker/types.js';
import { profileToJson } from '../src/session/pipeline.js';
import type { RunningServer } from '../src/server.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { loadConversation } from '../src/testing/corpus.js';
import { FIXTURE_CORPUS_DIR } from '../src/testing/paths.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';
import { ensureRandomWhisperModel } from '../src/testing/whisper-model.js';
import { fromRoot } from '../src/paths.js';

const MAX_MB = 2;
const CONV_DIR = join(FIXTURE_CORPUS_DIR, 'conversations', '1688-1998-easy');

/** The PEM of the certificate the server presents: what a real program would be configured to trust. */
function serverCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.toString());
      s.end();
    });
    s.on('error', reject);
  });
}

interface Raw {
  status: number;
  body: string;
}

describe('/v1 (OpenAI-compatible API)', () => {
  let server: RunningServer;
  let client: OpenAI;
  let agent: Agent;
  let clip: string;
  const work = mkdtempSync(join(tmpdir(), 'duet-v1-'));

  /** A client with another key (or the same), trusting the server's certificate. */
  const clientWith = (apiKey: string) =>
    new OpenAI({
      apiKey,
      baseURL: new URL('/v1', server.url).toString(),
      maxRetries: 0,
      timeout: 120_000,
      fetch: ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher: agent })) as unknown as typeof fetch,
    });

  /** A hand-made request, for bodies no SDK would send. */
  const raw = async (path: string, body: Buffer, headers: Record<string, string>): Promise<Raw> => {
    const answer = await api(server.url, server.token, 'POST', path, body, { headers });
    return { status: answer.status, body: answer.text };
  };

  /** A multipart body from parts: text fields, and files as `{ filename, data }`. */
  const multipart = (parts: Array<[string, string | { filename: string; data: Buffer }]>) => {
    const boundary = '----duet' + Math.random().toString(16).slice(2);
    const chunks: Buffer[] = [];
    for (const [name, value] of parts) {
      if (typeof value === 'string') chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
      else chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`), value.data, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
  };

  const errorOf = (r: Raw) => (JSON.parse(r.body) as { error: { message: string; type: string; code: string; param: string | null } }).error;
  const uploadsLeft = () => readdirSync(server.uploadDir).length;

  beforeAll(async () => {
    // 34 s of the two-speaker conversation: both voices speak twice.
    clip = join(work, 'talk.wav');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', join(CONV_DIR, 'conv.wav'), '-t', '34', clip]);
    server = await startTestServer({ AUTH: true, ASR_MODEL: 'tiny', MAX_UPLOAD_MB: MAX_MB, MAX_FILE_S: 3600, SPEAKER_ENCODER: 'builtin' }, { asr: new FakeAsrEngine({ text: 'words here' }) });
    agent = new Agent({ connect: { ca: await serverCertificate(server.port) } });
    client = clientWith(server.token);
  });
  afterAll(async () => {
    await server?.close();
    await agent?.close();
  });

  it('lists the loaded models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['whisper-1', 'tiny']);
    expect(await client.models.retrieve('tiny')).toMatchObject({ id: 'tiny', object: 'model', owned_by: 'duet' });
  });

  it('answers every response_format in the documented shape, stored as a conversation', async () => {
    const before = (await server.store.list()).length;
    const json = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', language: 'en' });
    expect(Object.keys(json).sort()).toEqual(['text', 'usage']);
    expect(json.text).toMatch(/^words here( words here)+$/);
    expect(json.usage).toEqual({ type: 'duration', seconds: 34 });

    const text = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'tiny', response_format: 'text' });
    expect(typeof text).toBe('string');
    expect(text).toBe(json.text + '\n');

    const srt = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'srt' });
    const cues = parseSrt(srt);
    expect(cues.length).toBeGreaterThan(2);
    expect(cues.every((c) => /^(A|B): words here$/.test(c.text))).toBe(true);

    const vtt = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'vtt' });
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    expect(vtt).toMatch(/\n00:00:\d\d\.\d{3} --> 00:00:\d\d\.\d{3}\n<v [AB]>words here\n/);

    const verbose = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['segment'] });
    expect(Object.keys(verbose).sort()).toEqual(['duration', 'language', 'segments', 'task', 'text', 'usage']);
    expect(verbose).toMatchObject({ task: 'transcribe', language: 'auto', text: json.text });
    expect(verbose.duration).toBeCloseTo(34, 1);
    for (const s of verbose.segments!) {
      expect(Object.keys(s).sort()).toEqual(['avg_logprob', 'compression_ratio', 'end', 'id', 'no_speech_prob', 'seek', 'speaker', 'start', 'temperature', 'text', 'tokens']);
      expect(s.end).toBeGreaterThan(s.start);
    }

    const diarized = (await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'diarized_json' })) as unknown as OpenAI.Audio.TranscriptionDiarized;
    expect(Object.keys(diarized).sort()).toEqual(['duration', 'segments', 'task', 'text', 'usage']);
    expect(diarized.task).toBe('transcribe');
    diarized.segments.forEach((s, i) => {
      expect(Object.keys(s).sort()).toEqual(['end', 'id', 'speaker', 'start', 'text', 'type']);
      expect(s).toMatchObject({ type: 'transcript.text.segment', id: `seg_${i}`, text: 'words here' });
    });
    expect(new Set(diarized.segments.map((s) => s.speaker))).toEqual(new Set(['A', 'B']));
    // The reference turns: A from 1.0 s, B from 4.9 s.
    expect(diarized.segments[0]!.start).toBeLessThan(4);

    expect((await server.store.list()).length).toBe(before + 6);
    expect(uploadsLeft()).toBe(0);
  }, 240_000);

  it('names the stored conversation, or stores nothing with store=false', async () => {
    const { data, response } = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1' }).withResponse();
    const id = response.headers.get('x-duet-conversation-id');
    expect(id).toBeTruthy();
    const rec = await server.store.get(id!);
    expect(rec!.title).toBe('talk.wav');
    expect(data.text).toContain('words here');
    const before = (await server.store.list()).length;
    const unstored = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', store: false } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming).withResponse();
    expect(unstored.response.headers.get('x-duet-conversation-id')).toBeNull();
    expect(unstored.data.text).toBe(data.text);
    expect((await server.store.list()).length).toBe(before);
  }, 120_000);

  it('labels speakers by saved voices named in known_speaker_names[]', async () => {
    const conv = loadConversation('1688-1998-easy');
    const encoder = new BuiltinSpeakerEncoder();
    await encoder.load();
    const save = async (name: string, samples: Float32Array) => {
      const r = await enrollSpeaker(encoder, samples);
      if (!r.ok) throw new Error(r.reason);
      return (await server.store.saveVoice({ name, encoder: encoderTag(encoder), profile: profileToJson(r.profile) })).id;
    };
    const [first, second] = conv.speakerId.A === 0 ? [conv.enrollA, conv.enrollB] : [conv.enrollB, conv.enrollA];
    const ana = await save('Ana', first);
    await save('Ben', second);
    const byName = (await client.audio.transcriptions.create({
      file: createReadStream(clip),
      model: 'whisper-1',
      response_format: 'diarized_json',
      known_speaker_names: ['Ana', 'Ben'],
    })) as unknown as OpenAI.Audio.TranscriptionDiarized;
    expect(new Set(byName.segments.map((s) => s.speaker))).toEqual(new Set(['Ana', 'Ben']));
    // The reference's first turn is A, whose clip was saved as "Ana".
    expect(byName.segments[0]!.speaker).toBe(conv.speakerId.A === 0 ? 'Ana' : 'Ben');
    const unknown = await client.audio.transcriptions
      .create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'diarized_json', known_speaker_names: ['Ana', 'Zoe'] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unknown as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unknown_voice');
    const badRef = await client.audio.transcriptions
      .create({ file: createReadStream(clip), model: 'whisper-1', known_speaker_names: ['X', 'Y'], known_speaker_references: [ana, 'nope'] })
      .catch((e: unknown) => e);
    expect((badRef as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
  }, 120_000);

  it('answers errors as {error: {message, type, code}}: wrong token, bad file, too-large file', async () => {
    const wrong = await clientWith('not-the-token')
      .audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1' })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((wrong as InstanceType<typeof OpenAI.AuthenticationError>).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', message: expect.any(String) });

    const notes = join(work, 'notes.wav');
    writeFileSync(notes, 'this is not a recording '.repeat(400));
    const notAudio = await client.audio.transcriptions
      .create({ file: createReadStream(notes), model: 'whisper-1' })
      .catch((e: unknown) => e);
    expect(notAudio).toBeInstanceOf(OpenAI.BadRequestError);
    expect((notAudio as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', code: 'not_audio', param: 'file' });

    const bigFile = join(work, 'big.wav');
    writeFileSync(bigFile, Buffer.alloc((MAX_MB + 1) * 1048576, 1));
    const big = await client.audio.transcriptions
      .create({ file: createReadStream(bigFile), model: 'whisper-1' })
      .catch((e: unknown) => e);
    expect(big).toBeInstanceOf(OpenAI.APIError);
    expect((big as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((big as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'invalid_request_error', code: 'file_too_large', message: expect.stringContaining('MAX_UPLOAD_MB') });

    const model = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'gpt-4o-transcribe' }).catch((e: unknown) => e);
    expect(model).toBeInstanceOf(OpenAI.NotFoundError);
    expect((model as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ code: 'model_not_found', message: expect.stringContaining('whisper-1, tiny') });

    const format = await client.audio.transcriptions
      .create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'xml' as 'json' })
      .catch((e: unknown) => e);
    expect((format as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: 'unsupported_response_format', param: 'response_format' });

    const words = await client.audio.transcriptions
      .create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] })
      .catch((e: unknown) => e);
    expect((words as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: 'unsupported_granularity' });
    expect(uploadsLeft()).toBe(0);
  }, 120_000);

  it('refuses malformed bodies with a coded error and leaves no file behind', async () => {
    const path = '/v1/audio/transcriptions';
    const wav = { filename: 'a.wav', data: Buffer.alloc(3200) };
    const noFile = multipart([['model', 'whisper-1']]);
    expect(errorOf(await raw(path, noFile.body, { 'Content-Type': noFile.type }))).toMatchObject({ code: 'missing_file', param: 'file' });
    const two = multipart([['model', 'whisper-1'], ['file', wav], ['file', wav]]);
    const twoR = await raw(path, two.body, { 'Content-Type': two.type });
    expect(twoR.status).toBe(400);
    expect(errorOf(twoR).code).toBe('too_many_files');
    const empty = multipart([['model', 'whisper-1'], ['file', { filename: 'a.wav', data: Buffer.alloc(0) }]]);
    expect(errorOf(await raw(path, empty.body, { 'Content-Type': empty.type }))).toMatchObject({ code: 'empty_file' });
    const wrongType = await raw(path, Buffer.from('{"model":"whisper-1"}'), { 'Content-Type': 'application/json' });
    expect(wrongType.status).toBe(415);
    expect(errorOf(wrongType)).toMatchObject({ code: 'unsupported_media_type', type: 'invalid_request_error' });
    const broken = await raw(path, Buffer.from('--x\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhi'), { 'Content-Type': 'multipart/form-data; boundary=x' });
    expect(errorOf(broken).code).toBe('bad_multipart');
    const mail = multipart([['model', 'whisper-1'], ['notify', 'email'], ['file', wav]]);
    expect(errorOf(await raw(path, mail.body, { 'Content-Type': mail.type }))).toMatchObject({ code: 'notify_unavailable', param: 'notify' });
    const noModel = multipart([['file', wav]]);
    expect(errorOf(await raw(path, noModel.body, { 'Content-Type': noModel.type }))).toMatchObject({ code: 'missing_model', param: 'model' });

    // A FLAC file whose header (STREAMINFO's total samples) announces 2,000 minutes, of which
    // one second is there: refused from the header, nothing decoded.
    const flac = join(work, 'long.flac');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1', flac]);
    const bytes = readFileSync(flac);
    // Bytes 18..25: sample rate (20 bits), channels (3), bits (5), total samples (36).
    const info = bytes.readBigUInt64BE(18);
    bytes.writeBigUInt64BE((info & ~((1n << 36n) - 1n)) | BigInt(2000 * 60 * 8000), 18);
    const long = multipart([['model', 'whisper-1'], ['file', { filename: 'long.flac', data: bytes }]]);
    const longR = await raw(path, long.body, { 'Content-Type': long.type });
    expect(longR.status).toBe(400);
    expect(errorOf(longR)).toMatchObject({ code: 'audio_too_long', message: expect.stringContaining('MAX_FILE_S') });
    expect(errorOf(longR).message).toContain('2000 min');
    // The upload API applies the same limit.
    const viaUpload = await raw('/api/transcriptions', bytes, { 'Content-Type': 'audio/flac' });
    expect(viaUpload.status).toBe(400);
    expect(JSON.parse(viaUpload.body)).toMatchObject({ error: { code: 'too_long', message: expect.stringContaining('MAX_FILE_S') } });
    expect(uploadsLeft()).toBe(0);
  }, 60_000);

  it('cuts off an undeclared (chunked) body over the limit, and forgets a body cut off mid-way', async () => {
    const path = '/v1/audio/transcriptions';
    const boundary = 'xyz';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n`);
    const chunked = await new Promise<Raw>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, method: 'POST', path, rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Transfer-Encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(head);
      const chunk = Buffer.alloc(256 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < (MAX_MB + 1) * 1048576) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    // The answer may race the client's last writes; when it arrives it is the coded 413.
    if (chunked.status !== -1) expect(errorOf(chunked)).toMatchObject({ code: 'file_too_large' });
    await expect.poll(() => uploadsLeft(), { timeout: 5000 }).toBe(0);

    // Half a body, then the client goes away.
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', path, rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + 200_000) } });
      req.on('error', () => resolve());
      req.write(Buffer.concat([head, Buffer.alloc(100_000, 3)]), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 200));
    });
    await expect.poll(() => uploadsLeft(), { timeout: 5000 }).toBe(0);
    // The server still serves.
    expect((await client.models.list()).data.length).toBe(2);
  }, 60_000);

  it('keeps the token check of the rest of the API: no key, no access', async () => {
    const noKey = await new Promise<Raw>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'GET', path: '/v1/models', rejectUnauthorized: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(noKey.status).toBe(401);
    expect(errorOf(noKey)).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' });
  });
});

describe('/v1 with a slow job and with the real engine', () => {
  const work = mkdtempSync(join(tmpdir(), 'duet-v1b-'));
  const clip = join(work, 'talk.wav');
  beforeAll(() => {
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', join(CONV_DIR, 'conv.wav'), '-t', '34', clip]);
  });

  const openai = async (server: RunningServer) => {
    const agent = new Agent({ connect: { ca: await serverCertificate(server.port) } });
    const client = new OpenAI({
      apiKey: server.token,
      baseURL: new URL('/v1', server.url).toString(),
      maxRetries: 0,
      timeout: 300_000,
      fetch: ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher: agent })) as unknown as typeof fetch,
    });
    return { client, agent };
  };

  it('holds the connection open past the idle timeout until the job is done', async () => {
    // Each part takes 400 ms to recognise: the job outlasts IDLE_TIMEOUT_MS several times over.
    const server = await startTestServer({ AUTH: true, ASR_MODEL: 'tiny', IDLE_TIMEOUT_MS: 500, SPEAKER_ENCODER: 'builtin' }, { asr: new FakeAsrEngine({ text: 'slow words', delayMs: 400 }) });
    const { client, agent } = await openai(server);
    try {
      const t0 = Date.now();
      const r = await client.audio.transcriptions.create({ file: createReadStream(clip), model: 'whisper-1', response_format: 'diarized_json' });
      expect(Date.now() - t0).toBeGreaterThan(500);
      expect((r as unknown as OpenAI.Audio.TranscriptionDiarized).segments.length).toBeGreaterThan(2);
    } finally {
      await server.close();
      await agent.close();
    }
  }, 120_000);

  it('runs whisper.cpp (a random-weight tiny model of the real architecture) behind /v1', async () => {
    const modelPath = ensureRandomWhisperModel('tiny', fromRoot('build/test-models'));
    const server = await startTestServer({ AUTH: true, ASR_MODEL: 'tiny', ASR_MODEL_PATH: modelPath, ASR_DEVICE: 'cpu', SPEAKER_ENCODER: 'builtin' });
    const { client, agent } = await openai(server);
    try {
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(m.id);
      expect(ids).toEqual(['whisper-1', 'tiny']);
      const verbose = await client.audio.transcriptions.create({ file: createReadStream(join(FIXTURE_CORPUS_DIR, 'jfk.wav')), model: 'tiny', response_format: 'verbose_json', language: 'en' });
      expect(verbose).toMatchObject({ task: 'transcribe', language: 'en' });
      expect(verbose.duration).toBeCloseTo(11, 0);
      // Random weights decode every window as " fake" (test/fixtures/tools): the text went through whisper.cpp.
      expect(verbose.segments!.length).toBeGreaterThan(0);
      expect(verbose.segments!.every((s) => s.text === 'fake' || s.text === '')).toBe(true);
    } finally {
      await server.close();
      await agent.close();
    }
  }, 180_000);
});
