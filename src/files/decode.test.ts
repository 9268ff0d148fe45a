/**
 * Decoding through the system ffmpeg: every listed format, generated at test time from
 * jfk.wav, comes out as 16 kHz mono of the right length and loudness; bad inputs get their
 * coded errors; hours of silence stream through in constant memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../audio/wav.js';
import { FIXTURE_CORPUS_DIR as CORPUS_DIR } from '../testing/paths.js';

import { DecodeError, decodeAudio, parseDurationS, resolveDecoder, type DecodeInput } from './decode.js';

const JFK = join(CORPUS_DIR, 'jfk.wav');

async function decodeAll(input: DecodeInput): Promise<Float32Array> {
  const parts: Buffer[] = [];
  for await (const c of decodeAudio(input).chunks()) parts.push(c);
  const all = Buffer.concat(parts);
  const out = new Float32Array(all.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = all.readInt16LE(2 * i) / 32768;
  return out;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

async function codeOf(input: DecodeInput): Promise<string> {
  try {
    await decodeAll(input);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
}

describe('decodeAudio (system ffmpeg)', () => {
  let dir: string;
  const original = decodeWav(readFileSync(JFK)).samples;
  const ffmpeg = (args: string[]) => {
    const r = spawnSync(resolveDecoder().bin, ['-v', 'error', '-y', ...args]);
    if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr}`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'duet-decode-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the decoder it found', () => {
    expect(resolveDecoder().name).toMatch(/^ffmpeg \S+ \(system\)$/);
  });

  it('reports decoder_missing with what to do when no ffmpeg can be found', () => {
    let err: unknown;
    try {
      resolveDecoder({ skipSystem: true, packages: ['@ffmpeg-installer/ffmpeg-not-here'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe('decoder_missing');
    expect((err as DecodeError).message).toMatch(/apt-get install ffmpeg/);
  });

  const video = ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=11'];
  const formats: Array<[string, string[]]> = [
    ['wav-s16-44k-stereo.wav', ['-i', JFK, '-ac', '2', '-ar', '44100', '-c:a', 'pcm_s16le']],
    ['wav-s24-48k.wav', ['-i', JFK, '-ar', '48000', '-c:a', 'pcm_s24le']],
    ['wav-f32-22k.wav', ['-i', JFK, '-ar', '22050', '-c:a', 'pcm_f32le']],
    ['wav-u8-8k.wav', ['-i', JFK, '-ar', '8000', '-c:a', 'pcm_u8']],
    ['mp3.mp3', ['-i', JFK, '-c:a', 'libmp3lame', '-b:a', '64k']],
    ['aac.m4a', ['-i', JFK, '-c:a', 'aac', '-b:a', '64k']],
    ['opus.ogg', ['-i', JFK, '-c:a', 'libopus', '-b:a', '32k']],
    ['vorbis.ogg', ['-i', JFK, '-c:a', 'libvorbis']],
    ['flac-6ch.flac', ['-i', JFK, '-af', 'pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0', '-c:a', 'flac']],
    ['opus.webm', ['-i', JFK, '-c:a', 'libopus']],
    ['h264-aac.mp4', [...video, '-i', JFK, '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest']],
    ['mpeg4-aac.mov', [...video, '-i', JFK, '-map', '0:v', '-map', '1:a', '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest']],
    // Two audio tracks: the first (the speech) is the one taken.
    ['mpeg4-2tracks.mkv', [...video, '-i', JFK, '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono:d=11', '-map', '0:v', '-map', '1:a', '-map', '2:a', '-c:v', 'mpeg4', '-c:a', 'libvorbis', '-shortest']],
  ];
  for (const [name, args] of formats) {
    it(`decodes ${name} to 16 kHz mono of the same length and loudness`, async () => {
      const file = join(dir, name);
      ffmpeg([...args, file]);
      const out = await decodeAll({ path: file });
      expect(Math.abs(out.length - original.length) / 16_000).toBeLessThan(0.15);
      const ratio = rms(out) / rms(original);
      // Channel mixing may change the level (5.1 → mono weights the channels), never by much.
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    }, 30_000);
  }

  it('passes 16 kHz mono 16-bit WAV through unchanged', async () => {
    const out = await decodeAll({ path: JFK });
    expect(out.length).toBe(original.length);
    let maxDiff = 0;
    for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - original[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('gives coded errors for bad input', async () => {
    const pdf = join(dir, 'doc.pdf');
    writeFileSync(pdf, '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' + 'x'.repeat(4000) + '\n%%EOF\n');
    const random = join(dir, 'random.bin');
    let seed = 7;
    writeFileSync(random, Buffer.from(Array.from({ length: 20_000 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255)));
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, '');
    const mp3 = join(dir, 'full.mp3');
    ffmpeg(['-i', JFK, '-c:a', 'libmp3lame', '-b:a', '64k', mp3]);
    const truncated = join(dir, 'truncated.mp3');
    const full = readFileSync(mp3);
    writeFileSync(truncated, full.subarray(0, Math.floor(full.length * 0.6)));
    const noAudio = join(dir, 'silent-film.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', noAudio]);
    expect(await codeOf({ path: pdf })).toBe('not_audio');
    expect(await codeOf({ path: random })).toBe('not_audio');
    expect(await codeOf({ path: empty })).toBe('empty_input');
    expect(await codeOf({ path: truncated })).toBe('truncated_input');
    expect(await codeOf({ path: noAudio })).toBe('no_audio_track');
    expect(await codeOf({ path: join(dir, 'missing.wav') })).toBe('decode_failed');
  }, 30_000);

  it('streams an hour of silence in constant memory', async () => {
    const before = process.memoryUsage().rss;
    let samples = 0;
    let peak = 0;
    for await (const c of decodeAudio({ lavfi: 'anullsrc=r=16000:cl=mono:d=3600' }).chunks()) {
      samples += c.length / 2;
      if ((samples & 0xfffff) < c.length / 2) peak = Math.max(peak, process.memoryUsage().rss - before);
    }
    expect(samples).toBe(3600 * 16_000);
    // 115 MB of PCM went through; far less than that may stay resident.
    expect(peak).toBeLessThan(60 * 1024 * 1024);
  }, 30_000);

  it('reads the duration from the input header', () => {
    expect(parseDurationS('  Duration: 01:02:03.50, start: 0.0')).toBeCloseTo(3723.5, 6);
    expect(parseDurationS('  Duration: N/A, bitrate')).toBeNull();
  });
});
