/**
 * The page shows interim text (Chromium against the real server, diarization only): partials
 * injected into the page's own WebSocket (Playwright's `routeWebSocket` forwards everything
 * else to the server) make the open turn's bubble appear on the guessed side, stable words
 * normal and the rest lighter, hidden from screen readers; `segment` and `transcription` then
 * land in the very same bubble, in the same place, with the final text replacing the interim.
 */
import { chromium, type Browser, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { CHROMIUM } from './helpers/browser-rig.js';
import { watchProblems } from './helpers/browser-page.js';
import { startTestServer } from './helpers/server.js';

describe('interim text on the page (Chromium)', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('grows the open bubble from partials and replaces it in place by the final', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    let socket: WebSocketRoute | null = null;
    await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
      socket = ws;
      ws.connectToServer();
    });
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => page.locator('#status-text').textContent(), { timeout: 20_000 }).toMatch(/Ready/);
    const inject = (msg: object) => socket!.send(JSON.stringify(msg));
    const bubble = page.locator('#chat .bubble[data-segment-id="7"]');

    inject({ type: 'partial', segment_id: 7, speaker_id: null, start: 3.2, text: 'I went to', stable: '' });
    await expect.poll(() => bubble.count()).toBe(1);
    // Neutral (centred) while the speaker is not known; all of it still tentative.
    expect(await bubble.getAttribute('class')).toMatch(/\bunknown\b/);
    expect(await bubble.locator('.interim-stable').textContent()).toBe('');
    expect(await bubble.locator('.interim-rest').textContent()).toBe('I went to');
    expect(await bubble.locator('.interim').getAttribute('aria-hidden')).toBe('true');
    await bubble.evaluate((el) => ((el as unknown as { __mark: number }).__mark = 42));
    // Layout position (not the on-screen one: the entry animation moves it by a transform).
    const top = await bubble.evaluate((el) => (el as HTMLElement).offsetTop);

    inject({ type: 'partial', segment_id: 7, speaker_id: 1, start: 3.2, text: 'I went to the sto', stable: 'I went to' });
    await expect.poll(() => bubble.locator('.interim-rest').textContent()).toBe(' the sto');
    expect(await bubble.locator('.interim-stable').textContent()).toBe('I went to');
    expect(await bubble.getAttribute('class')).toMatch(/\bright\b/);
    // The rest is lighter than the stable words, in the same font (no reflow when the final lands).
    const styles = await bubble.evaluate((el) => {
      const s = getComputedStyle(el.querySelector('.interim-stable')!);
      const r = getComputedStyle(el.querySelector('.interim-rest')!);
      return { stable: Number(s.opacity), rest: Number(r.opacity), sameFont: s.font === r.font };
    });
    expect(styles.rest).toBeLessThan(styles.stable);
    expect(styles.sameFont).toBe(true);

    inject({ type: 'segment', segment_id: 7, speaker_id: 1, start: 3.2, end: 5.9, similarity: [0.2, 0.7] });
    inject({ type: 'transcription', segment_id: 7, speaker_id: 1, text: 'I went to the store.', timestamp: new Date().toISOString(), start: 3.2, end: 5.9 });
    await expect.poll(() => bubble.locator('.bubble-text').textContent()).toBe('I went to the store.');
    expect(await bubble.count()).toBe(1);
    expect(await bubble.evaluate((el) => (el as unknown as { __mark?: number }).__mark)).toBe(42);
    expect(await bubble.evaluate((el) => (el as HTMLElement).offsetTop)).toBe(top);
    expect(await bubble.locator('.interim').count()).toBe(0);
    expect(await bubble.getAttribute('class')).not.toMatch(/pending|has-partial/);

    // A stale partial after the final changes nothing.
    inject({ type: 'partial', segment_id: 7, speaker_id: 0, start: 3.2, text: 'late', stable: '' });
    inject({ type: 'partial', segment_id: 8, speaker_id: 0, start: 6.5, text: 'next turn', stable: '' });
    await expect.poll(() => page.locator('#chat .bubble[data-segment-id="8"]').count()).toBe(1);
    expect(await bubble.locator('.bubble-text').textContent()).toBe('I went to the store.');
    expect(await page.locator('#chat .bubble[data-segment-id="8"]').getAttribute('class')).toMatch(/\bleft\b/);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
