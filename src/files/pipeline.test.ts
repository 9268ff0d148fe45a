/**
 * The offline path with the real stages (Silero VAD, the built-in speaker encoder) and a fake
 * recognition engine: clustering of a dev conversation without enrollment, one speaker for a
 * one-speaker file, enrollment as live, hours of silence, cancellation, and the recognition
 * queue seeing one part of the file at a time.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { computeDer } from '../eval/der.js';
import { createLogger } from '../log.js';
import { buildPipeline, type Pipeline } from '../session/pipeline.js';
import { loadConversation, referenceTurns } from '../testing/corpus.js';
import { FIXTURE_CORPUS_DIR as CORPUS_DIR } from '../testing/paths.js';
const CONVERSATIONS_DIR = join(CORPUS_DIR, 'conversations');
import { FileJobError, transcribeFile, type FileStages } from './pipeline.js';
import { fileStagesFrom } from './stages.js';

const NAME = '1688-1998-easy';

describe('transcribeFile', () => {
  let pipeline: Pipeline;
  let stages: FileStages;

  beforeAll(async () => {
    const config = loadConfig({}, [], { ASR_MODEL: 'none', SPEAKER_ENCODER: 'builtin', LOG_LEVEL: 'silent' });
    pipeline = await buildPipeline(config, {}, createLogger('silent'));
    stages = fileStagesFrom(pipeline, config);
  });
  afterAll(() => pipeline.close());

  it('finds the two voices of a dev conversation without enrollment', async () => {
    const conv = loadConversation(NAME);
    const progress: number[] = [];
    const r = await transcribeFile({ path: join(CONVERSATIONS_DIR, NAME, 'conv.wav') }, stages, { onProgress: (p) => progress.push(p.progress) });
    expect(r.attribution).toBe('clustering');
    expect(r.conversation.speakers.map((s) => s.id)).toEqual([0, 1]);
    expect(r.decoder).toMatch(/^ffmpeg/);
    // Speaker 0 is whoever speaks first.
    expect(r.conversation.segments[0]!.speaker_id).toBe(0);
    const firstRef = conv.reference.reduce((x, y) => (y.startS < x.startS ? y : x));
    const map = (label: string) => (label === firstRef.speaker ? 0 : 1);
    const der = computeDer(
      conv.reference.map((t) => ({ speaker: map(t.speaker), startS: t.startS, endS: t.endS })),
      r.conversation.segments.map((s) => ({ speaker: s.speaker_id, startS: s.start, endS: s.end })),
      { durationS: conv.audio.length / 16_000 },
    );
    expect(der.der).toBeLessThan(0.05);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1]!)).toBe(true);
  }, 60_000);

  it('gives one speaker for a one-speaker recording, and with speakers=1', async () => {
    const jfk = await transcribeFile({ path: join(CORPUS_DIR, 'jfk.wav') }, stages);
    expect(jfk.conversation.speakers).toHaveLength(1);
    expect(new Set(jfk.conversation.segments.map((s) => s.speaker_id))).toEqual(new Set([0]));
    const forced = await transcribeFile({ path: join(CONVERSATIONS_DIR, NAME, 'conv.wav') }, stages, { speakers: 1 });
    expect(forced.attribution).toBe('single');
    expect(forced.conversation.speakers).toHaveLength(1);
  }, 60_000);

  it('attributes as live with two enrollment clips', async () => {
    const conv = loadConversation(NAME);
    const clips: [Float32Array, Float32Array] = conv.speakerId.A === 0 ? [conv.enrollA, conv.enrollB] : [conv.enrollB, conv.enrollA];
    const r = await transcribeFile({ path: join(CONVERSATIONS_DIR, NAME, 'conv.wav') }, stages, { enroll: { clips } });
    expect(r.attribution).toBe('enrollment');
    const der = computeDer(
      referenceTurns(conv),
      r.conversation.segments.map((s) => ({ speaker: s.speaker_id, startS: s.start, endS: s.end })),
      { durationS: conv.audio.length / 16_000 },
    );
    expect(der.der).toBeLessThan(0.05);
  }, 60_000);

  it('refuses an enrollment clip without speech', async () => {
    const silence = new Float32Array(16_000 * 3);
    await expect(
      transcribeFile({ path: join(CORPUS_DIR, 'jfk.wav') }, stages, { enroll: { clips: [silence, silence] } }),
    ).rejects.toMatchObject({ code: 'enrollment_failed' });
  });

  it('gets through ten hours of silence with no segments and leaves no spool behind', async () => {
    // A private spool folder: other test files' jobs spool into the system temp dir meanwhile.
    const spoolDir = mkdtempSync(join(tmpdir(), 'duet-spool-test-'));
    const r = await transcribeFile({ lavfi: 'anullsrc=r=16000:cl=mono:d=36000' }, stages, { tmpDir: spoolDir });
    expect(r.conversation.duration_s).toBe(36_000);
    expect(r.conversation.segments).toEqual([]);
    expect(readdirSync(spoolDir)).toEqual([]);
    rmSync(spoolDir, { recursive: true, force: true });
    // ~30 s alone on two cores (1.15 GB of PCM through ffmpeg, the gates and the segmenter).
  }, 180_000);

  it('stops when cancelled, with a coded error', async () => {
    const ac = new AbortController();
    const run = transcribeFile({ lavfi: 'anullsrc=r=16000:cl=mono:d=36000' }, stages, { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(run).rejects.toBeInstanceOf(FileJobError);
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
  });

  it('keeps at most one part in the recognition queue at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let parts = 0;
    const withAsr: FileStages = {
      ...stages,
      models: { ...stages.models, asr: 'fake' },
      transcribe: async (samples) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        parts++;
        return `part of ${(samples.length / 16_000).toFixed(1)} s`;
      },
    };
    const r = await transcribeFile({ path: join(CONVERSATIONS_DIR, NAME, 'conv.wav') }, withAsr);
    expect(maxInFlight).toBe(1);
    expect(parts).toBe(r.conversation.segments.length);
    expect(r.conversation.segments.every((s) => s.text.startsWith('part of'))).toBe(true);
  }, 60_000);
});
