/**
 * Sign-in in a real browser (Debian Chromium): the printed link signs in and leaves the address
 * bar without the token, a bookmark (the bare address) and a second tab work with the cookie
 * alone, the cookie is out of the page's JavaScript's reach, and Sign out locks the door again.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { CHROMIUM } from './helpers/browser-rig.js';
import { watchProblems } from './helpers/browser-page.js';
import { startTestServer } from './helpers/server.js';

describe('signing in from the browser', () => {
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('link → cookie; bookmark and new tab work; sign-out ends it', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    expect(page.url()).toBe(server.url);
    await expect.poll(() => page.locator('#status-text').textContent(), { timeout: 20_000 }).toMatch(/Ready/);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'duet_session', httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.evaluate(() => Object.keys(sessionStorage).length)).toBe(0);
    await expect.poll(() => page.locator('#sign-out').isVisible()).toBe(true);

    // A bookmark opened in a second tab: the bare address.
    const tab = await context.newPage();
    await tab.goto(server.url);
    await expect.poll(() => tab.locator('#status-text').textContent(), { timeout: 20_000 }).toMatch(/Ready/);
    await tab.close();

    await page.locator('#sign-out').click();
    await expect.poll(() => context.cookies(), { timeout: 10_000 }).toEqual([]);
    const banner = page.getByRole('alert');
    await expect.poll(() => banner.first().textContent(), { timeout: 20_000 }).toMatch(/check the token \/ link/i);
    expect(problems.filter((p) => !/401|Unauthorized|WebSocket/i.test(p))).toEqual([]);
    await context.close();
  }, 90_000);
});
