import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigInput } from '../config.js';
import { createLogger } from '../log.js';
import type { ErrorCode, ServerMessage } from '../protocol/messages.js';
import { FakePipeline, FakeRecognizer, pcm, until } from '../testing/fake-ports.js';
import { Conversations } from './conversations.js';
import { Lifecycle, type SessionStateView } from './lifecycle.js';
import { RecognitionLane } from './recognition-lane.js';
import { Voices } from './voices.js';

const log = createLogger('silent');

/** A lifecycle with fake parts and a state the test can change, as the session would. */
function lifecycle(config: ConfigInput = {}, shared?: Conversations) {
  const sent: ServerMessage[] = [];
  const pipeline = new FakePipeline();
  const conversations = shared ?? new Conversations({ store: null, resumeWindowS: 60, models: pipeline.models, log });
  const recognizer = new FakeRecognizer();
  const error = (code: ErrorCode, message: string) => void sent.push({ type: 'error', code, message });
  let state: SessionStateView = { kind: 'idle' };
  const voices = new Voices({ room: pipeline.createRoom(), send: (m) => sent.push(m), log, conversations, closed: () => state.kind === 'closed', storageFailed: () => undefined });
  const lane = new RecognitionLane({ recognizer, log, error, maxWaiting: 32 });
  const lc = new Lifecycle({
    config: loadConfig({}, [], config),
    pipeline,
    log,
    conversations,
    voices,
    lane,
    partials: null,
    send: (m) => sent.push(m),
    error,
    storageFailed: () => undefined,
    current: () => state,
    setState: (next) => {
      if (state.kind !== 'closed') state = next;
    },
    backlogSamples: () => 0,
  });
  return {
    lc,
    sent,
    recognizer,
    conversations,
    get state() {
      return state;
    },
    set state(s: SessionStateView) {
      state = s;
    },
  };
}

describe('Lifecycle', () => {
  it('refuses to start without both voices, unless AUTO_ENROLL', async () => {
    const strict = lifecycle();
    await strict.lc.start(strict.state, 'en');
    expect(strict.sent).toMatchObject([{ type: 'error', code: 'not_registered' }]);
    expect(strict.state.kind).toBe('idle');

    const auto = lifecycle({ AUTO_ENROLL: true });
    await auto.lc.start(auto.state, 'en');
    expect(auto.state.kind).toBe('transcribing');
    expect(auto.sent).toMatchObject([{ type: 'transcription_started', language: 'en', resumed: false, next_segment_id: 0, resume_from: 0 }]);
    expect(auto.conversations.size).toBe(1);
  });

  it('ends the record it was opening when the session closed meanwhile, and sends nothing', async () => {
    const t = lifecycle({ AUTO_ENROLL: true });
    const starting = t.lc.start(t.state, 'en');
    t.state = { kind: 'closed' };
    await starting;
    expect(t.sent).toEqual([]);
    expect(t.conversations.size).toBe(0);
  });

  it('numbers partials with the id their segment will get, only while a conversation runs', async () => {
    const t = lifecycle({ AUTO_ENROLL: true });
    const partial = { speaker_id: null, start: 0, text: 'hel', stable: '' };
    expect(t.lc.sendPartial(partial)).toBe(false);
    await t.lc.start(t.state, 'en');
    const live = t.state;
    if (live.kind !== 'transcribing') throw new Error('not started');
    await t.lc.audio(live, pcm(0.2));
    await until(() => t.recognizer.jobs.length === 1, 'the job');
    expect(t.lc.sendPartial(partial)).toBe(true);
    expect(t.sent.at(-1)).toEqual({ type: 'partial', segment_id: 1, ...partial, conversation_id: live.log!.id });
    t.recognizer.jobs[0]!.resolve('hello');
    await t.lc.stop(live);
    expect(t.state.kind).toBe('idle');
    expect(t.sent.map((m) => m.type)).toEqual(['transcription_started', 'segment', 'partial', 'transcription', 'transcription_stopped']);
    expect(t.lc.sendPartial(partial)).toBe(false);
  });

  it('suspends with what the next connection needs, and resumes from it', async () => {
    const t = lifecycle({ AUTO_ENROLL: true });
    await t.lc.start(t.state, 'fr');
    const live = t.state;
    if (live.kind !== 'transcribing') throw new Error('not started');
    await t.lc.audio(live, pcm(0.5));
    t.recognizer.jobs[0]!.resolve('bonjour');
    await t.lc.finishForSuspend(live, null);
    const { log: record, state } = t.lc.suspension(live, live.log!);
    expect(state).toMatchObject({ language: 'fr', nextSegmentId: 1, receivedSamples: 8000, segments: 1, speakers: [] });
    await t.conversations.suspend(record, state);

    const u = lifecycle();
    // Another registry does not know it.
    await u.lc.resume(record.id, -1);
    expect(u.sent).toMatchObject([{ type: 'error', code: 'unknown_conversation' }]);
    const v = lifecycle({}, t.conversations);
    await v.lc.resume(record.id, -1);
    expect(v.sent).toEqual([
      { type: 'transcription_started', language: 'fr', conversation_id: record.id, resumed: true, next_segment_id: 1, resume_from: 0.5 },
      expect.objectContaining({ type: 'segment', segment_id: 0 }),
      expect.objectContaining({ type: 'transcription', segment_id: 0, text: 'bonjour' }),
    ]);
    expect(v.state).toMatchObject({ kind: 'transcribing', language: 'fr', receivedSamples: 8000, segments: 1 });
    // The audio clock and the numbering go on (offsetFront).
    const resumed = v.state;
    if (resumed.kind !== 'transcribing') throw new Error('not resumed');
    await v.lc.audio(resumed, pcm(0.25));
    expect(v.sent.at(-1)).toMatchObject({ type: 'segment', segment_id: 1, start: 0.5, end: 0.75, conversation_id: record.id });
    expect(v.recognizer.jobs[0]).toMatchObject({ language: 'fr', conversation: record.id });
  });
});
