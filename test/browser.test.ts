/**
 * The chat page in a real browser: headless Chromium with a fake microphone that plays a vendored
 * conversation (enrollment of A, pause, enrollment of B, pause, the conversation), against the
 * real server in diarization-only mode. The test clicks through the page like a person and
 * checks where the bubbles landed against the conversation's conv.rttm.
 *
 * Timing: Chromium starts the fake microphone's file when the page opens the microphone (first
 * "Record voice") and the page keeps it open, so "seconds captured" (the page's
 * `#mic-info[data-captured-s]`) is the position in the file. Every click waits for a position
 * inside a silence of the file; see test/helpers/browser-fake-mic.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../src/paths.js';
import type { FakeMicTimeline } from './helpers/browser-fake-mic.js';
import { startBrowserRig, type BrowserRig, type RunningServer } from './helpers/browser-rig.js';
import { attribution, capturedS, readBubbles, waitForFileTime, watchProblems } from './helpers/browser-page.js';

const OUT_DIR = fromRoot('test-output/browser');
const CONVERSATION = '1688-1998-easy';
/** Seconds of conv.wav played: ends in the pause after B's turn at 33.5–41.8 s. */
const CONVERSATION_S = 42.5;
/** Clicks happen this long after the end of a part (inside the following silence). */
const AFTER_PART_S = 0.5;

