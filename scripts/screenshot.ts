/**
 * `npx tsx scripts/screenshot.ts [--out=docs] [--conversation-s=42.5]`
 *
 * Retakes the README's screenshots: the real server (speech front, speaker attribution, store)
 * and headless Debian Chromium whose fake microphone plays a vendored test conversation
 * (`test/fixtures/corpus/conversations/1688-1998-easy`: registration of A, of B, then the
 * conversation), clicked through like a person. Writes `screenshot.png` (the live chat, with the
 * Live / History tabs) and `screenshot-history.png` (the same conversation opened in History).
 *
 * Text: no Whisper model can be downloaded where this runs, and the corpus has no reference
 * transcripts, so speech recognition is a test-only engine behind the real `AsrEngine`
 * interface that answers, for each part, the reference label of the audio it holds — the
 * LibriSpeech utterance that the conversation's reference turns say is playing there. It is
 * named "reference labels (test engine)" on the page's status line, and the README caption says
 * so. Everything else in the pictures is the product's real output.
 */
import { mkdirSync, readdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AsrEngine, AsrJobOptions, AsrResult } from '../src/asr/types.js';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';
import { fromRoot } from '../src/paths.js';
import { FIXTURE_CORPUS_DIR } from '../src/testing/paths.js';
import type { ReferenceTurn } from '../src/testing/corpus.js';
import { buildFakeMicWav, type FakeMicTimeline } from '../test/helpers/browser-fake-mic.js';
import { capturedS, waitForFileTime } from '../test/helpers/browser-page.js';
import { launchWithFakeMic } from '../test/helpers/browser-rig.js';

const CONVERSATION = '1688-1998-easy';
/** The reference speakers of that conversation (its meta.json: A = 1688, B = 1998). */
const SPEAKERS: Record<string, string> = { A: '1688', B: '1998' };
/** The conversation builder takes each speaker's utterances from index 2 on, in turn order. */
const FIRST_CONVERSATION_UTTERANCE = 2;

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs' },
    'conversation-s': { type: 'string', default: '42.5' },
  },
});
const outDir = resolve(fromRoot('.'), args.out!);
const conversationS = Number(args['conversation-s']);
if (!Number.isFinite(conversationS) || conversationS < 10 || conversationS > 100) {
  throw new Error('--conversation-s must be between 10 and 100 seconds');
}

/** LibriSpeech id (`speaker-chapter-index`) of every reference turn, in the conversation's order. */
function utteranceIds(reference: readonly ReferenceTurn[]): string[] {
  const chapterOf = (speaker: string): string => {
    const first = readdirSync(join(FIXTURE_CORPUS_DIR, 'librispeech', speaker)).find((f) => f.endsWith('.wav'));
    if (!first) throw new Error(`no LibriSpeech utterance of speaker ${speaker} in the fixtures`);
    return first.split('-')[1]!;
  };
  const next: Record<string, number> = {};
  const ids: string[] = [];
  let previous = '';
  for (const turn of reference) {
    // A pause inside one utterance splits it into consecutive turns of the same speaker.
    if (turn.speaker !== previous) next[turn.speaker] = (next[turn.speaker] ?? FIRST_CONVERSATION_UTTERANCE - 1) + 1;
    previous = turn.speaker;
    const speaker = SPEAKERS[turn.speaker]!;
    ids.push(`${speaker}-${chapterOf(speaker)}-${String(next[turn.speaker]).padStart(4, '0')}`);
  }
  return ids;
}

/**
 * Answers each recognition job with the reference label of the audio it holds. Jobs of one
 * session arrive in `segment_id` order, and each segment is stored before its job starts, so the
 * n-th job of a conversation is its n-th stored segment; `toConvS` maps conversation seconds to
 * seconds of conv.wav (known once Start was clicked).
 */
class ReferenceLabelEngine implements AsrEngine {
  readonly name = 'reference labels (test engine)';
  toConvS: number | null = null;
  private readonly jobs = new Map<string, number>();

  constructor(
    private readonly timeline: FakeMicTimeline,
    private readonly ids: readonly string[],
    private readonly server: () => RunningServer,
  ) {}

  async load(): Promise<void> {}

