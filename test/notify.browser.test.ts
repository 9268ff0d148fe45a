/**
 * The page and notifications in headless Chromium against the real server: with nothing
 * configured the page offers nothing; with e-mail and a webhook configured it says what will be
 * sent where, and an upload with "e-mail me" ticked arrives at a real SMTP server (aiosmtpd)
 * with its TXT and SRT attached.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { FIXTURE_CORPUS_DIR } from '../src/testing/paths.js';
import { watchProblems } from './helpers/browser-page.js';
import { startTestServer } from './helpers/server.js';
import { attachmentsOf, startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { CHROMIUM } from './helpers/browser-rig.js';


describe('notifications on the page', () => {
  let browser: Browser;
  let smtp: TestSmtp;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    smtp = await startTestSmtp();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    smtp?.stop();
  });

  const open = async (server: RunningServer) => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    const asked = page.waitForResponse((r) => r.url().endsWith('/api/notifications'));
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => page.locator('#files-title').textContent()).toMatch(/Transcribe a recording/);
    await asked;
    return { page, problems, context };
  };

  it('offers nothing when nothing is configured', async () => {
    const server = await startTestServer({ SPEAKER_ENCODER: 'builtin' });
    try {
      const { page, problems, context } = await open(server);
      // The page has asked the server (open() waits for the answer); it still shows nothing.
      await page.waitForTimeout(200);
      expect(await page.locator('#file-notify-field').isHidden()).toBe(true);
      expect(await page.locator('#file-notify-where').isHidden()).toBe(true);
      expect(problems).toEqual([]);
      await context.close();
    } finally {
      await server.close();
    }
  }, 60_000);

  it('says what goes where, and e-mails the transcript of an upload that asks for it', async () => {
    const server = await startTestServer({
      SPEAKER_ENCODER: 'builtin',
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      NOTIFY_EMAIL: 'me@example.org',
      NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
      NOTIFY_WEBHOOK_SECRET: 'webhook-secret-0123456789',
    });
    try {
      const { page, problems, context } = await open(server);
      const field = page.locator('#file-notify-field');
      await expect.poll(() => field.isVisible()).toBe(true);
      expect(await page.locator('#file-notify-text').textContent()).toBe('E-mail me the transcript (TXT and SRT) at me@example.org');
      expect(await page.locator('#file-notify-where').textContent()).toContain('http://127.0.0.1:9');
      expect(await page.locator('#file-notify').isChecked()).toBe(false);
      await page.locator('#file-notify').check();
      const before = smtp.messages().length;
      await page.setInputFiles('#file-input', [join(FIXTURE_CORPUS_DIR, 'jfk.wav')]);
      await expect.poll(() => page.locator('#file-queue .file-item[data-state="done"]').count(), { timeout: 60_000 }).toBe(1);
      await expect.poll(() => smtp.messages().length, { timeout: 30_000 }).toBe(before + 1);
      const eml = smtp.messages()[before]!;
      expect(eml).toMatch(/^Subject: Transcript ready: jfk\.wav/m);
      expect([...attachmentsOf(eml).keys()].sort()).toEqual(['jfk.srt', 'jfk.txt']);
      expect(problems).toEqual([]);
      await context.close();
    } finally {
      await server.close();
    }
  }, 120_000);
});
