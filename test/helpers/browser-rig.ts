/**
 * The setting every page test needs: the real server (diarization only, its own certificate and
 * store in temporary folders) and headless Debian Chromium whose fake microphone plays a WAV
 * built from a vendored conversation.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { buildFakeMicWav, type FakeMicTimeline } from './browser-fake-mic.js';

export const CHROMIUM = '/usr/bin/chromium';

export type RunningServer = Awaited<ReturnType<typeof startServer>>;

/** Headless Debian Chromium whose microphone plays `wavPath` (looped), trusting the test certificate. */
export function launchWithFakeMic(wavPath: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wavPath}`,
      '--ignore-certificate-errors',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

export interface BrowserRig {
  server: RunningServer;
  browser: Browser;
  timeline: FakeMicTimeline;
  /** Closes the browser and the server and removes the temporary folders and the WAV. */
  close(): Promise<void>;
}

/**
 * Starts the server and Chromium. `outDir` receives the fake microphone's WAV (named per
 * process, so two runs in one checkout never rewrite the file Chromium is playing).
 */
export async function startBrowserRig(opts: { outDir: string; conversation: string; conversationS: number; prefix: string }): Promise<BrowserRig> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`);
  }
  mkdirSync(opts.outDir, { recursive: true });
  const wavPath = join(opts.outDir, `fake-mic-${process.pid}.wav`);
  const timeline = buildFakeMicWav(wavPath, { conversation: opts.conversation, conversationS: opts.conversationS });
  const certDir = mkdtempSync(join(tmpdir(), `${opts.prefix}-certs-`));
  const dataDir = mkdtempSync(join(tmpdir(), `${opts.prefix}-data-`));
  const cleanup = () => {
    rmSync(certDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(wavPath, { force: true });
  };
  let server: RunningServer | null = null;
  try {
    const config = loadConfig({}, [], {
      HOST: '127.0.0.1',
      PORT: 0,
      ASR_MODEL: 'none',
      TLS_CERT: join(certDir, 'fullchain.pem'),
      TLS_KEY: join(certDir, 'privkey.pem'),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    });
    server = await startServer(config);
    const browser = await launchWithFakeMic(wavPath);
    const running = server;
    return {
      server: running,
      browser,
      timeline,
      async close() {
        await browser.close();
        await running.close();
        cleanup();
      },
    };
  } catch (err) {
    await server?.close();
    cleanup();
    throw err;
  }
}
