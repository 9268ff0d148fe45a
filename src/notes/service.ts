/**
 * Note jobs: one at a time across the server (a local model is one process; a remote one is
 * someone's quota), at most one per conversation, a bounded queue. Each job reads the
 * transcript, notes it in one request or in parts (map-reduce) when it does not fit the
 * engine's context, labels segment sentiment in batches, validates everything with zod, and
 * only then stores the note as `done`. Progress and the text being written are kept in memory
 * for the page to poll.
 */
import type { Logger } from '../log.js';
import { newId } from '../storage/ids.js';
import type { ConversationStore } from '../storage/store.js';
import { EngineError, type NoteEngine } from './engine.js';
import { ConversationGoneError, NoteStore, type StoredNote } from './note-store.js';
import { combineMessages, groupForCombine, noteMessages, sentimentMessages, splitTurns, type ChatMessage, type Turn } from './prompt.js';
import { DEFAULT_LIMITS, noteJsonSchema, parseNote, parseSentiments, sentimentJsonSchema, type NoteContent, type NoteLimits, type SegmentSentiment } from './schema.js';
import { readTranscript, type NoteSource } from './transcript.js';
import type { NoteTemplate } from './templates.js';

export interface NotesServiceOptions {
  engine: NoteEngine;
  store: ConversationStore;
  limits?: NoteLimits;
  /** Most tokens of one answer. */
  maxAnswerTokens: number;
  /** Label segment sentiment in batches after each note. */
  sentiment: boolean;
  /** Notes waiting at most (running one excluded). */
  maxQueued?: number;
  /** Characters of transcript per token assumed when sizing parts; default 2 (tests on a character-level vocabulary: 1). */
  charsPerToken?: number;
  log?: Logger;
}

/** Characters of transcript per token, conservatively (Korean runs near 1.5, English near 4). */
const DEFAULT_CHARS_PER_TOKEN = 2;
/** Turns per sentiment request. */
const SENTIMENT_BATCH = 16;
/** Text of the answer being written kept for the page, characters. */
const MAX_PARTIAL_CHARS = 64 * 1024;

export type StartError = { code: 'not_found' | 'busy' | 'queue_full' | 'empty' | 'closed'; message: string };

interface Job {
  note: StoredNote;
  template: NoteTemplate;
  abort: AbortController;
  progress: number;
  stage: string;
  partial: string;
}

/** What the API shows of a note: the stored record, plus progress and the text so far while it runs. */
export type NoteView = StoredNote & { progress: number; stage?: string; partial?: string };

export class NotesService {
  readonly notes: NoteStore;
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly limits: NoteLimits;
  /** Conversations whose note is being set up (between the request and the job's creation). */
  private readonly starting = new Set<string>();

  constructor(private readonly opts: NotesServiceOptions) {
    this.notes = new NoteStore(opts.store);
    this.limits = opts.limits ?? DEFAULT_LIMITS;
  }

  /** Queues a note of a conversation; the job's view, or why not. */
  async start(conversationId: string, template: NoteTemplate): Promise<NoteView | StartError> {
    if (this.closed) return { code: 'closed', message: 'the server is stopping' };
    // Claimed before the first await, so two requests at once cannot both pass the check.
    if (this.starting.has(conversationId)) return { code: 'busy', message: 'a note of this conversation is already being written; wait for it or cancel it' };
    this.starting.add(conversationId);
    try {
      return await this.startClaimed(conversationId, template);
    } finally {
      this.starting.delete(conversationId);
    }
  }

  private async startClaimed(conversationId: string, template: NoteTemplate): Promise<NoteView | StartError> {
    const source = await readTranscript(this.opts.store, conversationId);
    if (!source) return { code: 'not_found', message: 'no such conversation' };
    if (source.turns.length === 0) return { code: 'empty', message: 'this conversation has no transcribed text to note' };
    for (const j of this.jobs.values()) {
      if (j.note.conversation_id === conversationId) return { code: 'busy', message: 'a note of this conversation is already being written; wait for it or cancel it' };
    }
    if (this.queue.length >= (this.opts.maxQueued ?? 16)) return { code: 'queue_full', message: 'too many notes are waiting; try again later' };
    const note: StoredNote = {
      version: 1,
      id: newId(),
      conversation_id: conversationId,
      status: 'queued',
      template: template.name,
      template_label: template.label,
      ...(template.name === 'custom' ? { instruction: template.instruction } : {}),
      created_at: new Date().toISOString(),
      finished_at: null,
      engine: { kind: this.opts.engine.info.kind, model: this.opts.engine.info.model },
      parts: 0,
    };
    try {
      await this.notes.write(note);
    } catch (err) {
      if (err instanceof ConversationGoneError) return { code: 'not_found', message: 'no such conversation' };
      throw err;
    }
    const job: Job = { note, template, abort: new AbortController(), progress: 0, stage: 'queued', partial: '' };
    this.jobs.set(note.id, job);
    this.queue.push(job);
    this.running ??= this.drain().finally(() => (this.running = null));
    return this.view(job);
  }

