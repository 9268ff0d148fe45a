import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_CORPUS_DIR } from '../testing/paths.js';
import { probeDurationS } from './probe.js';

describe('probeDurationS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-probe-'));

  it('reads the duration a header announces without decoding, even one far longer than the file', async () => {
    expect(await probeDurationS(join(FIXTURE_CORPUS_DIR, 'jfk.wav'))).toBeCloseTo(11, 0);
    const flac = join(dir, 'long.flac');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1', flac]);
    const bytes = readFileSync(flac);
    const info = bytes.readBigUInt64BE(18);
    bytes.writeBigUInt64BE((info & ~((1n << 36n) - 1n)) | BigInt(2000 * 60 * 8000), 18);
    writeFileSync(flac, bytes);
    expect(await probeDurationS(flac)).toBe(120_000);
  });

  it('gives null for a file that is not audio, a missing file, or a missing decoder', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not audio at all');
    expect(await probeDurationS(text)).toBeNull();
    expect(await probeDurationS(join(dir, 'absent.wav'))).toBeNull();
    expect(await probeDurationS(join(FIXTURE_CORPUS_DIR, 'jfk.wav'), { bin: join(dir, 'no-such-ffmpeg'), name: 'none' })).toBeNull();
  });
});
