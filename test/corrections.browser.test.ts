/**
 * Fix and find in headless Chromium against the real server: edit in place, reassign, split,
 * merge, delete, undo, reload, export, and the History search box opening a conversation at the
 * matching segment; keyboard only; a phone-sized Korean page.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { watchProblems } from './helpers/browser-page.js';
import { startTestServer } from './helpers/server.js';
import { CHROMIUM } from './helpers/browser-rig.js';


describe('corrections and search on the page', () => {
  let server: RunningServer;
  let browser: Browser;
  let id: string;
  const downloads = mkdtempSync(join(tmpdir(), 'duet-corr-dl-'));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
    server = await startTestServer({});
    const meta = await server.store.createFinished({
      language: 'ko',
      models: { asr: 'fake', speaker: 'enc', vad: 'vad' },
      speakers: [{ id: 0, name: 'Dr Park' }, { id: 1, name: 'Mina' }],
      title: 'Follow-up visit',
      endedAt: new Date(),
      audioS: 30,
      segments: [
        { segment_id: 0, speaker_id: 0, start: 0, end: 3, text: 'Hello Anna, how are you today?' },
        { segment_id: 1, speaker_id: 0, start: 4, end: 6, text: 'Thank you.' },
        { segment_id: 2, speaker_id: 1, start: 7, end: 10, text: ' 오늘 약을 먹었어요. 잠도 잘 잤어요.' },
        { segment_id: 3, speaker_id: 1, start: 11, end: 13, text: 'The pharmacy was closed.' },
      ],
    });
    id = meta.id;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--ignore-certificate-errors'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(downloads, { recursive: true, force: true });
  });

  const bubble = (page: Page, sid: number | string) => page.locator(`#viewer-chat .bubble[data-segment-id="${sid}"]`);
  const texts = (page: Page) => page.locator('#viewer-chat .bubble .bubble-text').allTextContents();
  async function menu(page: Page, sid: number | string, item: string): Promise<void> {
    await bubble(page, sid).locator('.bubble-menu-button').click();
    await page.getByRole('menuitem', { name: item }).click();
  }

  it('edits, reassigns, splits, merges, deletes, undoes; survives a reload; exports the corrected text', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}#history/${id}`);
    await expect.poll(() => page.locator('#viewer-chat .bubble').count()).toBe(4);

    // Edit in place: click the text, change it, Enter.
    await bubble(page, 0).locator('.bubble-text').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Hello Hanna, how are you today?');
    await page.keyboard.press('Enter');
    await expect.poll(() => bubble(page, 0).locator('.bubble-text').textContent()).toBe('Hello Hanna, how are you today?');
    await expect.poll(() => bubble(page, 0).getAttribute('class')).toContain('corrected');
    expect(await bubble(page, 0).locator('.bubble-edited').getAttribute('title')).toBe('Original: Hello Anna, how are you today?');

    // The stray "Thank you." goes to the other speaker, then is deleted; undo brings it back.
    await menu(page, 1, 'Give to the other speaker');
    await expect.poll(() => bubble(page, 1).getAttribute('data-speaker')).toBe('1');
    await menu(page, 1, 'Delete message');
    await expect.poll(() => bubble(page, 1).count()).toBe(0);
    await page.locator('#viewer-undo').click();
    await expect.poll(() => bubble(page, 1).count()).toBe(1);
    expect(await bubble(page, 1).getAttribute('data-speaker')).toBe('1');

    // Split the Korean sentence where the caret is, then merge it back.
    await bubble(page, 2).locator('.bubble-text').click();
    await page.keyboard.press('Escape');
    await page.evaluate(() => {
      const node = document.querySelector('#viewer-chat .bubble[data-segment-id="2"] .bubble-text')!.firstChild!;
      const r = document.createRange();
      r.setStart(node, '오늘 약을 먹었어요.'.length + 1);
      r.collapse(true);
      window.getSelection()!.removeAllRanges();
      window.getSelection()!.addRange(r);
    });
    await menu(page, 2, 'Split here');
    await expect.poll(() => page.locator('#viewer-chat .bubble').count()).toBe(5);
    expect(await texts(page)).toEqual(['Hello Hanna, how are you today?', 'Thank you.', '오늘 약을 먹었어요.', '잠도 잘 잤어요.', 'The pharmacy was closed.']);
    await menu(page, 2, 'Merge with next');
    await expect.poll(() => page.locator('#viewer-chat .bubble').count()).toBe(4);
    expect((await texts(page))[2]).toBe('오늘 약을 먹었어요. 잠도 잘 잤어요.');

    // Reload: everything came from the store.
    await page.reload();
    await expect.poll(() => texts(page)).toEqual(['Hello Hanna, how are you today?', 'Thank you.', '오늘 약을 먹었어요. 잠도 잘 잤어요.', 'The pharmacy was closed.']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#history-viewer [data-format="txt"]').click()]);
    const saved = join(downloads, 'c.txt');
    await download.saveAs(saved);
    const txt = readFileSync(saved, 'utf8');
    expect(txt).toContain('Dr Park: Hello Hanna, how are you today?');
    expect(txt).toContain('Mina: Thank you. 오늘 약을 먹었어요. 잠도 잘 잤어요.');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('searches as you type and opens the conversation at the matching segment; keyboard only', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}#history`);
    await page.locator('#history-search').fill('약');
    await expect.poll(() => page.locator('#search-results .search-hit mark').allTextContents()).toEqual(['약']);
    await page.locator('#history-search').fill('pharm');
    await expect.poll(() => page.locator('#search-results .search-hit mark').allTextContents()).toEqual(['pharm']);
    // Down arrow to the first result, Enter opens it at the segment, highlighted.
    await page.locator('#history-search').press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent ?? '')).toContain('pharm');
    await page.keyboard.press('Enter');
    await expect.poll(() => bubble(page, 3).getAttribute('class')).toContain('highlight');

    // Keyboard editing: Tab to a text, Enter, type, Enter.
    await bubble(page, 3).locator('.bubble-text').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.type(' Again');
    await page.keyboard.press('Enter');
    // The typed text shows at once; wait for the re-read from the server (the corrected mark).
    await expect.poll(() => bubble(page, 3).getAttribute('class')).toMatch(/corrected/);
    expect(await bubble(page, 3).locator('.bubble-text').textContent()).toBe('The pharmacy was closed. Again');
    // The menu by keyboard: open, arrow down to "Unknown speaker", Enter.
    await bubble(page, 3).locator('.bubble-menu-button').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => bubble(page, 3).getAttribute('data-speaker')).toBe('none');
    await page.locator('#viewer-chat').focus();
    await page.keyboard.press('Control+z');
    await expect.poll(() => bubble(page, 3).getAttribute('data-speaker')).toBe('1');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('works on a phone-sized Korean page', async () => {
    const context = await browser.newContext({ locale: 'ko-KR', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}#history/${id}`);
    await expect.poll(() => page.locator('#viewer-chat .bubble').count()).toBe(4);
    await bubble(page, 0).locator('.bubble-menu-button').tap();
    const menuBox = await page.locator('.bubble-menu').boundingBox();
    expect(menuBox!.x).toBeGreaterThanOrEqual(0);
    expect(menuBox!.x + menuBox!.width).toBeLessThanOrEqual(390);
    await page.getByRole('menuitem', { name: '다른 화자로 바꾸기' }).tap();
    await expect.poll(() => bubble(page, 0).getAttribute('data-speaker')).toBe('1');
    expect(await page.locator('#viewer-undo').textContent()).toBe('실행 취소');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
