/**
 * `npm run transcribe -- <file> [--format srt|vtt|txt|json] [--out path] [--language ko]
 *   [--speakers 1|2] [--enroll-a a.wav --enroll-b b.wav | --voices id1,id2] [--notes[=template]]`
 *
 * `--notes` (template `general`, or `--notes=meeting` …) also writes a note of the transcript
 * with the configured notes engine (docs/notes.md): as Markdown to `<out>.note.md` with `--out`,
 * else to stdout after the transcript. The note is made in a temporary store, deleted after.
 *
 * Transcribes one recording in-process (no server) through the same offline path as the
 * upload API: decode, the live speech front, clustering (or the two enrollment clips, or two
 * saved voices of the server's store under DATA_DIR), recognition. A progress bar goes to stderr (percent, speed × real time, time left), the
 * result to stdout or `--out`. Models and settings come from the same environment variables
 * as the server (e.g. `ASR_MODEL=none` for diarization only).
 *
 * Exit codes: 0 ok, 1 bad input (arguments, unreadable or undecodable file), 2 processing failure.
 */
import { parseArgs } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFromEnvironment, type Config } from '../src/config.js';
import { DecodeError, decodeAudio } from '../src/files/decode.js';
import { EXPORT_FORMATS, exportConversation, type ExportFormat } from '../src/files/export.js';
import { FileJobError, transcribeFile, type FileProgress, type TranscribeFileOptions } from '../src/files/pipeline.js';
import { loadSavedVoices, parseVoiceIds } from '../src/files/voices.js';
import { fromRoot } from '../src/paths.js';
import { ConversationStore } from '../src/storage/store.js';
import { fileStagesFrom } from '../src/files/stages.js';
import { createLogger } from '../src/log.js';
import { buildPipeline } from '../src/session/pipeline.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noteToMarkdown } from '../src/notes/markdown.js';
import { NotesService } from '../src/notes/service.js';
import { engineFromConfig } from '../src/notes/setup.js';
import { loadTemplates, resolveTemplate } from '../src/notes/templates.js';

const USAGE = 'usage: npm run transcribe -- <file> [--format srt|vtt|txt|json] [--out path] [--language ko] [--speakers 1|2] [--enroll-a a.wav --enroll-b b.wav | --voices id1,id2] [--notes[=template]]';

class UsageError extends Error {}

interface CliArgs {
  file: string;
  format: ExportFormat;
  out: string | null;
  language: string;
  speakers: 1 | 2;
  enrollA: string | null;
  enrollB: string | null;
  voices: string | null;
  /** Template of the note to write too; null = no note. */
  notes: string | null;
}

/** Options that take a value. */
const VALUE_OPTIONS = new Set(['--format', '--out', '--language', '--speakers', '--enroll-a', '--enroll-b', '--voices']);

/**
 * `--voices ID` → `--voices=ID`: a saved voice id is base64url and may begin with `-`, which
 * parseArgs would take for an option. A bare `--notes` means the general template (parseArgs
 * has no optional values).
 */
function joinValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--notes') out.push('--notes=general');
    else if (VALUE_OPTIONS.has(x) && i + 1 < argv.length) out.push(`${x}=${argv[++i]}`);
    else out.push(x);
  }
  return out;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = { file: '', format: 'srt', out: null, language: 'auto', speakers: 2, enrollA: null, enrollB: null, voices: null, notes: null };
  let parsed;
  try {
    parsed = parseArgs({
      args: joinValues(argv),
      strict: true,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        out: { type: 'string' },
        language: { type: 'string' },
        speakers: { type: 'string' },
        'enroll-a': { type: 'string' },
        'enroll-b': { type: 'string' },
        voices: { type: 'string' },
        notes: { type: 'string' },
      },
    });
  } catch (err) {
    // parseArgs names the option: unknown, or missing its value.
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`more than one input file: ${positionals[1]}`);
  a.file = positionals[0] ?? '';
  if (v.format !== undefined) {
    if (!EXPORT_FORMATS.includes(v.format as ExportFormat)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
    a.format = v.format as ExportFormat;
  }
  if (v.out !== undefined) a.out = v.out;
  if (v.language !== undefined) a.language = v.language;
  if (v.speakers !== undefined) {
    if (v.speakers !== '1' && v.speakers !== '2') throw new UsageError('--speakers must be 1 or 2');
    a.speakers = Number(v.speakers) as 1 | 2;
  }
  if (v['enroll-a'] !== undefined) a.enrollA = v['enroll-a'];
  if (v['enroll-b'] !== undefined) a.enrollB = v['enroll-b'];
  if (v.notes !== undefined) {
    if (!/^[a-z0-9_-]{1,40}$/.test(v.notes)) throw new UsageError('--notes=<template> names a template (general, meeting, interview, clinical, …)');
    a.notes = v.notes;
  }
  if (v.voices !== undefined) {
    if (!parseVoiceIds(v.voices)) throw new UsageError('--voices takes two saved voice ids separated by a comma');
    a.voices = v.voices;
  }
  if (!a.file) throw new UsageError('no input file');
  if ((a.enrollA === null) !== (a.enrollB === null)) throw new UsageError('--enroll-a and --enroll-b go together');
  if (a.voices !== null && a.enrollA !== null) throw new UsageError('give either --voices or --enroll-a/--enroll-b');
  if (a.voices !== null && a.speakers === 1) throw new UsageError('--voices is for two speakers');
  return a;
}

/** Decodes a whole (short) enrollment clip to floats through the same decoder. */
async function readClip(path: string): Promise<Float32Array> {
  const parts: Buffer[] = [];
  for await (const c of decodeAudio({ path }).chunks()) parts.push(c);
  const all = Buffer.concat(parts);
  const out = new Float32Array(all.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = all.readInt16LE(2 * i) / 32768;
  return out;
}

function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

/** One line, redrawn in place on a terminal; a line every 10 % otherwise. */
function progressBar(startMs: number): (p: FileProgress) => void {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  return (p) => {
    const elapsedS = (performance.now() - startMs) / 1000;
    const speed = elapsedS > 0 ? p.audioDoneS / elapsedS : 0;
    const leftS = p.progress > 0.01 ? (elapsedS * (1 - p.progress)) / p.progress : Infinity;
    const width = 30;
    const filled = Math.round(p.progress * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * p.progress).toFixed(0).padStart(3)}% ${p.phase.padEnd(11)} ${speed.toFixed(1)}× real time, ${clock(leftS)} left`;
    if (tty) process.stderr.write(`\r${line}`);
    else if (Math.floor(p.progress * 10) > lastTenth) {
      lastTenth = Math.floor(p.progress * 10);
      process.stderr.write(`${line}\n`);
    }
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 1;
  }
  for (const f of [args.file, args.enrollA, args.enrollB]) {
    if (f !== null && !existsSync(f)) {
      process.stderr.write(`no such file: ${f}\n`);
      return 1;
    }
  }
  const config = loadConfigFromEnvironment([], { LOG_LEVEL: (process.env.LOG_LEVEL as 'warn' | undefined) ?? 'warn' });
  const log = createLogger(config.LOG_LEVEL);
  let pipeline: Awaited<ReturnType<typeof buildPipeline>> | null = null;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    pipeline = await buildPipeline(config, {}, log);
    let voiceNames: string[] | null = null;
    let enroll: TranscribeFileOptions['enroll'] = args.enrollA && args.enrollB ? { clips: [await readClip(args.enrollA), await readClip(args.enrollB)] as [Float32Array, Float32Array] } : undefined;
    if (args.voices !== null) {
      // Read-only use of the server's store: nothing is written there.
      const found = await loadSavedVoices(new ConversationStore(fromRoot(config.DATA_DIR)), pipeline.encoder, args.voices);
      if (!found.ok) {
        process.stderr.write(`error (${found.code}): ${found.message}\n`);
        return 1;
      }
      enroll = { profiles: found.profiles };
      voiceNames = found.voices.map((v) => v.name);
    }
    const t0 = performance.now();
    const result = await transcribeFile({ path: resolve(args.file) }, fileStagesFrom(pipeline, config), {
      language: args.language,
      speakers: args.speakers,
      enroll,
      signal: controller.signal,
      onProgress: progressBar(t0),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const c = result.conversation;
    if (voiceNames) c.speakers = c.speakers.map((s) => ({ ...s, name: voiceNames![s.id] ?? s.name }));
    process.stderr.write(
      `done: ${c.duration_s.toFixed(1)} s of audio in ${result.processing_s.toFixed(1)} s (${(c.duration_s / Math.max(0.01, result.processing_s)).toFixed(1)}× real time); ` +
        `${c.segments.length} segments, ${c.speakers.length} speaker${c.speakers.length === 1 ? '' : 's'} (${result.attribution}); decoder ${result.decoder}; ` +
        `asr ${result.models.asr ?? 'none (diarization only)'}\n`,
    );
    const text = exportConversation(c, args.format);
    if (args.out) writeFileSync(args.out, text);
    else process.stdout.write(text);
    if (args.notes !== null) {
      const note = await noteOf(config, log, c, args.language, result.models.asr, args.notes);
      if (!note.ok) {
        process.stderr.write(`notes: error (${note.code}): ${note.message}\n`);
        return 2;
      }
      if (args.out) writeFileSync(`${args.out}.note.md`, note.markdown, { mode: 0o600 });
      else process.stdout.write(`\n---\n\n${note.markdown}`);
      process.stderr.write(`note: ${note.parts} part(s) in ${note.seconds.toFixed(1)} s${args.out ? `, written to ${args.out}.note.md` : ''}\n`);
    }
    return 0;
  } catch (err) {
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (err instanceof DecodeError) {
      process.stderr.write(`error (${err.code}): ${err.message}\n`);
      return err.code === 'decoder_missing' ? 2 : 1;
    }
    if (err instanceof FileJobError && err.code === 'enrollment_failed') {
      process.stderr.write(`error (${err.code}): ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 2;
  } finally {
    await pipeline?.close();
  }
}

