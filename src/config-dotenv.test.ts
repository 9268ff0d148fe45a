import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOTENV_MAX_BYTES, loadConfigFromEnvironment, parseDotEnv, readDotEnv } from './config.js';

describe('parseDotEnv', () => {
  it('reads NAME=value lines, comments, export, and quoted values', () => {
    const text = [
      '# a comment',
      '',
      'PORT=9443',
      'export HOST = 127.0.0.1   # trailing comment',
      'ACCESS_TOKEN="a b#c \\"q\\" \\\\ x"',
      "DATA_DIR='/var/lib/duet #1'  # comment",
      'ALLOWED_ORIGINS=',
      'ASR_MODEL=small.en\r',
    ].join('\n');
    expect(parseDotEnv(text)).toEqual({
      PORT: '9443',
      HOST: '127.0.0.1',
      ACCESS_TOKEN: 'a b#c "q" \\ x',
      DATA_DIR: '/var/lib/duet #1',
      ALLOWED_ORIGINS: '',
      ASR_MODEL: 'small.en',
    });
  });

  it.each([
    ['PORT 9443', /line 2: expected NAME=value/],
    ['=9443', /line 2: expected NAME=value/],
    ['MY-PORT=1', /line 2: expected NAME=value/],
    ['PORTT=1', /line 2: PORTT is not a setting/],
    ['RELAY=me@relay', /line 2: RELAY is read by a script from the real environment/],
    ['HOST=1\nHOST=2', /line 3: HOST is set twice/],
    ['ACCESS_TOKEN="secret-value', /line 2: unterminated double quote/],
    ["ACCESS_TOKEN='secret-value", /line 2: unterminated single quote/],
    ['ACCESS_TOKEN="secret-value" trailing', /line 2: text after the closing quote/],
    ['ACCESS_TOKEN=sec"ret-value', /line 2: a quote inside a bare value/],
    ['ACCESS_TOKEN="secret\\t-value"', /line 2: unknown escape/],
  ])('refuses %j with the line named and the value not echoed', (line, message) => {
    let err: Error | undefined;
    try {
      parseDotEnv(`# settings\n${line}`, 'x/.env');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(message);
    expect(err?.message).toMatch(/^x\/\.env line \d+: /);
    expect(err?.message).not.toMatch(/secret|9443|me@relay/);
  });
});

describe('loadConfigFromEnvironment', () => {
  const dirs: string[] = [];
  const dirWith = (text: string | null) => {
    const d = mkdtempSync(join(tmpdir(), 'duet-dotenv-'));
    dirs.push(d);
    if (text !== null) writeFileSync(join(d, '.env'), text, { mode: 0o600 });
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('precedence: flags over the real environment over .env; an empty variable counts as unset', () => {
    const cwd = dirWith('PORT=9001\nMAX_SESSIONS=7\nLOG_LEVEL=warn\nASR_MODEL=tiny\n');
    const c = loadConfigFromEnvironment(['--log-level=error'], {}, { cwd, env: { PORT: '9002', LOG_LEVEL: 'debug', ASR_MODEL: '' } });
    expect([c.PORT, c.MAX_SESSIONS, c.LOG_LEVEL, c.ASR_MODEL]).toEqual([9002, 7, 'error', 'tiny']);
  });

  it('works without a .env, and can be told not to read one', () => {
    expect(loadConfigFromEnvironment([], {}, { cwd: dirWith(null), env: {} }).PORT).toBe(8443);
    expect(loadConfigFromEnvironment([], {}, { cwd: dirWith('PORT=9001\n'), env: {}, dotEnv: false }).PORT).toBe(8443);
  });

  it('validates .env values like any other (the setting named)', () => {
    expect(() => loadConfigFromEnvironment([], {}, { cwd: dirWith('SILENCE_MS=5\n'), env: {} })).toThrow(/SILENCE_MS: must be between 32 and 10000 ms/);
  });

  it('refuses a .env that is too large, a folder, or not UTF-8', () => {
    expect(() => readDotEnv(dirWith(`# ${'x'.repeat(DOTENV_MAX_BYTES)}\n`))).toThrow(/larger than 65536 bytes/);
    const folder = dirWith(null);
    mkdirSync(join(folder, '.env'));
    expect(() => readDotEnv(folder)).toThrow(/not a regular file/);
    const binary = dirWith(null);
    writeFileSync(join(binary, '.env'), Buffer.from([0x50, 0x3d, 0xff, 0xfe, 0x0a]));
    expect(() => readDotEnv(binary)).toThrow(/not UTF-8 text/);
  });

  it.skipIf(process.getuid?.() === 0)('names an unreadable .env without crashing', () => {
    const d = dirWith('PORT=1\n');
    chmodSync(join(d, '.env'), 0o000);
    expect(() => readDotEnv(d)).toThrow(/cannot be read \(EACCES\)/);
  });
});
