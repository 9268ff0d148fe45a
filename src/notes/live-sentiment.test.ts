import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRandomLlm, TINY_LLM } from '../testing/llm-model.js';
import { LiveSentiment, type SentimentMessage } from './live-sentiment.js';
import { LocalEngine } from './local-engine.js';

describe('live sentiment on the real local engine', () => {
  let engine: LocalEngine;
  beforeAll(async () => {
    engine = new LocalEngine({ modelPath: ensureRandomLlm(mkdtempSync(join(tmpdir(), 'duet-live-')), TINY_LLM), contextTokens: 2048, threads: 1, gpu: 'off', reserveBytes: 0, idleUnloadMs: 0, timeoutMs: 60_000 });
    await engine.load();
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('answers a transcription with a sentiment message; skips while busy or while one is in flight', async () => {
    let busy = false;
    const live = new LiveSentiment({ engine, busy: () => busy });
    const got: SentimentMessage[] = [];
    const msg = { conversation_id: 'c', segment_id: 3, speaker_id: 1 as const, text: 'That is wonderful news, thank you!' };
    live.onTranscription(msg, (m) => got.push(m));
    // A second one while the first is in flight is skipped, not queued.
    live.onTranscription({ ...msg, segment_id: 4 }, (m) => got.push(m));
    await expect.poll(() => got.length, { timeout: 120_000 }).toBe(1);
    expect(got[0]).toMatchObject({ type: 'sentiment', conversation_id: 'c', segment_id: 3, speaker_id: 1 });
    expect(['positive', 'neutral', 'negative']).toContain(got[0]!.label);
    expect(got[0]!.confidence).toBeGreaterThan(0);
    expect(got[0]!.confidence).toBeLessThanOrEqual(1);
    busy = true;
    live.onTranscription({ ...msg, segment_id: 5 }, (m) => got.push(m));
    live.onTranscription({ ...msg, segment_id: 6, text: '' }, (m) => got.push(m));
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toHaveLength(1);
    expect(live.counts).toEqual({ labelled: 1, skipped: 2 });
  }, 180_000);
});
