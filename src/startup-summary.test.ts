import { describe, expect, it } from 'vitest';
import { asrEngineStatus } from './asr/availability.js';
import { boxed, startupSummary } from './startup-summary.js';

const models = { asr: 'whisper.cpp base (cpu, 4 threads)', speaker: 'builtin-mfcc-lda', vad: 'silero-v4' };

describe('the start-up summary', () => {
  it('gives the link, the mode, the models and the data folder in a box', () => {
    const text = startupSummary({
      link: 'https://localhost:8443/?token=abc',
      keptToken: true,
      engine: asrEngineStatus({ name: models.asr }, null),
      models,
      dataDir: '/srv/duet/data',
    });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^┌─+┐$/);
    expect(lines.at(-1)).toMatch(/^└─+┘$/);
    // Every row is as wide as the frame.
    expect(new Set(lines.map((l) => [...l].length)).size).toBe(1);
    expect(text).toMatch(/│ Open: +https:\/\/localhost:8443\/\?token=abc +│/);
    expect(text).toContain("the token is kept in DATA_DIR/access-token: `npm run token` prints this link");
    expect(text).toMatch(/│ Mode: +transcription with two speakers +│/);
    expect(text).toMatch(/Models: +speech whisper\.cpp base \(cpu, 4 threads\) · voices builtin-mfcc-lda · VAD silero-v4/);
    expect(text).toMatch(/│ Data: +\/srv\/duet\/data +│/);
    expect(text).not.toMatch(/Why:|Fix:/);
  });

  it('without recognition says why and what to run', () => {
    const text = startupSummary({
      link: 'https://localhost:8443/',
      keptToken: false,
      engine: asrEngineStatus(null, { reason: 'model_missing' }),
      models: { ...models, asr: null },
      dataDir: '/d',
    });
    expect(text).toMatch(/Mode: +speakers only, no text/);
    expect(text).toMatch(/Why: +No speech recognition model is installed/);
    expect(text).toMatch(/Fix: +run `npm run models`, then restart/);
    expect(text).toMatch(/speech none · voices/);
    expect(text).not.toMatch(/new token/);
  });

  it('never cuts a long line', () => {
    const long = `https://example.org/?token=${'x'.repeat(200)}`;
    expect(boxed('t', [['Open:', long]])).toContain(long);
  });
});
