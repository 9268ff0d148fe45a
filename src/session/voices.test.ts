import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import type { ServerMessage } from '../protocol/messages.js';
import { newId } from '../storage/ids.js';
import { ConversationStore } from '../storage/store.js';
import { FakeRoom } from '../testing/fake-ports.js';
import { Conversations } from './conversations.js';
import { recordEnrollment, Voices, type VoiceRecording } from './voices.js';

const log = createLogger('silent');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function voices(opts: { store?: boolean } = {}) {
  const sent: ServerMessage[] = [];
  const used: string[] = [];
  let storageFailures = 0;
  let conversations: Conversations | undefined;
  if (opts.store) {
    const dir = mkdtempSync(join(tmpdir(), 'duet-voices-'));
    dirs.push(dir);
    const store = new ConversationStore(dir);
    await store.init();
    conversations = new Conversations({ store, resumeWindowS: 60, models: { asr: null, speaker: 'fake', vad: 'fake' }, log });
  }
  const room = new FakeRoom();
  const v = new Voices({
    room,
    send: (m) => sent.push(m),
    log,
    ...(conversations ? { conversations } : {}),
    onVoiceUse: (id) => used.push(id),
    closed: () => false,
    storageFailed: () => storageFailures++,
  });
  return { v, room, sent, used, failures: () => storageFailures, conversations };
}

const recording = (speakerId: 0 | 1, seconds: number, name?: string): VoiceRecording => ({
  speakerId,
  name,
  chunks: [new Float32Array(Math.round(seconds * 16_000))],
  samples: Math.round(seconds * 16_000),
});

describe('recordEnrollment', () => {
  it('keeps audio up to the limit and says when it is reached', () => {
    const rec: VoiceRecording = { speakerId: 0, name: undefined, chunks: [], samples: 0 };
    expect(recordEnrollment(rec, new Float32Array(600), 1000)).toBe(false);
    expect(recordEnrollment(rec, new Float32Array(600), 1000)).toBe(true);
    expect(rec.samples).toBe(1000);
    expect(rec.chunks.map((c) => c.length)).toEqual([600, 400]);
  });
});

describe('Voices', () => {
  it('registers voices, names them for the record, and reports a failed registration', async () => {
    const { v, sent } = await voices();
    expect(v.missing()).toEqual([0, 1]);
    await v.enroll(recording(0, 1.234, 'Ada'));
    await v.enroll(recording(1, 0.5));
    expect(sent).toMatchObject([
      { type: 'speaker_registration_completed', speaker_id: 0, message: 'Voice of Ada registered', speech_seconds: 1.23 },
      { type: 'speaker_registration_failed', speaker_id: 1, reason: 'too_short' },
    ]);
    expect(v.missing()).toEqual([1]);
    expect(v.speakerList()).toEqual([
      { id: 0, name: 'Ada' },
      { id: 1, name: null },
    ]);
    expect(v.profiles()).toEqual([{ id: 0, profile: { encoder: 'fake@1', profile: { seconds: 1.234 } } }]);
  });

  it('saves a voice under the given, the known or a default name, and refuses without a voice or a store', async () => {
    const { v, sent, conversations } = await voices({ store: true });
    await v.save(1, undefined);
    expect(sent.pop()).toMatchObject({ type: 'error', code: 'not_registered' });
    await v.enroll(recording(0, 2, 'Ada'));
    await v.enroll(recording(1, 2));
    await v.save(0, undefined);
    await v.save(1, '  ');
    const saved = sent.filter((m) => m.type === 'voice_saved');
    expect(saved.map((m) => [m.speaker_id, m.name])).toEqual([
      [0, 'Ada'],
      [1, 'Speaker 2'],
    ]);
    // The record names the saved voice each speaker came from.
    expect(v.speakerList()).toEqual(saved.map((m) => ({ id: m.speaker_id, name: m.name, voice_id: m.voice_id })));
    expect((await conversations!.store!.getVoice(saved[0]!.voice_id))?.name).toBe('Ada');

    const without = await voices();
    await without.v.enroll(recording(0, 2));
    await without.v.save(0, 'Bo');
    expect(without.sent.at(-1)).toMatchObject({ type: 'error', code: 'storage_failed' });
  });

  it('uses a saved voice: its name and id, the access log; refuses an unknown or incompatible one', async () => {
    const { v, sent, used, conversations } = await voices({ store: true });
    const store = conversations!.store!;
    const kept = await store.saveVoice({ name: 'Cleo', encoder: 'fake@1', profile: { seconds: 3.21 } });
    const other = await store.saveVoice({ name: 'Dan', encoder: 'other@2', profile: {} });
    await v.useSaved(1, kept.id);
    await v.useSaved(0, other.id);
    await v.useSaved(0, newId());
    expect(sent).toMatchObject([
      { type: 'speaker_registration_completed', speaker_id: 1, speech_seconds: 3.21, voice_id: kept.id, name: 'Cleo' },
      { type: 'speaker_registration_failed', speaker_id: 0, reason: 'voice_incompatible' },
      { type: 'speaker_registration_failed', speaker_id: 0, reason: 'unknown_voice' },
    ]);
    expect(used).toEqual([kept.id]);
    expect(v.missing()).toEqual([0]);
    expect(v.speakerList()[1]).toEqual({ id: 1, name: 'Cleo', voice_id: kept.id });
  });

  it('hands its room and a copy of its speakers to a suspension, and takes them back on resume', async () => {
    const a = await voices();
    await a.v.enroll(recording(0, 2, 'Ada'));
    const snapshot = a.v.snapshot();
    snapshot[0]!.name = 'changed';
    expect(a.v.speakerList()[0]!.name).toBe('Ada');

    const b = await voices();
    b.v.restore(a.v.room, a.v.snapshot());
    expect(b.v.room).toBe(a.room);
    expect(b.v.speakerList()).toEqual([
      { id: 0, name: 'Ada' },
      { id: 1, name: null },
    ]);
    expect(b.v.missing()).toEqual([1]);
  });
});
