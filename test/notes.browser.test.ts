/**
 * The notes panel of the History viewer in headless Chromium against the real server, with the
 * real local engine on a random-weight GGUF: write a note, watch it written, read it with its
 * sentiment marks on the bubbles; a server whose notes go to another host asks first.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../src/notes/local-engine.js';
import { RemoteEngine } from '../src/notes/remote-engine.js';
import type { RunningServer } from '../src/server.js';
import { ensureRandomLlm, TINY_LLM } from '../src/testing/llm-model.js';
import { watchProblems } from './helpers/browser-page.js';
import { startTestServer } from './helpers/server.js';
import { CHROMIUM } from './helpers/browser-rig.js';

const LIMITS = { titleChars: 30, summaryChars: 80, itemChars: 30, maxItems: 2, sectionChars: 30 };

async function conversation(s: RunningServer): Promise<string> {
  const meta = await s.store.createFinished({
    language: 'en',
    models: { asr: 'test', speaker: 'test', vad: 'test' },
    speakers: [
      { id: 0, name: 'Ana' },
      { id: 1, name: 'Ben' },
    ],
    title: 'Planning',
    endedAt: new Date(),
    audioS: 40,
    segments: Array.from({ length: 4 }, (_, i) => ({ segment_id: i, speaker_id: (i % 2) as 0 | 1, start: i * 10, end: i * 10 + 8, text: `Turn ${i}: the report goes out on Friday.` })),
  });
  return meta.id;
}

describe('the notes panel in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('writes a note on demand, streams it, shows it with sentiment marks on the bubbles', async () => {
    const modelPath = ensureRandomLlm(mkdtempSync(join(tmpdir(), 'duet-notes-b-')), TINY_LLM);
    const engine = new LocalEngine({ modelPath, contextTokens: 8192, threads: 1, gpu: 'off', reserveBytes: 0, idleUnloadMs: 0, timeoutMs: 120_000 });
    const s = await startTestServer({ NOTES_SENTIMENT: true }, { notesEngine: engine, notesLimits: LIMITS, notesCharsPerToken: 1 });
    try {
      const id = await conversation(s);
      const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
      const problems = watchProblems(page);
      await page.goto(`${s.url}?token=${encodeURIComponent(s.token)}#history/${id}`);
      await expect.poll(() => page.locator('#viewer-notes .notes-engine').textContent()).toMatch(/on this machine/);
      await page.selectOption('#viewer-notes .notes-template', 'meeting');
      await page.click('#viewer-notes .notes-write');
      await expect.poll(() => page.locator('#viewer-notes article.note-done').count(), { timeout: 180_000, interval: 200 }).toBe(1);
      expect(await page.locator('#viewer-notes article.note-done h5').allTextContents()).toContain('Summary');
      await expect.poll(() => page.locator('#viewer-chat .sentiment-mark').count()).toBeGreaterThan(0);
      expect(await page.locator('#viewer-notes svg.sentiment-chart polyline').count()).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    } finally {
      await s.close();
    }
  }, 300_000);

  it('says, before the first note, that the transcript will leave the machine', async () => {
    const remote = new RemoteEngine({ url: 'https://llm.example.invalid/v1', model: 'm', apiKey: '', contextTokens: 8192, timeoutMs: 1000, maxRetries: 0, backoffMs: 10, maxBackoffMs: 10 });
    const s = await startTestServer({}, { notesEngine: remote });
    try {
      const id = await conversation(s);
      const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
      await page.goto(`${s.url}?token=${encodeURIComponent(s.token)}#history/${id}`);
      await expect.poll(() => page.locator('#viewer-notes .notes-engine').textContent()).toMatch(/llm\.example\.invalid.*sent there/);
      let asked = '';
      page.once('dialog', (d) => {
        asked = d.message();
        void d.dismiss();
      });
      await page.click('#viewer-notes .notes-write');
      await expect.poll(() => asked).toMatch(/will be sent to llm\.example\.invalid/);
      // Declined: nothing was requested.
      expect((await s.store.list()).length).toBe(1);
      const notes = await page.evaluate(async ([cid, token]) => (await fetch(`/api/conversations/${cid}/notes`, { headers: { Authorization: `Bearer ${token}` } })).json(), [id, s.token]);
      expect(notes).toEqual([]);
    } finally {
      await s.close();
    }
  }, 120_000);
});
