/**
 * The session driven through its ports alone (src/session/ports.ts): a fake connection that
 * collects what is sent and a fake pipeline whose front, room and recognizer the test scripts.
 * No server, no models.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigInput } from '../config.js';
import { createLogger } from '../log.js';
import { FakeConnection, FakePipeline, pcm, until } from '../testing/fake-ports.js';
import { newId } from '../storage/ids.js';
import { Conversations } from './conversations.js';
import { Session } from './session.js';

const log = createLogger('silent');
const msg = (m: object) => JSON.stringify(m);

function open(opts: { config?: ConfigInput; capacity?: number; conversations?: Conversations; pipeline?: FakePipeline } = {}) {
  const conn = new FakeConnection();
  const pipeline = opts.pipeline ?? new FakePipeline(opts.capacity);
  const session = new Session(conn, {
    config: loadConfig({}, [], opts.config ?? {}),
    pipeline,
    log,
    ...(opts.conversations ? { conversations: opts.conversations } : {}),
  });
  return { conn, pipeline, session };
}

/** Registers both voices (1.5 s of audio each); speaker 0 is named. */
async function registerBoth(conn: FakeConnection, session: Session): Promise<void> {
  for (const id of [0, 1] as const) {
    session.onText(msg({ type: 'start_speaker_registration', speaker_id: id, ...(id === 0 ? { name: 'Ada' } : {}) }));
    session.onBinary(pcm(1));
    session.onBinary(pcm(0.5));
    session.onText(msg({ type: 'complete_speaker_registration', speaker_id: id }));
  }
  await until(() => conn.of('speaker_registration_completed').length === 2, 'both registrations');
}

const texts = (conn: FakeConnection) => conn.of('transcription').map((m) => [m.segment_id, m.text]);

