import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

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
