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

import { audioDurationS, DecodeError, decodeAudio, parseDurationS, parseInputStreams, probeAudioStreamS, resolveDecoder, type DecodeInput } from './decode.js';

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

  it('takes a video whose picture outlasts its sound (mp4 and Matroska), and one whose sound outlasts its picture', async () => {
    // Like a screen recording cut with -shortest: 8 s of sound in a 12 s container.
    const picture = ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=12'];
    const sound = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=8:sample_rate=16000'];
    const mp4 = join(dir, 'long-picture.mp4');
    ffmpeg([...picture, ...sound, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', mp4]);
    const mkv = join(dir, 'long-picture.mkv');
    ffmpeg([...picture, ...sound, '-c:v', 'libvpx', '-deadline', 'realtime', '-c:a', 'libopus', mkv]);
    const longSound = join(dir, 'long-sound.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=3', ...sound, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', longSound]);
    for (const path of [mp4, mkv, longSound]) {
      const out = await decodeAll({ path });
      expect(out.length / 16_000, path).toBeGreaterThan(7.8);
      expect(out.length / 16_000, path).toBeLessThan(8.3);
    }
    // A video cut short in transfer is still truncated: the audio stream's header promises more.
    const whole = join(dir, 'whole.mp4');
    ffmpeg([...picture, ...sound, '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-movflags', '+faststart', whole]);
    const cut = join(dir, 'cut.mp4');
    const bytes = readFileSync(whole);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.5)));
    expect(await codeOf({ path: cut })).toBe('truncated_input');
    expect(await probeAudioStreamS(resolveDecoder(), mp4)).toBeCloseTo(8, 0);
  }, 60_000);

  it('reads each input stream from the header, not the output', async () => {
    const head = [
      "Input #0, matroska,webm, from 'x.mkv':",
      '  Duration: 00:00:12.01, start: -0.007000, bitrate: 80 kb/s',
      '  Stream #0:0: Video: vp8, yuv420p, 160x120, 10 fps',
      '      Metadata:',
      '        DURATION        : 00:00:12.007000000',
      '  Stream #0:1(eng): Audio: opus, 48000 Hz, mono, fltp',
      '      Metadata:',
      '        DURATION        : 00:00:08.008000000',
      '  Stream #0:2: Video: mjpeg, yuvj420p, 600x600, 90k tbn (attached pic)',
      'Stream mapping:',
      '  Stream #0:1 -> #0:0 (opus (native) -> pcm_s16le (native))',
      "Output #0, s16le, to 'pipe:1':",
      '  Stream #0:0: Audio: pcm_s16le, 16000 Hz, mono, s16, 256 kb/s',
    ].join('\n');
    expect(parseInputStreams(head)).toEqual([
      { kind: 'video', attachedPic: false, durationS: 12.007 },
      { kind: 'audio', attachedPic: false, durationS: 8.008 },
      { kind: 'video', attachedPic: true, durationS: null },
    ]);
    const never = async () => {
      throw new Error('not asked');
    };
    expect(await audioDurationS(head, 12.01, never)).toBeCloseTo(8.008, 3);
    // Audio with cover art only: the container's duration is the audio's.
    const song = "Input #0, mp3, from 'a.mp3':\n  Duration: 00:03:00.00\n  Stream #0:0: Audio: mp3\n  Stream #0:1: Video: png (attached pic)\n";
    expect(await audioDurationS(song, 180, never)).toBe(180);
    // A video without a stream duration in its header asks the prober; none answers: no check.
    const mp4 = "Input #0, mov, from 'v.mp4':\n  Duration: 00:00:12.00\n  Stream #0:0[0x1](und): Video: h264\n  Stream #0:1[0x2](und): Audio: aac\n";
    expect(await audioDurationS(mp4, 12, async () => 8)).toBe(8);
    expect(await audioDurationS(mp4, 12, async () => null)).toBeNull();
    expect(parseInputStreams('garbage\n\n  Stream #x\n')).toEqual([]);
  });

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