  /** The engine notes are written with (live sentiment shares it). */
  get engine(): NoteEngine {
    return this.opts.engine;
  }

  /** Whether a note is queued or being written. */
  busy(): boolean {
    return this.jobs.size > 0;
  }

  /** A note: running (from memory) or stored. */
  async get(conversationId: string, noteId: string): Promise<NoteView | null> {
    const job = this.jobs.get(noteId);
    if (job && job.note.conversation_id === conversationId) return this.view(job);
    const n = await this.notes.read(conversationId, noteId);
    return n ? { ...n, progress: n.status === 'done' ? 1 : 0 } : null;
  }

  /** Every note of a conversation, newest first (without the text being written). */
  async list(conversationId: string): Promise<NoteView[]> {
    const stored = await this.notes.list(conversationId);
    return stored.map((n) => {
      const job = this.jobs.get(n.id);
      if (!job) return { ...n, progress: n.status === 'done' ? 1 : 0 };
      const { partial: _p, ...v } = this.view(job);
      return v;
    });
  }

  /** Cancels a queued or running note (it ends `failed`/`cancelled`), or deletes a finished one. */
  async cancelOrDelete(conversationId: string, noteId: string): Promise<'cancelled' | 'deleted' | null> {
    const job = this.jobs.get(noteId);
    if (job && job.note.conversation_id === conversationId) {
      job.abort.abort();
      const at = this.queue.indexOf(job);
      if (at >= 0) {
        this.queue.splice(at, 1);
        await this.finish(job, { code: 'cancelled', message: 'cancelled' });
      }
      return 'cancelled';
    }
    return (await this.notes.remove(conversationId, noteId)) ? 'deleted' : null;
  }

  /** Cancels every note of a conversation being deleted. */
  forget(conversationId: string): void {
    for (const j of this.jobs.values()) if (j.note.conversation_id === conversationId) j.abort.abort();
  }

