/**
 * Notes and a live conversation over WSS, with the real local engine on a random-weight GGUF:
 * `sentiment` messages follow transcriptions (NOTES_LIVE_SENTIMENT), and a note is written
 * automatically when the conversation ends (NOTES_AUTO).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../src/notes/local-engine.js';
import type { NoteView } from '../src/notes/service.js';
import type { RunningServer } from '../src/server.js';
import { ProtocolClient } from '../src/testing/client.js';
import { loadConversation } from '../src/testing/corpus.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { ensureRandomLlm, TINY_LLM } from '../src/testing/llm-model.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

describe('notes beside a live conversation', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const engine = new LocalEngine({ modelPath: ensureRandomLlm(mkdtempSync(join(tmpdir(), 'duet-live-n-')), TINY_LLM), contextTokens: 8192, threads: 1, gpu: 'off', reserveBytes: 0, idleUnloadMs: 0, timeoutMs: 120_000 });
    const asr = new FakeAsrEngine({ text: (samples) => `We agreed on ${(samples.length / 16_000).toFixed(1)} seconds of work.`, delayMs: 5 });
    // Loaded before the conversation, as it would be after the first label: the test is about the messages, not the start-up.
    await engine.load();
    server = await startTestServer(
      { NOTES_AUTO: true, NOTES_AUTO_TEMPLATE: 'meeting', NOTES_LIVE_SENTIMENT: true, NOTES_SENTIMENT: false },
      { asr, notesEngine: engine, notesLimits: { titleChars: 30, summaryChars: 80, itemChars: 30, maxItems: 2, sectionChars: 30 }, notesCharsPerToken: 1 },
    );
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends sentiment messages for live segments, then writes the automatic note at the end', async () => {
    const conv = loadConversation('1688-1998-easy');
    const client = await ProtocolClient.connect({ url: server.url, token: server.token });
    expect((await client.enroll(0, conv.enrollA, 'Ana')).type).toBe('speaker_registration_completed');
    expect((await client.enroll(1, conv.enrollB, 'Ben')).type).toBe('speaker_registration_completed');
    const from = client.messages.length;
    client.send({ type: 'start_transcription', language: 'en' });
    const started = (await client.next((m) => m.type === 'transcription_started', 10_000, from)) as { conversation_id: string };
    await client.streamAudio(conv.audio.subarray(0, 40 * 16_000), { realTime: true, speed: 2 });
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 120_000, from);
    await client.next((m) => (m as { type: string }).type === 'sentiment', 60_000, from);
    const sentiments = client.messages.slice(from).filter((m) => (m as { type: string }).type === 'sentiment') as unknown as Array<{ segment_id: number; label: string; conversation_id: string }>;
    expect(sentiments.length).toBeGreaterThan(0);
    const texts = new Set(client.messages.filter((m) => m.type === 'transcription').map((m) => (m as { segment_id: number }).segment_id));
    for (const s of sentiments) {
      expect(texts.has(s.segment_id)).toBe(true);
      expect(['positive', 'neutral', 'negative']).toContain(s.label);
      expect(s.conversation_id).toBe(started.conversation_id);
    }
    await client.close();

    const id = started.conversation_id;
    let notes: NoteView[] = [];
    for (let i = 0; i < 600; i++) {
      notes = (await api(server.url, server.token, 'GET', `/api/conversations/${id}/notes`)).json<NoteView[]>();
      if (notes.length === 1 && (notes[0]!.status === 'done' || notes[0]!.status === 'failed')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ template: 'meeting', status: 'done' });
  }, 240_000);
});
