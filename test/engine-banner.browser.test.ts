/**
 * The page's banner when the server runs without speech recognition, in headless Chromium
 * against the real server: a missing model says so and names `npm run models`; a server with
 * `ASR_MODEL=none` (speakers only on purpose) shows no banner.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { watchProblems } from './helpers/browser-page.js';
import { startTestServer } from './helpers/server.js';
import { CHROMIUM } from './helpers/browser-rig.js';


describe('the engine banner in Chromium', () => {
  let browser: Browser;
  const servers: RunningServer[] = [];
  const models = mkdtempSync(join(tmpdir(), 'duet-banner-models-'));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    rmSync(models, { recursive: true, force: true });
  });

  async function open(server: RunningServer, locale: string) {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => page.evaluate(() => document.body.dataset.asr ?? '')).not.toBe('');
    return { page, problems, context };
  }

  it('a missing model: says why and what to run, in the page language', async () => {
    const server = await startTestServer({ ASR_MODEL: 'base', MODELS_DIR: models, SPEAKER_ENCODER: 'builtin' });
    servers.push(server);
    const { page, problems, context } = await open(server, 'en-US');
    const banner = page.locator('#engine-banner');
    await expect.poll(() => banner.isVisible()).toBe(true);
    expect(await banner.getAttribute('data-reason')).toBe('model_missing');
    expect(await banner.textContent()).toMatch(/^No text: speech recognition is not running\. No speech recognition model is installed/);
    expect(await banner.locator('code').textContent()).toBe('npm run models');
    expect(await banner.locator('.engine-fix').textContent()).toBe('To fix it, run npm run models on the server, then restart it.');
    expect(problems).toEqual([]);
    await context.close();

    const ko = await open(server, 'ko-KR');
    await expect.poll(() => ko.page.locator('#engine-banner').isVisible()).toBe(true);
    expect(await ko.page.locator('#engine-banner strong').textContent()).toBe('텍스트 없음: 음성 인식이 실행되고 있지 않습니다.');
    expect(await ko.page.locator('#engine-banner code').textContent()).toBe('npm run models');
    await ko.context.close();
  });

  it('speakers only on purpose (ASR_MODEL=none): no banner', async () => {
    const server = await startTestServer({ ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin' });
    servers.push(server);
    const { page, problems, context } = await open(server, 'en-US');
    // The page has asked for the status by now: the request is sent with model_loaded's handling.
    await page.waitForLoadState('networkidle');
    expect(await page.locator('#engine-banner').isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  });
});
