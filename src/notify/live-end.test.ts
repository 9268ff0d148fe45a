/** A live conversation's end is announced once, after its record is written (Conversations.onEnded). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { Conversations } from '../session/conversations.js';
import { ConversationStore } from '../storage/store.js';

describe('live conversation end', () => {
  it('calls onEnded once per conversation, with the record already ended', async () => {
    const store = new ConversationStore(mkdtempSync(join(tmpdir(), 'duet-ended-')));
    await store.init();
    const seen: Array<{ id: string; ended: string | null }> = [];
    const conversations = new Conversations({
      store,
      resumeWindowS: 600,
      models: { asr: null, speaker: 'enc', vad: 'vad' },
      log: createLogger('silent'),
      onEnded: (id) => void store.get(id).then((r) => seen.push({ id, ended: r?.ended_at ?? null })),
    });
    const log = await conversations.begin({ language: 'en', speakers: [{ id: 0, name: 'A' }], profiles: [] }, () => undefined);
    expect(conversations.size).toBe(1);
    await conversations.end(log, { receivedSamples: 16_000 * 5, speakers: [{ id: 0, name: 'A' }] });
    await conversations.end(log, { receivedSamples: 16_000 * 5, speakers: [{ id: 0, name: 'A' }] });
    await new Promise((r) => setTimeout(r, 50));
    expect(conversations.size).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.id).toBe(log.id);
    expect(seen[0]!.ended).toEqual(expect.any(String));
  });
});
