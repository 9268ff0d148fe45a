/**
 * The recordings panel in headless Chromium against the real server (diarization only): two
 * files picked at once are queued, uploaded with a progress bar, processed, and the first
 * opens as bubbles on both sides with working exports. Korean strings in a Korean browser.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSrt } from '../src/files/export.js';
import type { RunningServer } from '../src/server.js';
import { FIXTURE_CORPUS_DIR as CORPUS_DIR } from '../src/testing/paths.js';
const CONVERSATIONS_DIR = join(CORPUS_DIR, 'conversations');
import { startTestServer } from './helpers/server.js';
import { watchProblems } from './helpers/browser-page.js';
import { CHROMIUM } from './helpers/browser-rig.js';


describe('the recordings panel in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const downloads = mkdtempSync(join(tmpdir(), 'duet-upload-dl-'));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    server = await startTestServer({ SPEAKER_ENCODER: 'builtin' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(downloads, { recursive: true, force: true });
  });

  it('queues two files, shows upload and processing progress, opens the result with exports, and lists both in History', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => page.locator('#files-title').textContent()).toMatch(/Transcribe a recording/);

    await page.setInputFiles('#file-input', [join(CONVERSATIONS_DIR, '1688-1998-easy', 'conv.wav'), join(CORPUS_DIR, 'jfk.wav')]);
    const items = page.locator('#file-queue .file-item');
    await expect.poll(() => items.count()).toBe(2);
    // Processing progress is shown as a percentage before the first is done.
    const statuses = new Set<string>();
    await expect
      .poll(
        async () => {
          for (const s of await page.locator('#file-queue .file-status').allTextContents()) statuses.add(s.replace(/\d+/g, '#'));
          return page.locator('#file-queue .file-item[data-state="done"]').count();
        },
        { timeout: 90_000, interval: 100 },
      )
      .toBe(2);
    expect([...statuses].some((s) => /^(Uploading|Processing|Queued)/.test(s))).toBe(true);
    expect(await items.nth(0).locator('.file-status').textContent()).toMatch(/Done · 1:48 · 2 speaker/);
    expect(await items.nth(1).locator('.file-status').textContent()).toMatch(/Done · 0:11 · 1 speaker/);

    await items.nth(0).getByRole('button', { name: 'Open' }).click();
    const bubbles = page.locator('#file-chat .bubble');
    await expect.poll(() => bubbles.count()).toBeGreaterThan(10);
    expect(await page.locator('#file-chat .bubble.left').count()).toBeGreaterThan(3);
    expect(await page.locator('#file-chat .bubble.right').count()).toBeGreaterThan(3);
    expect(await page.locator('#file-result-title').textContent()).toBe('conv.wav');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download .srt' }).click()]);
    expect(download.suggestedFilename()).toBe('conv.srt');
    const saved = join(downloads, 'conv.srt');
    await download.saveAs(saved);
    expect(parseSrt(readFileSync(saved, 'utf8'))).toHaveLength(await bubbles.count());

    // Both results are stored conversations: History lists them, and opens the first.
    await items.nth(0).getByRole('button', { name: 'In History' }).click();
    await expect.poll(() => page.locator('#history .history-name').allTextContents()).toEqual(expect.arrayContaining(['conv.wav', 'jfk.wav']));
    await expect.poll(() => page.locator('#viewer-title').textContent()).toBe('conv.wav');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('speaks Korean to a Korean browser', async () => {
    const context = await browser.newContext({ locale: 'ko-KR' });
    const page = await context.newPage();
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => page.locator('#files-title').textContent()).toBe('3 녹음 파일 받아쓰기');
    expect(await page.locator('#drop-zone').textContent()).toContain('파일을 여기에 끌어 놓거나');
    await context.close();
  });
});