/** Writes a note of a transcribed file in a temporary store (nothing is kept). */
async function noteOf(
  config: Config,
  log: ReturnType<typeof createLogger>,
  c: Awaited<ReturnType<typeof transcribeFile>>['conversation'],
  language: string,
  asr: string | null,
  templateName: string,
): Promise<{ ok: true; markdown: string; parts: number; seconds: number } | { ok: false; code: string; message: string }> {
  const chosen = await engineFromConfig(config);
  if ('off' in chosen) return { ok: false, code: 'notes_off', message: chosen.off };
  const { templates } = await loadTemplates(fromRoot(config.NOTES_TEMPLATES_DIR));
  const template = resolveTemplate(templates, templateName);
  if (!template) return { ok: false, code: 'unknown_template', message: `unknown template "${templateName}"; templates: ${[...templates.keys()].join(', ')}` };
  const dir = await mkdtemp(join(tmpdir(), 'duet-cli-note-'));
  const store = new ConversationStore(dir);
  const service = new NotesService({ engine: chosen.engine, store, maxAnswerTokens: config.LLM_MAX_ANSWER_TOKENS, sentiment: false, log });
  const t0 = performance.now();
  try {
    await store.init();
    const meta = await store.createFinished({
      language,
      models: { asr, speaker: 'file', vad: 'file' },
      speakers: c.speakers.map((s) => ({ id: s.id as 0 | 1, name: s.name || null })),
      title: c.title || 'recording',
      endedAt: new Date(),
      audioS: c.duration_s,
      segments: c.segments.map((s) => ({ segment_id: s.segment_id, speaker_id: s.speaker_id as 0 | 1 | null, start: s.start, end: s.end, text: s.text })),
    });
    const started = await service.start(meta.id, template);
    if (!('id' in started)) return { ok: false, code: started.code, message: started.message };
    let v = await service.get(meta.id, started.id);
    while (v && (v.status === 'queued' || v.status === 'running')) {
      await new Promise((r) => setTimeout(r, 200));
      v = await service.get(meta.id, started.id);
    }
    if (!v || v.status !== 'done') return { ok: false, code: v?.error?.code ?? 'internal', message: v?.error?.message ?? 'the note failed' };
    return { ok: true, markdown: noteToMarkdown(v, c.title || null), parts: v.parts, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
