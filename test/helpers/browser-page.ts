/**
 * Reading the chat page from a browser test: the fake microphone's position, the bubbles, and
 * how well they cover a reference conversation. Shared by the browser tests.
 */
import type { Page } from 'playwright-core';
import type { FakeMicTimeline } from './browser-fake-mic.js';

export interface BubbleData {
  segmentId: number;
  speaker: string;
  start: number;
  end: number;
  side: 'left' | 'right' | 'center';
  name: string;
  text: string;
  pending: boolean;
}

/**
 * Collects what went wrong on a page: uncaught page errors, and console errors except those
 * matching `expectedConsole` (e.g. a socket the test drops on purpose). Assert it is empty.
 */
export function watchProblems(page: Page, expectedConsole?: RegExp): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expectedConsole?.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  return problems;
}

/** Seconds of the microphone file played so far, as the page reports it. */
export async function capturedS(page: Page): Promise<number> {
  return page.evaluate(() => Number((document.querySelector('#mic-info') as HTMLElement).dataset.capturedS ?? 0));
}

/** Waits until the fake microphone's file has played up to `seconds`. */
export async function waitForFileTime(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction(
    (s) => Number((document.querySelector('#mic-info') as HTMLElement).dataset.capturedS ?? 0) >= s,
    seconds,
    { timeout: (seconds + 20) * 1000, polling: 50 },
  );
}

/** Every bubble under `root` (a chat log's selector), in page order. */
export async function readBubbles(page: Page, root = '#chat'): Promise<BubbleData[]> {
  return page.$$eval(`${root} .bubble`, (els) =>
    els.map((e) => {
      const el = e as HTMLElement;
      return {
        segmentId: Number(el.dataset.segmentId),
        speaker: el.dataset.speaker ?? '',
        start: Number(el.dataset.start),
        end: Number(el.dataset.end),
        side: el.classList.contains('left') ? 'left' : el.classList.contains('right') ? 'right' : 'center',
        name: el.querySelector('.bubble-name')?.textContent ?? '',
        text: el.querySelector('.bubble-text')?.textContent ?? '',
        pending: el.classList.contains('pending'),
      } as const;
    }),
  );
}

export function overlapS(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

export interface Attribution {
  /** Reference speech (conv.wav seconds, inside the window) covered by a bubble of the right speaker. */
  correctS: number;
  wrongS: number;
  unknownS: number;
  /** Reference speech inside the window. */
  referenceS: number;
}

/**
 * Scores bubbles against the reference turns inside [fromS, toS] (conv.wav seconds).
 * `toConvS` maps bubble (server) seconds to conv.wav seconds.
 */
export function attribution(bubbles: BubbleData[], timeline: FakeMicTimeline, toConvS: number, fromS: number, toS: number): Attribution {
  let correctS = 0;
  let wrongS = 0;
  let unknownS = 0;
  for (const b of bubbles) {
    const b0 = Math.max(b.start + toConvS, fromS);
    const b1 = Math.min(b.end + toConvS, toS);
    if (b1 <= b0) continue;
    for (const turn of timeline.reference) {
      const ov = overlapS(b0, b1, turn.startS, turn.endS);
      if (ov === 0) continue;
      if (b.speaker === 'none') unknownS += ov;
      else if (Number(b.speaker) === timeline.speakerId[turn.speaker]) correctS += ov;
      else wrongS += ov;
    }
  }
  const referenceS = timeline.reference.reduce((s, r) => s + overlapS(r.startS, r.endS, fromS, toS), 0);
  return { correctS, wrongS, unknownS, referenceS };
}