describe('Session through its ports', () => {
  it('registers two voices, starts, and turns audio into a segment and then its transcription', async () => {
    const { conn, pipeline, session } = open();
    expect(conn.sent[0]).toMatchObject({ type: 'model_loaded', models: pipeline.models });
    await registerBoth(conn, session);
    expect(conn.of('speaker_registration_started').map((m) => m.speaker_id)).toEqual([0, 1]);
    expect(conn.of('speaker_registration_completed')).toMatchObject([
      { speaker_id: 0, message: 'Voice of Ada registered', speech_seconds: 1.5 },
      { speaker_id: 1, message: 'Voice of speaker 1 registered', speech_seconds: 1.5 },
    ]);

    session.onText(msg({ type: 'start_transcription', language: 'en' }));
    session.onBinary(pcm(0.5));
    await until(() => pipeline.jobs.length === 1, 'the recognition job');
    expect(conn.of('transcription_started')).toEqual([{ type: 'transcription_started', language: 'en' }]);
    expect(conn.of('segment')).toEqual([{ type: 'segment', segment_id: 0, speaker_id: 0, start: 0, end: 0.5, similarity: [0.912, 0.1] }]);
    // Recognition hears the part with its context, within the segment's own audio.
    expect(pipeline.jobs[0]).toMatchObject({ language: 'en', conversation: undefined });
    expect(pipeline.jobs[0]!.samples.length).toBe(8000);
    expect(conn.of('transcription')).toEqual([]);

    pipeline.jobs[0]!.resolve('hello there');
    await until(() => conn.of('transcription').length === 1, 'the transcription');
    expect(conn.of('transcription')[0]).toMatchObject({ segment_id: 0, speaker_id: 0, text: 'hello there', start: 0, end: 0.5 });
    expect(conn.sent.map((m) => m.type)).toEqual([
      'model_loaded',
      'speaker_registration_started',
      'speaker_registration_completed',
      'speaker_registration_started',
      'speaker_registration_completed',
      'transcription_started',
      'segment',
      'transcription',
    ]);
    expect(conn.errorCodes()).toEqual([]);
    await session.close();
  });

  it('delivers transcriptions in segment order when recognition finishes out of order', async () => {
    const { conn, pipeline, session } = open();
    await registerBoth(conn, session);
    session.onText(msg({ type: 'start_transcription' }));
    for (let i = 0; i < 3; i++) session.onBinary(pcm(0.2));
    await until(() => pipeline.jobs.length === 3, 'three jobs');
    expect(conn.of('segment').map((m) => [m.segment_id, m.speaker_id])).toEqual([
      [0, 0],
      [1, 1],
      [2, 0],
    ]);
    pipeline.jobs[2]!.resolve('third');
    pipeline.jobs[1]!.resolve('second');
    // Nothing may overtake the first segment's text.
    await new Promise((r) => setTimeout(r, 20));
    expect(conn.of('transcription')).toEqual([]);
    pipeline.jobs[0]!.resolve('first');
    await until(() => conn.of('transcription').length === 3, 'three transcriptions');
    expect(texts(conn)).toEqual([
      [0, 'first'],
      [1, 'second'],
      [2, 'third'],
    ]);
    await session.close();
  });

  it('waits for a free slot of its share of the queue instead of overflowing it', async () => {
    const { conn, pipeline, session } = open({ capacity: 1 });
    await registerBoth(conn, session);
    session.onText(msg({ type: 'start_transcription' }));
    for (let i = 0; i < 3; i++) session.onBinary(pcm(0.2));
    await until(() => pipeline.jobs.length === 1, 'one job');
    await new Promise((r) => setTimeout(r, 20));
    expect(pipeline.jobs).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      await until(() => pipeline.jobs.length === i + 1, `job ${i}`);
      pipeline.jobs[i]!.resolve(`t${i}`);
    }
    await until(() => conn.of('transcription').length === 3, 'three transcriptions');
    expect(texts(conn)).toEqual([
      [0, 't0'],
      [1, 't1'],
      [2, 't2'],
    ]);
    await session.close();
  });

  it('stop closes the open segment, waits for its text, then ends with the segment count', async () => {
    const { conn, pipeline, session } = open();
    await registerBoth(conn, session);
    session.onText(msg({ type: 'start_transcription' }));
    session.onBinary(pcm(0.25));
    await until(() => pipeline.jobs.length === 1, 'the first job');
    pipeline.fronts[0]!.closeEachPush = false;
    session.onBinary(pcm(0.25));
    session.onBinary(pcm(0.25));
    session.onText(msg({ type: 'stop_transcription' }));
    await until(() => pipeline.jobs.length === 2, 'the flushed segment');
    expect(conn.of('segment').at(-1)).toMatchObject({ segment_id: 1, start: 0.25, end: 0.75 });
    pipeline.jobs[1]!.resolve('last words');
    await new Promise((r) => setTimeout(r, 20));
    expect(conn.of('transcription_stopped')).toEqual([]);
    // Still owing the first segment's text: not idle for the gateway, though the client is quiet.
    expect(session.busy()).toBe(true);
    pipeline.jobs[0]!.resolve('first words');
    await until(() => conn.of('transcription_stopped').length === 1, 'transcription_stopped');
    expect(session.busy()).toBe(false);
    expect(conn.sent.slice(-3)).toMatchObject([
      { type: 'transcription', segment_id: 0, text: 'first words' },
      { type: 'transcription', segment_id: 1, text: 'last words' },
      { type: 'transcription_stopped', segments: 2 },
    ]);
    // Idle again: audio now is unexpected, and a new conversation continues the numbering.
    session.onBinary(pcm(0.1));
    session.onText(msg({ type: 'start_transcription' }));
    session.onBinary(pcm(0.1));
    await until(() => conn.of('segment').length === 3, 'a segment of the second conversation');
    expect(conn.of('segment')[2]).toMatchObject({ segment_id: 2, start: 0, end: 0.1 });
    expect(conn.errorCodes()).toEqual(['unexpected_audio']);
    await session.close();
  });

  it('a recognizer failure is a coded error and an empty text for that segment; later results still arrive', async () => {
    const { conn, pipeline, session } = open();
    await registerBoth(conn, session);
    session.onText(msg({ type: 'start_transcription' }));
    for (let i = 0; i < 4; i++) session.onBinary(pcm(0.2));
    session.onText(msg({ type: 'stop_transcription' }));
    await until(() => pipeline.jobs.length === 4, 'four jobs');
    pipeline.jobs[3]!.resolve('still here');
    pipeline.jobs[0]!.reject(Object.assign(new Error('engine detail /secret/path'), { code: 'timeout' }));
    pipeline.jobs[1]!.reject(Object.assign(new Error('full'), { code: 'overloaded' }));
    pipeline.jobs[2]!.reject(new Error('something else'));
    await until(() => conn.of('transcription_stopped').length === 1, 'transcription_stopped');
    expect(texts(conn)).toEqual([
      [0, ''],
      [1, ''],
      [2, ''],
      [3, 'still here'],
    ]);
    expect(conn.errorCodes()).toEqual(['asr_failed', 'overloaded', 'internal']);
    const [asrFailed] = conn.of('error');
    expect(asrFailed!.message).toContain('(timeout: ');
    expect(conn.of('error').some((e) => e.message.includes('secret'))).toBe(false);
    await session.close();
  });

  it('answers messages in the wrong state with their coded errors and goes on', async () => {
    const { conn, pipeline, session } = open();
    const expectErrors = async (codes: string[]) => {
      await until(() => conn.errorCodes().length >= codes.length, codes.join(', '));
      expect(conn.errorCodes()).toEqual(codes);
    };
    const errs: string[] = [];
    // Messages the inbox answers, in order.
    session.onText(msg({ type: 'stop_transcription' }));
    errs.push('wrong_state');
    session.onText(msg({ type: 'complete_speaker_registration', speaker_id: 0 }));
    errs.push('wrong_state');
    session.onText(msg({ type: 'start_transcription' }));
    errs.push('not_registered');
    session.onBinary(pcm(0.1));
    session.onBinary(pcm(0.1));
    errs.push('unexpected_audio'); // once, not per frame
    await expectErrors(errs);
    // Input refused on arrival, before the inbox.
    session.onBinary(Buffer.alloc(3));
    session.onBinary(Buffer.alloc(loadConfig().MAX_FRAME_BYTES + 2));
    session.onText('{not json');
    session.onText(msg({ type: 'no_such_message' }));
    errs.push('odd_length_audio', 'frame_too_large', 'bad_json', 'unknown_type');
    expect(conn.errorCodes()).toEqual(errs);
    expect(conn.of('error').find((e) => e.code === 'not_registered')!.message).toContain('speaker 0 and 1');

    session.onText(msg({ type: 'start_speaker_registration', speaker_id: 0 }));
    session.onText(msg({ type: 'start_transcription' }));
    errs.push('wrong_state');
    session.onText(msg({ type: 'complete_speaker_registration', speaker_id: 1 }));
    errs.push('wrong_state');
    session.onBinary(pcm(0.5));
    session.onText(msg({ type: 'complete_speaker_registration', speaker_id: 0 }));
    await expectErrors(errs);
    await until(() => conn.of('speaker_registration_failed').length === 1, 'a too short registration');
    expect(conn.of('speaker_registration_failed')[0]).toMatchObject({ speaker_id: 0, reason: 'too_short' });

    await registerBoth(conn, session);
    session.onText(msg({ type: 'start_transcription' }));
    session.onText(msg({ type: 'start_transcription' }));
    errs.push('wrong_state');
    session.onText(msg({ type: 'start_speaker_registration', speaker_id: 1 }));
    errs.push('wrong_state');
    session.onText(msg({ type: 'use_saved_voice', speaker_id: 1, voice_id: newId() }));
    errs.push('wrong_state');
    // Without a store, saving is refused (and it is allowed in any state).
    session.onText(msg({ type: 'save_voice', speaker_id: 1 }));
    errs.push('storage_failed');
    await expectErrors(errs);
    expect(conn.of('transcription_started')).toHaveLength(1);
    expect(pipeline.fronts).toHaveLength(1);
    await session.close();
    // A closed session ignores everything.
    const before = conn.sent.length;
    session.onText(msg({ type: 'stop_transcription' }));
    session.onBinary(pcm(0.1));
    expect(conn.sent.length).toBe(before);
  });

  it('completes an over-long registration by itself and stops an over-long conversation', async () => {
    const { conn, pipeline, session } = open({ config: { MAX_ENROLLMENT_S: 1, MAX_CONVERSATION_S: 1 } });
    session.onText(msg({ type: 'start_speaker_registration', speaker_id: 0 }));
    session.onBinary(pcm(0.8));
    session.onBinary(pcm(0.8));
    await until(() => conn.of('speaker_registration_completed').length === 1, 'the automatic completion');
    expect(conn.of('speaker_registration_completed')[0]).toMatchObject({ speaker_id: 0, speech_seconds: 1 });
    session.onText(msg({ type: 'start_speaker_registration', speaker_id: 1 }));
    session.onBinary(pcm(1));
    await until(() => conn.of('speaker_registration_completed').length === 2, 'the second completion');
    expect(conn.errorCodes()).toEqual(['registration_too_long', 'registration_too_long']);

    session.onText(msg({ type: 'start_transcription' }));
    session.onBinary(pcm(0.6));
    session.onBinary(pcm(0.6));
    session.onBinary(pcm(0.6));
    await until(() => pipeline.jobs.length === 2, 'two jobs');
    for (const j of pipeline.jobs) j.resolve('x');
    await until(() => conn.of('transcription_stopped').length === 1, 'the automatic stop');
    await until(() => conn.errorCodes().length === 4, 'the last frame refused');
    expect(conn.errorCodes().slice(2)).toEqual(['conversation_too_long', 'unexpected_audio']);
    expect(conn.of('transcription_stopped')[0]).toMatchObject({ segments: 2 });
    await session.close();
  });

  it('resumes a dropped conversation on a new connection: voices, numbering, audio clock and unseen messages', async () => {
    const conversations = new Conversations({ store: null, resumeWindowS: 60, models: { asr: 'fake-asr', speaker: 'fake-speaker', vad: 'fake-vad' }, log });
    const pipeline = new FakePipeline();
    const first = open({ conversations, pipeline });
    await registerBoth(first.conn, first.session);
    first.session.onText(msg({ type: 'start_transcription', language: 'de' }));
    first.session.onBinary(pcm(0.5));
    first.session.onBinary(pcm(0.5));
    await until(() => pipeline.jobs.length === 2, 'two jobs');
    const started = first.conn.of('transcription_started')[0]!;
    expect(started).toMatchObject({ language: 'de', resumed: false, next_segment_id: 0, resume_from: 0 });
    const id = started.conversation_id!;
    pipeline.jobs[0]!.resolve('one');
    await until(() => first.conn.of('transcription').length === 1, 'the first text');
    // The connection drops with an open segment and a text in flight: both are finished and recorded.
    pipeline.fronts[0]!.closeEachPush = false;
    first.session.onBinary(pcm(0.25));
    const closing = first.session.close();
    await until(() => pipeline.jobs.length === 3, 'the suspended segment');
    pipeline.jobs[1]!.resolve('two');
    pipeline.jobs[2]!.resolve('three');
    await closing;
    // Finished and recorded (sent on the dropped connection, where nobody reads them).
    expect(first.conn.of('transcription').map((m) => m.text)).toEqual(['one', 'two', 'three']);

    const second = open({ conversations, pipeline });
    second.session.onText(msg({ type: 'start_transcription', conversation_id: id, last_segment_id: 0 }));
    await until(() => second.conn.of('transcription_started').length === 1, 'the resumed start');
    expect(second.conn.of('transcription_started')[0]).toEqual({
      type: 'transcription_started',
      language: 'de',
      conversation_id: id,
      resumed: true,
      next_segment_id: 3,
      resume_from: 1.25,
    });
    // Everything after segment 0 the client has not seen, in order, from the record.
    expect(second.conn.sent.slice(2).map((m) => [m.type, (m as { segment_id: number }).segment_id])).toEqual([
      ['segment', 1],
      ['segment', 2],
      ['transcription', 1],
      ['transcription', 2],
    ]);
    expect(second.conn.of('transcription').map((m) => m.text)).toEqual(['two', 'three']);

    // The conversation goes on with the old voices' room, numbering and clock, in the same language.
    second.session.onBinary(pcm(0.5));
    await until(() => pipeline.jobs.length === 4, 'a job after the resume');
    expect(pipeline.jobs[3]).toMatchObject({ language: 'de', conversation: id });
    expect(second.conn.of('segment').at(-1)).toMatchObject({ segment_id: 3, start: 1.25, end: 1.75, conversation_id: id });
    pipeline.jobs[3]!.resolve('four');
    second.session.onText(msg({ type: 'stop_transcription' }));
    await until(() => second.conn.of('transcription_stopped').length === 1, 'the stop');
    expect(second.conn.of('transcription_stopped')[0]).toMatchObject({ segments: 4 });
    // Ended: it cannot be resumed again.
    const third = open({ conversations, pipeline });
    third.session.onText(msg({ type: 'start_transcription', conversation_id: id }));
    await until(() => third.conn.errorCodes().length === 1, 'the refusal');
    expect(third.conn.errorCodes()).toEqual(['unknown_conversation']);
    await Promise.all([second.session.close(), third.session.close()]);
    await conversations.close();
  });

  it('refuses a resume on a server that keeps no conversations', async () => {
    const { conn, session } = open();
    session.onText(msg({ type: 'start_transcription', conversation_id: newId() }));
    await until(() => conn.errorCodes().length === 1, 'the refusal');
    expect(conn.errorCodes()).toEqual(['unknown_conversation']);
    await session.close();
  });

  it('pauses reading when its audio backlog is full and resumes at half', async () => {
    const { conn, pipeline, session } = open({ config: { MAX_BACKLOG_S: 1 } });
    await registerBoth(conn, session);
    // Registration audio may have paused the socket too: count from here.
    const { pauses, resumes } = conn;
    session.onText(msg({ type: 'start_transcription' }));
    // Every frame is a segment: a capacity of 16 jobs is taken by the first 16 frames, then the inbox fills.
    for (let i = 0; i < 40; i++) session.onBinary(pcm(0.1));
    await until(() => pipeline.jobs.length === 16, 'sixteen jobs');
    expect(conn.pauses - pauses).toBe(1);
    expect(conn.resumes - resumes).toBe(0);
    for (let i = 0; i < 40; i++) {
      await until(() => pipeline.jobs.length > i, `job ${i}`);
      pipeline.jobs[i]!.resolve(`t${i}`);
    }
    await until(() => conn.of('transcription').length === 40, 'every text');
    expect(conn.resumes - resumes).toBe(1);
    await session.close();
  });
});