  async transcribe(_samples: Float32Array, options: AsrJobOptions): Promise<AsrResult> {
    const conversation = options.conversation;
    if (!conversation || this.toConvS === null) return { text: '', segments: [] };
    const n = this.jobs.get(conversation) ?? 0;
    this.jobs.set(conversation, n + 1);
    const record = await this.server().store.get(conversation);
    const segment = record?.segments.slice().sort((a, b) => a.segment_id - b.segment_id)[n];
    if (!segment) return { text: '', segments: [] };
    const from = segment.start + this.toConvS;
    const to = segment.end + this.toConvS;
    const labels: string[] = [];
    this.timeline.reference.forEach((turn, i) => {
      const overlap = Math.min(to, turn.endS) - Math.max(from, turn.startS);
      if (overlap > 0.2 && !labels.includes(this.ids[i]!)) labels.push(this.ids[i]!);
    });
    const text = labels.length > 0 ? `Reference: LibriSpeech ${labels.join(' + ')}` : '';
    return { text, segments: [] };
  }

  async close(): Promise<void> {}
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'duet-screenshot-'));
  const wavPath = join(work, 'fake-mic.wav');
  const timeline = buildFakeMicWav(wavPath, { conversation: CONVERSATION, conversationS });
  let server: RunningServer | null = null;
  const engine = new ReferenceLabelEngine(timeline, utteranceIds(timeline.reference), () => server!);
  const config = loadConfig({}, [], {
    HOST: '127.0.0.1',
    PORT: 0,
    TLS_CERT: join(work, 'fullchain.pem'),
    TLS_KEY: join(work, 'privkey.pem'),
    DATA_DIR: join(work, 'data'),
    LOG_LEVEL: 'warn',
  });
  server = await startServer(config, { asr: engine });
  const browser = await launchWithFakeMic(wavPath);
  try {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${server.url}?token=${encodeURIComponent(server.token)}`);
    await page.waitForFunction(() => /Ready/.test(document.querySelector('#status-text')?.textContent ?? ''), null, { timeout: 30_000 });

    await page.getByLabel('Name — Speaker 1').fill('Ana');
    await page.getByLabel('Name — Speaker 2').fill('Ben');
    const card1 = page.locator('#voice-0');
    const card2 = page.locator('#voice-1');
    // The first Record opens the microphone, which starts the file at 0 s (silence).
    await card1.getByRole('button', { name: 'Record voice' }).click();
    await waitForFileTime(page, timeline.enrollA.endS + 0.5);
    await card1.getByRole('button', { name: 'Done' }).click();
    await page.waitForFunction(() => /Voice registered/.test(document.querySelector('#voice-0 .voice-status')?.textContent ?? ''), null, { timeout: 20_000 });
    await waitForFileTime(page, timeline.enrollB.startS - 1);
    await card2.getByRole('button', { name: 'Record voice' }).click();
    await waitForFileTime(page, timeline.enrollB.endS + 0.5);
    await card2.getByRole('button', { name: 'Done' }).click();
    await page.waitForFunction(() => /Voice registered/.test(document.querySelector('#voice-1 .voice-status')?.textContent ?? ''), null, { timeout: 20_000 });

    await page.getByLabel('Language').selectOption('en');
    await page.getByRole('button', { name: 'Start' }).click();
    // Server time 0 is the file time at the click.
    engine.toConvS = (await capturedS(page)) - timeline.conversationStartS;
    await waitForFileTime(page, timeline.conversationStartS + timeline.conversationS + 1.5);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => /Conversation ended/.test(document.querySelector('#conversation-hint')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.waitForTimeout(500);

    // The whole conversation from its first bubble, the page from its top (tabs included).
    await page.evaluate(() => {
      document.querySelector('#chat')?.scrollTo(0, 0);
      window.scrollTo(0, 0);
    });
    const live = join(outDir, 'screenshot.png');
    await page.screenshot({ path: live, fullPage: true });

    await page.locator('#tab-history').click();
    await page.locator('.history-link').first().click();
    await page.waitForSelector('#history-viewer .bubble', { timeout: 20_000 });
    await page.waitForTimeout(500);
    const history = join(outDir, 'screenshot-history.png');
    await page.screenshot({ path: history });
    console.log(`wrote ${live} and ${history}`);
    await context.close();
  } finally {
    await browser.close();
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`screenshot failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