describe('the chat page in Chromium', () => {
  let rig: BrowserRig;
  let server: RunningServer;
  let browser: Browser;
  let timeline: FakeMicTimeline;

  beforeAll(async () => {
    rig = await startBrowserRig({ outDir: OUT_DIR, conversation: CONVERSATION, conversationS: CONVERSATION_S, prefix: 'duet-browser' });
    ({ server, browser, timeline } = rig);
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('registers two voices and shows the conversation on both sides', async () => {
    const context = await browser.newContext({
      locale: 'en-US',
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const problems = watchProblems(page);

    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    // The token is exchanged for a session cookie and removed from the address bar.
    await expect.poll(() => page.url()).not.toContain('token=');
    await expect.poll(() => page.locator('#status-text').textContent(), { timeout: 20_000 }).toMatch(/Ready/);
    expect(await page.locator('#status-text').textContent()).toMatch(/Diarization only/);

    const start = page.getByRole('button', { name: 'Start' });
    expect(await start.isEnabled()).toBe(false);
    // What the page is doing, as its one state helper (public/page-state.js) sees it.
    const phase = () => page.evaluate(() => document.body.dataset.phase);
    expect(await phase()).toBe('idle');

    await page.getByLabel('Name — Speaker 1').fill('Ana');
    await page.getByLabel('Name — Speaker 2').fill('Ben');

    // Speaker 1: the first Record opens the microphone, which starts the file at 0 s (silence).
    const card1 = page.locator('#voice-0');
    const card2 = page.locator('#voice-1');
    await card1.getByRole('button', { name: 'Record voice' }).click();
    await waitForFileTime(page, timeline.enrollA.endS + AFTER_PART_S);
    expect(await phase()).toBe('registering');
    // While one voice records, the other card and Start wait.
    expect(await card2.getByRole('button', { name: 'Record voice' }).getAttribute('aria-disabled')).toBe('true');
    await card1.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => card1.locator('.voice-status').textContent(), { timeout: 15_000 }).toMatch(/Voice registered/);
    expect(await phase()).toBe('idle');

    // Speaker 2: starts inside the pause before enroll_B, ends in the pause after it.
    const card2Button = page.getByRole('button', { name: 'Record voice' });
    await waitForFileTime(page, timeline.enrollB.startS - 1);
    await card2Button.click();
    await waitForFileTime(page, timeline.enrollB.endS + AFTER_PART_S);
    await card2.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => card2.locator('.voice-status').textContent(), { timeout: 15_000 }).toMatch(/Voice registered/);
    await expect.poll(() => start.isEnabled()).toBe(true);
    await page.waitForTimeout(300); // let the button transitions settle for the screenshot
    await page.screenshot({ path: join(OUT_DIR, 'registration-done.png') });

    // Conversation: Start in the pause before conv.wav; server time 0 = file time at the click.
    await page.getByLabel('Language').selectOption('en');
    await start.click();
    const startedAtFileS = await capturedS(page);
    // Normally inside the pause before conv.wav; later only if registration answered slowly.
    expect(startedAtFileS).toBeLessThan(timeline.conversationStartS + 3);
    await expect.poll(() => page.getByRole('button', { name: 'Stop' }).isVisible()).toBe(true);
    expect(await phase()).toBe('transcribing');
    expect(await page.getByLabel('Language').isDisabled()).toBe(true);

    await waitForFileTime(page, timeline.conversationStartS + 25);
    await page.screenshot({ path: join(OUT_DIR, 'conversation.png') });
    await waitForFileTime(page, timeline.conversationStartS + timeline.conversationS + 1.5);

    // Esc ends the conversation; the server finishes pending segments first.
    await page.keyboard.press('Escape');
    await expect
      .poll(() => page.locator('#conversation-hint').textContent(), { timeout: 30_000 })
      .toMatch(/Conversation ended/);
    expect(await phase()).toBe('idle');

    const bubbles = await readBubbles(page);
    await page.locator('#chat').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT_DIR, 'conversation-ended.png'), fullPage: true });

    expect(bubbles.length).toBeGreaterThanOrEqual(4);
    expect(bubbles.some((b) => b.side === 'left' && b.speaker === '0')).toBe(true);
    expect(bubbles.some((b) => b.side === 'right' && b.speaker === '1')).toBe(true);
    // No ASR model: every filled bubble says so instead of showing text.
    expect(bubbles.every((b) => b.text.includes('diarization only'))).toBe(true);
    // Names from the cards.
    expect(await page.locator('.bubble.left .bubble-name').first().textContent()).toBe('Ana');
    expect(await page.locator('.bubble.right .bubble-name').first().textContent()).toBe('Ben');

    // Bubble time (server seconds) → conv.wav seconds; reference speech streamed after Start.
    const toConvS = startedAtFileS - timeline.conversationStartS;
    const { correctS, wrongS, unknownS, referenceS } = attribution(bubbles, timeline, toConvS, Math.max(0, toConvS), timeline.conversationS);
    const attributedS = correctS + wrongS + unknownS;
    const summary = { correctS, wrongS, unknownS, referenceS, bubbles: bubbles.length, startedAtFileS };
    writeFileSync(join(OUT_DIR, 'summary.json'), JSON.stringify({ ...summary, bubbleData: bubbles }, null, 2));
    expect(attributedS / referenceS, JSON.stringify(summary)).toBeGreaterThan(0.6);
    expect(correctS / attributedS, JSON.stringify(summary)).toBeGreaterThan(0.75);

    // Download as .txt: one line per bubble, with names and times.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download .txt' }).click()]);
    const saved = join(OUT_DIR, 'conversation.txt');
    await download.saveAs(saved);
    const text = readFileSync(saved, 'utf8');
    expect(text).toMatch(/\[00:\d\d\] Ana: /);
    expect(text).toMatch(/Ben: /);

    // The same page on a phone, in dark mode: one column, readable.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#chat').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT_DIR, 'phone-dark.png') });

    expect(problems).toEqual([]);
    await context.close();
  }, 150_000);

  it('tells the user to check the token / link when the token is wrong', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${server.url}?token=not-the-token`);
    await expect.poll(() => page.url()).not.toContain('token=');
    const banner = page.getByRole('alert');
    await expect.poll(() => banner.first().textContent(), { timeout: 15_000 }).toMatch(/check the token \/ link/i);
    expect(await page.getByRole('button', { name: 'Record voice' }).first().isEnabled()).toBe(false);
    expect(await page.evaluate(() => document.body.dataset.phase)).toBe('connecting');
    await context.close();
  }, 30_000);
});
