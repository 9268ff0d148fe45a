import { describe, expect, it } from 'vitest';
import { ConfigSchema, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has defaults inside their own ranges', () => {
    expect(() => loadConfig()).not.toThrow();
    expect(loadConfig().IDLE_TIMEOUT_MS).toBe(120_000);
    expect(loadConfig().TLS_HANDSHAKE_TIMEOUT_MS).toBe(10_000);
  });

  it('refuses every numeric setting out of its range, naming it, its range and the value', () => {
    const numeric = Object.entries(ConfigSchema.innerType().shape)
      .filter(([, s]) => typeof s.parse(undefined) === 'number')
      .map(([k]) => k);
    expect(numeric.length).toBeGreaterThanOrEqual(20);
    for (const key of numeric) {
      for (const bad of ['1e12', '-1e12', 'abc', 'Infinity']) {
        expect(() => loadConfig({ [key]: bad }), `${key}=${bad}`).toThrow(new RegExp(`invalid configuration: .*${key}: must be`));
      }
    }
    expect(() => loadConfig({ SILENCE_MS: '5' })).toThrow(/SILENCE_MS: must be between 32 and 10000 ms \(got "5"\)/);
    expect(() => loadConfig({ VAD_THRESHOLD: '50' })).toThrow(/VAD_THRESHOLD: must be between 0.01 and 1/);
    expect(() => loadConfig({ MAX_SESSIONS: '2.5' })).toThrow(/MAX_SESSIONS: must be a whole number/);
  });

  it('checks settings against each other', () => {
    expect(() => loadConfig({ MAX_SEGMENT_MS: '1000', MIN_SPEECH_MS: '1500' })).toThrow(/MIN_SPEECH_MS: must be below MAX_SEGMENT_MS/);
  });

  it('never echoes the access token', () => {
    expect(() => loadConfig({}, [], { ACCESS_TOKEN: 5 as unknown as string })).toThrow(/ACCESS_TOKEN: Expected string, received number$/);
  });
});

describe('storage and resume settings', () => {
  it('have their documented defaults', () => {
    const c = loadConfig();
    expect([c.DATA_DIR, c.KEEP_AUDIO, c.RETENTION_DAYS, c.RESUME_WINDOW_S]).toEqual(['data', false, 0, 600]);
  });

  it('are read from the environment and flags', () => {
    const c = loadConfig({ DATA_DIR: '/var/lib/duet', KEEP_AUDIO: 'yes' }, ['--retention-days=30', '--resume-window-s=120']);
    expect([c.DATA_DIR, c.KEEP_AUDIO, c.RETENTION_DAYS, c.RESUME_WINDOW_S]).toEqual(['/var/lib/duet', true, 30, 120]);
  });

  it.each([
    ['KEEP_AUDIO', 'ture'],
    ['RETENTION_DAYS', '-1'],
    ['RETENTION_DAYS', 'forever'],
    ['RESUME_WINDOW_S', '0'],
    ['RESUME_WINDOW_S', '100000'],
  ])('refuse %s=%s with the setting named', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(`invalid configuration: .*${key}`));
  });
});
