import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../log.js';
import { ConversationStore } from '../storage/store.js';
import { Conversations, offsetFront, type SuspendedState } from './conversations.js';
import type { ClosedSegment, SpeakerRoom } from './ports.js';

const models = { asr: null, speaker: 'enc', vad: 'silero-v4' };
const room: SpeakerRoom = { enroll: async () => ({ ok: false, reason: 'x', message: 'x', speechSeconds: 0 }), has: () => true, assign: async () => [] };
const state = (receivedSamples: number): SuspendedState => ({ room, speakers: [{ id: 0, name: 'A' }], language: 'en', nextSegmentId: 3, receivedSamples, segments: 3 });
const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(opts: { resumeWindowS?: number; maxSuspended?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'duet-conv-'));
  dirs.push(dir);
  const store = new ConversationStore(dir);
  await store.init();
  const conversations = new Conversations({ store, resumeWindowS: opts.resumeWindowS ?? 600, models, log: createLogger('silent'), maxSuspended: opts.maxSuspended ?? 32 });
  return { store, conversations };
}

describe('Conversations', () => {
  it('a live conversation is busy; a suspended one is attached once; unknown ids are refused', async () => {
    const { store, conversations } = await setup();
    const log = await conversations.begin({ language: 'en', speakers: [{ id: 0, name: 'A' }], profiles: [] }, () => undefined);
    expect(conversations.attach(log.id, () => undefined)).toMatchObject({ ok: false, code: 'conversation_busy' });
    await conversations.suspend(log, state(16_000 * 12));
    const a = conversations.attach(log.id, () => undefined);
    expect(a).toMatchObject({ ok: true, state: { nextSegmentId: 3, receivedSamples: 192_000 } });
    expect(conversations.attach(log.id, () => undefined)).toMatchObject({ ok: false, code: 'conversation_busy' });
    expect(conversations.attach('AAAAAAAAAAAAAAAAAAAAAA', () => undefined)).toMatchObject({ ok: false, code: 'unknown_conversation' });
    expect((await store.get(log.id))!.audio_s).toBe(12);
  });

  it('ends a conversation when the resume window passes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store, conversations } = await setup({ resumeWindowS: 5 });
    const log = await conversations.begin({ language: 'en', speakers: [], profiles: [] }, () => undefined);
    await conversations.suspend(log, state(0));
    await vi.advanceTimersByTimeAsync(4_900);
    expect(conversations.isOpen(log.id)).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    vi.useRealTimers();
    await vi.waitFor(async () => expect((await store.get(log.id))!.ended_at).not.toBeNull());
    expect(conversations.attach(log.id, () => undefined)).toMatchObject({ ok: false, code: 'unknown_conversation' });
  });

  it('keeps at most maxSuspended dropped conversations, ending the oldest', async () => {
    const { store, conversations } = await setup({ maxSuspended: 2 });
    const logs = [];
    for (let i = 0; i < 3; i++) {
      const log = await conversations.begin({ language: 'en', speakers: [], profiles: [] }, () => undefined);
      await conversations.suspend(log, state(0));
      logs.push(log);
    }
    expect(logs.map((l) => conversations.isOpen(l.id))).toEqual([false, true, true]);
    expect((await store.get(logs[0]!.id))!.ended_at).not.toBeNull();
  });

  it('offsetFront moves every sample index of a closed segment by the offset', async () => {
    const seg: ClosedSegment = { startSample: 100, endSample: 900, audioStartSample: 0, audio: new Float32Array(1000) };
    const front = offsetFront({ push: async () => [seg], flush: async () => [seg] }, 16_000);
    expect(await front.push(new Uint8Array(2))).toEqual([{ ...seg, startSample: 16_100, endSample: 16_900, audioStartSample: 16_000 }]);
  });
});
