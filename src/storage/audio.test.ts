import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeWav, floatToPcm16 } from '../audio/wav.js';
import { createLogger } from '../log.js';
import { tone } from '../testing/signals.js';
import { hasOpusEncoder, openAudioSink } from './audio.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const log = createLogger('silent');

/** Seconds of audio in a file, decoded by ffmpeg. */
function decodedSeconds(path: string): number {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 's16le', '-ac', '1', '-ar', '16000', 'pipe:1'], { maxBuffer: 1 << 30 });
  expect(r.status).toBe(0);
  return r.stdout.length / 2 / 16_000;
}

describe('KEEP_AUDIO sinks', () => {
  const audio = tone({ durationS: 2.5, frequencyHz: 300, dbfs: -20 });

  it('WAV: the samples written, in order, with a correct header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-audio-'));
    dirs.push(dir);
    const sink = await openAudioSink(dir, log, 'wav');
    const pcm = floatToPcm16(audio);
    for (let at = 0; at < pcm.length; at += 3202) sink.write(Buffer.from(pcm.subarray(at, at + 3202)));
    await sink.close();
    await sink.close();
    const back = decodeWav(readFileSync(join(dir, sink.file)));
    expect(back.sampleRate).toBe(16_000);
    expect(back.samples.length).toBe(audio.length);
    expect(Math.max(...back.samples.map((x, i) => Math.abs(x - audio[i]!)))).toBeLessThan(1e-4);
  });

  it.skipIf(!hasOpusEncoder())('Opus through ffmpeg: compressed and of the same length', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-audio-'));
    dirs.push(dir);
    const sink = await openAudioSink(dir, log, 'opus');
    const pcm = floatToPcm16(audio);
    sink.write(Buffer.from(pcm));
    await sink.close();
    const file = join(dir, sink.file);
    expect(sink.file).toBe('audio.ogg');
    expect(readFileSync(file).length).toBeLessThan(pcm.length / 5);
    expect(Math.abs(decodedSeconds(file) - 2.5)).toBeLessThan(0.05);
  });
});
