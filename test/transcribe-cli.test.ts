/**
 * `npm run transcribe` end to end, as a user runs it: a dev conversation in, SRT out, parsed
 * back; every cue's speaker must be the person really speaking then. Plus the exit codes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSrt } from '../src/files/export.js';
import { fromRoot } from '../src/paths.js';
import { BuiltinSpeakerEncoder } from '../src/speaker/builtin.js';
import { enrollSpeaker } from '../src/speaker/profile.js';
import { encoderTag } from '../src/speaker/types.js';
import { ConversationStore } from '../src/storage/store.js';
import { profileToJson } from '../src/session/pipeline.js';
import { loadConversation } from '../src/testing/corpus.js';
import { FIXTURE_CORPUS_DIR as CORPUS_DIR } from '../src/testing/paths.js';
const CONVERSATIONS_DIR = join(CORPUS_DIR, 'conversations');

const NAME = '1688-1998-easy';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('scripts/transcribe.ts'), ...args], {
      cwd: fromRoot('.'),
      env: { ...process.env, ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run transcribe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes SRT whose cues carry the right speakers, with a progress bar on stderr', async () => {
    const out = join(dir, 'conv.srt');
    const r = await run([join(CONVERSATIONS_DIR, NAME, 'conv.wav'), '--format', 'srt', '--out', out, '--language', 'en']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/\d+% .*× real time, \d+:\d\d left/);
    expect(r.stderr).toMatch(/2 speakers \(clustering\); decoder ffmpeg/);
    const cues = parseSrt(readFileSync(out, 'utf8'));
    const conv = loadConversation(NAME);
    expect(cues.length).toBeGreaterThan(10);
    // Speaker 1 on the page = whoever speaks first in the reference.
    const first = conv.reference.reduce((a, b) => (b.startS < a.startS ? b : a)).speaker;
    let right = 0;
    for (const cue of cues) {
      const named = /^Speaker (\d):/.exec(cue.text)?.[1];
      const overlap = (label: string) =>
        conv.reference.filter((t) => t.speaker === label).reduce((a, t) => a + Math.max(0, Math.min(t.endS, cue.endS) - Math.max(t.startS, cue.startS)), 0);
      const labels = [...new Set(conv.reference.map((t) => t.speaker))];
      const truth = labels.reduce((a, b) => (overlap(b) > overlap(a) ? b : a));
      if (named === (truth === first ? '1' : '2')) right++;
    }
    expect(right / cues.length).toBeGreaterThanOrEqual(0.9);
  }, 90_000);

  it('prints JSON in the conversation record shape to stdout', async () => {
    const r = await run([join(CONVERSATIONS_DIR, NAME, 'conv.wav'), '--format=json', '--speakers', '1']);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as { id: string; speakers: unknown[]; segments: Array<{ segment_id: number; speaker_id: number; start: number; end: number; text: string }>; duration_s: number };
    expect(c.speakers).toEqual([{ id: 0, name: 'Speaker 1' }]);
    expect(c.duration_s).toBeGreaterThan(100);
    expect(c.segments[0]).toMatchObject({ segment_id: 0, speaker_id: 0 });
  }, 90_000);

  it('attributes with two saved voices of the store (--voices), and refuses unknown or incompatible ones', async () => {
    const conv = loadConversation(NAME);
    const dataDir = join(dir, 'data');
    const store = new ConversationStore(dataDir);
    await store.init();
    const encoder = new BuiltinSpeakerEncoder();
    await encoder.load();
    const save = async (name: string, clip: Float32Array, tag = encoderTag(encoder)) => {
      const r = await enrollSpeaker(encoder, clip);
      if (!r.ok) throw new Error(r.reason);
      return (await store.saveVoice({ name, encoder: tag, profile: profileToJson(r.profile) })).id;
    };
    // Speaker 1 = A's voice, speaker 2 = B's.
    const a = await save('Ana', conv.enrollA);
    const b = await save('Ben', conv.enrollB);
    const stale = await save('Old', conv.enrollB, 'builtin-mfcc-lda@000000000000');
    await encoder.close();
    const wav = join(CONVERSATIONS_DIR, NAME, 'conv.wav');
    const r = await run([wav, '--format=srt', '--voices', `${a},${b}`], { DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2 speakers \(enrollment\)/);
    const cues = parseSrt(r.stdout);
    let right = 0;
    for (const cue of cues) {
      const overlap = (label: string) =>
        conv.reference.filter((t) => t.speaker === label).reduce((s, t) => s + Math.max(0, Math.min(t.endS, cue.endS) - Math.max(t.startS, cue.startS)), 0);
      const truth = overlap('A') >= overlap('B') ? 'Ana' : 'Ben';
      if (cue.text.startsWith(`${truth}:`)) right++;
    }
    expect(right / cues.length).toBeGreaterThanOrEqual(0.9);
    const unknown = await run([wav, '--voices', `${a},AAAAAAAAAAAAAAAAAAAAAA`], { DATA_DIR: dataDir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown_voice/);
    const incompatible = await run([wav, '--voices', `${a},${stale}`], { DATA_DIR: dataDir });
    expect(incompatible.code).toBe(1);
    expect(incompatible.stderr).toMatch(/voice_incompatible/);
  }, 120_000);

  it('exits 1 on bad input and bad arguments, 2 when processing fails', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(5000, 0x5a));
    const bad = await run([junk]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not_audio/);
    expect((await run([])).code).toBe(1);
    expect((await run([junk, '--speakers', '3'])).code).toBe(1);
    expect((await run([join(dir, 'nope.wav')])).code).toBe(1);
    const failed = await run([junk], { SPEAKER_ENCODER: 'neural', SPEAKER_MODEL: 'missing-model.onnx' });
    expect(failed.code).toBe(2);
  }, 90_000);
});
