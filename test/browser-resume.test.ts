/**
 * The page survives a dropped connection, and keeps what was said: headless Chromium with a
 * fake microphone (a shared fixture conversation) against the real server in diarization-only
 * mode, with the conversation store in a temporary DATA_DIR.
 *
 * The drop: every WebSocket of the page goes through Playwright's `routeWebSocket`, which
 * forwards it to the real server; mid-sentence the test closes both ends (the page and the
 * server each see the connection die) and holds the page's reconnects for a few seconds while
 * the microphone file keeps playing. The page must resume the same conversation, send the audio
 * it kept, and end up with every stored segment shown exactly once, covering the reference
 * speech of the drop as well as the rest. Then the history: the conversation is listed, opens
 * read-only, a speaker rename shows, an SRT download has the new name, a saved voice can be
 * picked in a Korean phone-sized page, and deletions ask first.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../src/paths.js';
import { parseSrt } from '../src/files/export.js';
import type { FakeMicTimeline } from './helpers/browser-fake-mic.js';
import { startBrowserRig, type BrowserRig, type RunningServer } from './helpers/browser-rig.js';
import { attribution, capturedS, readBubbles, waitForFileTime, watchProblems } from './helpers/browser-page.js';

const OUT_DIR = fromRoot('test-output/browser-resume');
const CONVERSATION = '1688-1998-easy';
/** Seconds of conv.wav played: ends in the pause after B's turn at 33.5–41.8 s. */
const CONVERSATION_S = 42.5;
/** The drop happens this far into conv.wav: inside A's turn 14.5–19.6 s. */
const DROP_AT_CONV_S = 16.5;
/** Reconnects are held this long (ms): the page reconnects inside B's turn 20.2–27.5 s. */
const DROP_MS = 6000;
const AFTER_PART_S = 0.5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resume after a drop, then the history (Chromium)', () => {
  let rig: BrowserRig;
  let server: RunningServer;
  let browser: Browser;
  let timeline: FakeMicTimeline;

  beforeAll(async () => {
    rig = await startBrowserRig({ outDir: OUT_DIR, conversation: CONVERSATION, conversationS: CONVERSATION_S, prefix: 'duet-resume' });
    ({ server, browser, timeline } = rig);
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('resumes a dropped conversation without losing or repeating a segment; lists, renames and exports it', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    const page = await context.newPage();
    // The held reconnect and the dropped socket are expected; anything else is a problem.
    const problems = watchProblems(page, /WebSocket|ERR_|net::/i);

    // Test hook: keep the page's AudioContexts reachable, to suspend one as a phone call would.
    await context.addInitScript(() => {
      const Native = window.AudioContext;
      const made: AudioContext[] = [];
      window.AudioContext = class extends Native {
        constructor(options?: AudioContextOptions) {
          super(options);
          made.push(this);
        }
      };
      (window as unknown as { __audioContexts: AudioContext[] }).__audioContexts = made;
      // …and the microphone streams, to end a track as an unplugged headset would.
      const streams: MediaStream[] = [];
      const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (c) => {
        const s = await gum(c);
        streams.push(s);
        return s;
      };
      (window as unknown as { __streams: MediaStream[] }).__streams = streams;
    });

    // Every page socket goes through here; while `holdUntilMs` is ahead, a reconnect waits.
    let holdUntilMs = 0;
    const sockets: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
    await page.routeWebSocket(/\/ws(\?|$)/, async (ws) => {
      const wait = holdUntilMs - Date.now();
      if (wait > 0) await sleep(wait);
      sockets.push({ page: ws, server: ws.connectToServer() });
    });

    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => page.locator('#status-text').textContent(), { timeout: 20_000 }).toMatch(/Ready/);
    await page.getByLabel('Name — Speaker 1').fill('Ana');
    await page.getByLabel('Name — Speaker 2').fill('Ben');

    const card1 = page.locator('#voice-0');
    const card2 = page.locator('#voice-1');
    await card1.getByRole('button', { name: 'Record voice' }).click();
    await waitForFileTime(page, timeline.enrollA.endS + AFTER_PART_S);
    await card1.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => card1.locator('.voice-status').textContent(), { timeout: 15_000 }).toMatch(/Voice registered/);

    // Save Ana's voice by name (prefilled from the card) while B's enrollment is still ahead.
    await card1.getByRole('button', { name: 'Save voice' }).click();
    expect(await card1.locator('.save-name').inputValue()).toBe('Ana');
    await card1.locator('.save-name').fill('Dr. Ana');
    await card1.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => page.locator('#saved-list .saved-name').allTextContents(), { timeout: 10_000 }).toEqual(['Dr. Ana']);
    // The speaker now goes by the saved voice's name, on the server and on the page.
    expect(await card1.locator('.name-input').inputValue()).toBe('Dr. Ana');

    await waitForFileTime(page, timeline.enrollB.startS - 1);
    await card2.getByRole('button', { name: 'Record voice' }).click();
    await waitForFileTime(page, timeline.enrollB.endS + AFTER_PART_S);
    await card2.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => card2.locator('.voice-status').textContent(), { timeout: 15_000 }).toMatch(/Voice registered/);

    const start = page.locator('#start');
    await expect.poll(() => start.getAttribute('aria-disabled')).toBe('false');
    await page.getByLabel('Language').selectOption('en');
    await start.click();
    const startedAtFileS = await capturedS(page);
    expect(startedAtFileS).toBeLessThan(timeline.conversationStartS + 3);
    const toConvS = startedAtFileS - timeline.conversationStartS;

    // The drop, mid-sentence: both ends closed, reconnects held for DROP_MS.
    await waitForFileTime(page, timeline.conversationStartS + DROP_AT_CONV_S);
    expect(sockets.length).toBe(1);
    holdUntilMs = Date.now() + DROP_MS;
    const droppedAtConvS = (await capturedS(page)) - timeline.conversationStartS;
    await sockets[0].server.close({ code: 1001, reason: 'test drop' });
    await sockets[0].page.close({ code: 4000, reason: 'test drop' });
    await expect.poll(() => page.evaluate(() => document.body.dataset.mode)).toBe('suspended');
    await expect.poll(() => page.locator('#link-notice').textContent()).toMatch(/reconnecting… audio kept \(\d+ s so far\)/);
    await page.waitForTimeout(2000);
    await page.screenshot({ path: join(OUT_DIR, 'suspended.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#link-notice').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT_DIR, 'suspended-phone.png') });
    await page.setViewportSize({ width: 1280, height: 860 });

    await expect.poll(() => page.evaluate(() => document.body.dataset.resumed ?? '0'), { timeout: DROP_MS + 15_000 }).toBe('1');
    const resumedAtConvS = (await capturedS(page)) - timeline.conversationStartS;
    expect(sockets.length).toBe(2);
    expect(await page.locator('#link-notice').isHidden()).toBe(true);
    expect(await page.locator('.toast').allTextContents()).toContain('Resumed — nothing was lost.');
    // Voices were not asked for again.
    expect(await card1.getAttribute('data-state')).toBe('registered');

    await waitForFileTime(page, timeline.conversationStartS + 25);
    await page.screenshot({ path: join(OUT_DIR, 'resumed.png') });
    await waitForFileTime(page, timeline.conversationStartS + timeline.conversationS + 1.5);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#conversation-hint').textContent(), { timeout: 30_000 }).toMatch(/Conversation ended/);

    // The wake lock was asked for in the Start tap and given back at the end (headless Chromium
    // may refuse it; then the page says so and carries on).
    expect(['released', 'refused', 'unsupported']).toContain(await page.evaluate(() => document.body.dataset.wakeLock));

    // The system suspends audio (a call, Siri, the lock screen): the page says so; a tap resumes it.
    await page.evaluate(() => (window as unknown as { __audioContexts: AudioContext[] }).__audioContexts.at(-1)?.suspend());
    const audioNotice = page.locator('#audio-notice');
    await expect.poll(() => audioNotice.isVisible()).toBe(true);
    await page.screenshot({ path: join(OUT_DIR, 'audio-suspended.png') });
    await audioNotice.getByRole('button', { name: 'Resume audio' }).click();
    await expect.poll(() => audioNotice.isVisible()).toBe(false);
    expect(await page.evaluate(() => document.body.dataset.audio)).toBe('running');
    expect(await page.locator('.toast', { hasText: 'Audio resumed.' }).count()).toBe(1);

    // The headset goes away (its track ends): the page rebuilds the microphone and frames flow on.
    const before = await capturedS(page);
    await page.evaluate(() => (window as unknown as { __streams: MediaStream[] }).__streams.at(-1)?.getAudioTracks()[0].dispatchEvent(new Event('ended')));
    await expect.poll(() => page.locator('#mic-info').textContent()).toMatch(/^Microphone changed · \d+ Hz$/);
    expect(await page.evaluate(() => (window as unknown as { __streams: MediaStream[] }).__streams.length)).toBe(2);
    await waitForFileTime(page, before + 1);

    // Nothing shown twice: one bubble per segment id, ids in order, times never running backwards.
    const bubbles = await readBubbles(page);
    const ids = bubbles.map((b) => b.segmentId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    for (let i = 1; i < bubbles.length; i++) expect(bubbles[i].start).toBeGreaterThanOrEqual(bubbles[i - 1].end - 0.05);
    expect(bubbles.every((b) => !b.pending)).toBe(true);

    // Nothing lost: the page shows exactly the stored segments…
    const convId = await page.evaluate(async (token) => {
      const res = await fetch('/api/conversations', { headers: { Authorization: `Bearer ${token}` } });
      const list = await res.json();
      return list[0].id as string;
    }, server.token);
    const record = await page.evaluate(
      async ({ token, id }) => (await fetch(`/api/conversations/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json(),
      { token: server.token, id: convId },
    );
    expect(record.segments.map((s: { segment_id: number }) => s.segment_id)).toEqual(ids);
    expect(record.segments.map((s: { speaker_id: number | null }) => (s.speaker_id === null ? 'none' : String(s.speaker_id)))).toEqual(
      bubbles.map((b) => b.speaker),
    );

    // …and they cover the reference speech: the whole part played, and the drop in particular.
    const all = attribution(bubbles, timeline, toConvS, Math.max(0, toConvS), timeline.conversationS);
    const drop = attribution(bubbles, timeline, toConvS, droppedAtConvS - 0.5, resumedAtConvS + 0.5);
    const report = JSON.stringify({ all, drop, droppedAtConvS, resumedAtConvS, bubbles: bubbles.length });
    writeFileSync(join(OUT_DIR, 'summary.json'), JSON.stringify({ all, drop, droppedAtConvS, resumedAtConvS, bubbles }, null, 2));
    const covered = (a: typeof all) => (a.correctS + a.wrongS + a.unknownS) / a.referenceS;
    expect(drop.referenceS, report).toBeGreaterThan(3);
    expect(covered(all), report).toBeGreaterThan(0.6);
    expect(all.correctS / (all.correctS + all.wrongS + all.unknownS), report).toBeGreaterThan(0.75);
    expect(covered(drop), report).toBeGreaterThan(0.6);
    expect(drop.correctS / (drop.correctS + drop.wrongS + drop.unknownS), report).toBeGreaterThan(0.75);

    // History: listed with both names, its length and its messages.
    await page.getByRole('link', { name: 'History' }).click();
    const item = page.locator('.history-item').first();
    await expect.poll(() => item.locator('.history-name').textContent(), { timeout: 10_000 }).toBe('Dr. Ana & Ben');
    expect(await item.locator('.history-meta').textContent()).toContain(`${ids.length} messages`);
    await item.locator('a').click();
    await expect.poll(() => page.locator('#viewer-chat .bubble').count()).toBe(ids.length);
    expect((await readBubbles(page, '#viewer-chat')).map((b) => b.segmentId)).toEqual(ids);
    await page.waitForTimeout(300); // let the bubbles' fade-in finish for the screenshot
    await page.screenshot({ path: join(OUT_DIR, 'history-desktop.png') });

    // Rename speaker 1 afterwards: the bubbles and the list follow, and so does the export.
    await page.getByText('Rename').click();
    expect(await page.locator('#rename-0').inputValue()).toBe('Dr. Ana');
    await page.locator('#rename-0').fill('Ana Kim');
    await page.getByRole('button', { name: 'Save names' }).click();
    await expect.poll(() => page.locator('#viewer-chat .bubble.left .bubble-name').first().textContent()).toBe('Ana Kim');
    await expect.poll(() => item.locator('.history-name').textContent()).toBe('Ana Kim & Ben');

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#history-viewer [data-format="srt"]').click()]);
    expect(download.suggestedFilename()).toMatch(/\.srt$/);
    const srtPath = join(OUT_DIR, 'conversation.srt');
    await download.saveAs(srtPath);
    const srt = readFileSync(srtPath, 'utf8');
    // Every timing line in SRT's exact form (HH:MM:SS,mmm --> HH:MM:SS,mmm).
    for (const line of srt.split(/\r?\n/).filter((l) => l.includes('-->'))) expect(line).toMatch(/^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$/);
    const cues = parseSrt(srt);
    expect(cues.map((c) => c.index)).toEqual(ids.map((_, i) => i + 1));
    for (let i = 0; i < cues.length; i++) {
      expect(cues[i].endS).toBeGreaterThan(cues[i].startS);
      if (i > 0) expect(cues[i].startS).toBeGreaterThanOrEqual(cues[i - 1].endS);
    }
    expect(cues.some((c) => c.text.startsWith('Ana Kim: '))).toBe(true);
    expect(cues.some((c) => c.text.startsWith('Ben: '))).toBe(true);

    // The same history on a phone, in dark mode: one column, the conversation in place of the list.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(OUT_DIR, 'history-phone-viewer.png'), fullPage: true });
    await page.locator('#history-back').click();
    await expect.poll(() => page.locator('.history-list-panel').isVisible()).toBe(true);
    await page.screenshot({ path: join(OUT_DIR, 'history-phone-list.png') });

    expect(problems).toEqual([]);
    await context.close();

    // A Korean phone: the saved voice is offered and used instead of recording; then deletions, confirmed.
    const ko = await browser.newContext({ locale: 'ko-KR', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const phone = await ko.newPage();
    phone.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await phone.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await expect.poll(() => phone.locator('#status-text').textContent(), { timeout: 20_000 }).toMatch(/준비됨/);
    const pick = phone.locator('#voice-0 .saved-select');
    await expect.poll(() => pick.isVisible()).toBe(true);
    await pick.selectOption({ label: 'Dr. Ana' });
    await expect.poll(() => phone.locator('#voice-0 .voice-status').textContent(), { timeout: 10_000 }).toBe('저장된 목소리 “Dr. Ana” 사용 중');
    expect(await phone.locator('#voice-0 .name-input').inputValue()).toBe('Dr. Ana');
    await phone.screenshot({ path: join(OUT_DIR, 'phone-ko-live.png'), fullPage: true });

    await phone.locator('#saved-voices summary').click();
    phone.once('dialog', (d) => d.dismiss());
    await phone.locator('#saved-list button').click();
    expect(await phone.locator('#saved-list .saved-item').count()).toBe(1);
    phone.once('dialog', (d) => d.accept());
    await phone.locator('#saved-list button').click();
    await expect.poll(() => phone.locator('#saved-list .saved-item').count()).toBe(0);

    await phone.getByRole('link', { name: '기록' }).click();
    await expect.poll(() => phone.locator('.history-item').count(), { timeout: 10_000 }).toBe(1);
    await phone.locator('.history-item a').click();
    await expect.poll(() => phone.locator('#viewer-chat .bubble').count()).toBe(ids.length);
    await phone.screenshot({ path: join(OUT_DIR, 'history-phone-ko.png'), fullPage: true });
    phone.once('dialog', (d) => d.accept());
    await phone.locator('#history-delete').click();
    await expect.poll(() => phone.locator('#history-status').textContent(), { timeout: 10_000 }).toBe('저장된 대화가 아직 없습니다.');
    expect(problems).toEqual([]);
    await ko.close();
  }, 170_000);
});