  /** Cancels everything, waits for the running job, closes the engine. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.jobs.values()) j.abort.abort();
    this.queue.length = 0;
    await this.running;
    await this.opts.engine.close();
  }

  private view(job: Job): NoteView {
    return { ...job.note, progress: Math.round(job.progress * 1000) / 1000, stage: job.stage, partial: job.partial };
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const job = this.queue.shift()!;
      try {
        const { content, sentiments, parts } = await this.run(job);
        job.note.parts = parts;
        await this.finish(job, null, content, sentiments);
      } catch (err) {
        let error: { code: string; message: string };
        if (err instanceof EngineError) error = { code: err.code, message: err.message };
        else if (err instanceof NoteOutputError) error = { code: 'bad_output', message: err.message };
        else if (err instanceof ConversationGoneError) error = { code: 'conversation_deleted', message: err.message };
        else {
          this.opts.log?.error(`note failed: ${(err as Error).stack ?? String(err)}`);
          error = { code: 'internal', message: 'the note could not be written' };
        }
        await this.finish(job, error);
      }
    }
  }

  private async finish(job: Job, error: { code: string; message: string } | null, content?: NoteContent, sentiments?: SegmentSentiment[]): Promise<void> {
    const note: StoredNote = {
      ...job.note,
      status: error ? 'failed' : 'done',
      finished_at: new Date().toISOString(),
      ...(content ? { content } : {}),
      ...(sentiments ? { sentiments } : {}),
      ...(error ? { error } : {}),
    };
    try {
      await this.notes.write(note);
      await this.notes.prune(note.conversation_id);
    } catch (err) {
      if (!(err instanceof ConversationGoneError)) this.opts.log?.warn(`could not store a note: ${(err as Error).message}`);
    }
    this.jobs.delete(job.note.id);
  }

  private async run(job: Job): Promise<{ content: NoteContent; sentiments?: SegmentSentiment[]; parts: number }> {
    job.note.status = 'running';
    job.stage = 'reading';
    await this.notes.write(job.note);
    const source = await readTranscript(this.opts.store, job.note.conversation_id);
    if (!source) throw new ConversationGoneError();
    const engine = this.opts.engine;
    const schema = noteJsonSchema(job.template.sections, this.limits);
    // Context left for the transcript: the whole context less the answer, the system prompt and a margin.
    const probe = noteMessages({ template: job.template, language: source.language, speakers: source.speakers, turns: [] });
    const cpt = this.opts.charsPerToken ?? DEFAULT_CHARS_PER_TOKEN;
    const promptTokens = Math.ceil(probe.reduce((n, m) => n + m.content.length, 0) / cpt) + 64;
    const answerTokens = Math.min(this.opts.maxAnswerTokens, Math.floor(engine.info.contextTokens / 2));
    const budgetChars = Math.max(200, Math.floor((engine.info.contextTokens - answerTokens - promptTokens) * cpt));
    const parts = splitTurns(source.turns, budgetChars, 2);
    job.note.parts = parts.length;
    const sentimentBatches = this.opts.sentiment ? Math.ceil(source.turns.length / SENTIMENT_BATCH) : 0;
    const combineSteps = parts.length > 1 ? Math.max(1, Math.ceil(Math.log2(parts.length))) : 0;
    const total = parts.length + combineSteps + sentimentBatches;
    let step = 0;
    const ask = async (messages: ChatMessage[], jsonSchema: Record<string, unknown>, stage: string): Promise<string> => {
      // A conversation deleted while its note runs: stop at the next request, store nothing.
      if (!(await this.opts.store.get(job.note.conversation_id))) throw new ConversationGoneError();
      job.stage = stage;
      job.partial = '';
      const text = await engine.generate({
        messages,
        jsonSchema,
        maxTokens: answerTokens,
        signal: job.abort.signal,
        onText: (c) => {
          if (job.partial.length < MAX_PARTIAL_CHARS) job.partial += c;
        },
        onRestart: () => (job.partial = ''),
      });
      step++;
      job.progress = Math.min(0.99, step / total);
      return text;
    };
    const noteOf = async (messages: ChatMessage[], stage: string): Promise<NoteContent> => {
      const text = await ask(messages, schema, stage);
      const parsed = parseNote(text);
      if (!parsed.ok) throw new NoteOutputError(/invalid JSON/.test(parsed.message) ? `${parsed.message}; it may have been cut off at ${answerTokens} tokens (LLM_MAX_ANSWER_TOKENS)` : parsed.message);
      return parsed.note;
    };
    const base = { template: job.template, language: source.language, speakers: source.speakers };
    let content: NoteContent;
    if (parts.length === 1) content = await noteOf(noteMessages({ ...base, turns: parts[0]! }), 'writing');
    else {
      let partials: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        const n = await noteOf(noteMessages({ ...base, turns: parts[i]!, part: i + 1, parts: parts.length }), `part ${i + 1} of ${parts.length}`);
        partials.push(JSON.stringify(n));
      }
      // Combine in rounds until one note remains; each group fits the context.
      let round = 0;
      while (partials.length > 1) {
        round++;
        const groups = groupForCombine(partials, budgetChars);
        const next: string[] = [];
        for (const g of groups) next.push(g.length === 1 ? g[0]! : JSON.stringify(await noteOf(combineMessages({ ...base, partials: g }), `combining (round ${round})`)));
        if (next.length >= partials.length) throw new NoteOutputError('the part notes are too long to combine in this context');
        partials = next;
      }
      content = JSON.parse(partials[0]!) as NoteContent;
    }
    job.note.parts = parts.length;
    const sentiments = this.opts.sentiment ? await this.sentiments(source, ask) : undefined;
    return { content, ...(sentiments ? { sentiments } : {}), parts: parts.length };
  }

  private async sentiments(source: NoteSource, ask: (m: ChatMessage[], s: Record<string, unknown>, stage: string) => Promise<string>): Promise<SegmentSentiment[]> {
    const out: SegmentSentiment[] = [];
    for (let i = 0; i < source.turns.length; i += SENTIMENT_BATCH) {
      const batch: Turn[] = source.turns.slice(i, i + SENTIMENT_BATCH);
      const text = await ask(sentimentMessages(batch), sentimentJsonSchema(batch.length), 'sentiment');
      const items = parseSentiments(text, batch.length);
      // A batch the model got wrong loses its marks only; the note stands.
      if (!items) continue;
      batch.forEach((t, k) => out.push({ segment_id: t.segment_id, speaker_id: t.speaker_id, label: items[k]!.label, confidence: items[k]!.confidence }));
    }
    return out;
  }
}

export class NoteOutputError extends Error {}
