/**
 * Builds the notes from the configuration: which engine (remote when LLM_URL is set, else the
 * local model when one is present, else none), the templates, and the status the page shows.
 * Nothing is downloaded here and nothing is sent anywhere until a note is asked for.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { fromRoot } from '../paths.js';
import type { ConversationStore } from '../storage/store.js';
import type { NotesStatus } from '../transport/api-notes.js';
import { defaultLlmPath } from './default-model.js';
import type { NoteEngine } from './engine.js';
import { LocalEngine } from './local-engine.js';
import { RemoteEngine } from './remote-engine.js';
import { NotesService } from './service.js';
import type { NoteLimits } from './schema.js';
import { loadTemplates, type NoteTemplate } from './templates.js';

export interface NotesSetup {
  service: NotesService | null;
  status: NotesStatus;
  templates: Map<string, NoteTemplate>;
}

const HOW_TO_ENABLE =
  'Notes are off: no language model is configured. For a local model run "npm run models -- --llm" (downloads Qwen2.5-1.5B-Instruct, 1.1 GB) or set LLM_MODEL_PATH to any GGUF; ' +
  'or set LLM_URL and LLM_MODEL to an OpenAI-compatible server (Ollama, llama.cpp, LM Studio, vLLM). Then restart the server.';

/** The engine the configuration asks for, or why there is none. */
export async function engineFromConfig(config: Config): Promise<{ engine: NoteEngine } | { off: string }> {
  if (config.LLM_URL) {
    if (!config.LLM_MODEL) return { off: 'Notes are off: LLM_URL is set but LLM_MODEL is empty; set it to the server\'s model name.' };
    let apiKey = config.LLM_API_KEY;
    if (config.LLM_API_KEY_FILE) {
      try {
        apiKey = ((await readFile(fromRoot(config.LLM_API_KEY_FILE), 'utf8')).split(/\r?\n/)[0] ?? '').trim();
      } catch (err) {
        return { off: `Notes are off: LLM_API_KEY_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).` };
      }
    }
    return {
      engine: new RemoteEngine({
        url: config.LLM_URL,
        model: config.LLM_MODEL,
        apiKey,
        contextTokens: config.LLM_CONTEXT_TOKENS,
        timeoutMs: config.LLM_TIMEOUT_S * 1000,
        maxRetries: config.LLM_RETRIES,
        backoffMs: 1000,
        maxBackoffMs: 60_000,
      }),
    };
  }
  const path = config.LLM_MODEL_PATH ? fromRoot(config.LLM_MODEL_PATH) : defaultLlmPath(fromRoot(config.MODELS_DIR));
  if (!config.LLM_MODEL_PATH && !existsSync(path)) return { off: HOW_TO_ENABLE };
  return {
    engine: new LocalEngine({
      modelPath: path,
      contextTokens: config.LLM_CONTEXT_TOKENS,
      threads: config.LLM_THREADS > 0 ? config.LLM_THREADS : Math.max(1, Math.floor(availableParallelism() / 2)),
      gpu: config.LLM_GPU,
      reserveBytes: config.LLM_MEMORY_RESERVE_MB * 1024 * 1024,
      idleUnloadMs: config.LLM_IDLE_UNLOAD_S * 1000,
      timeoutMs: config.LLM_TIMEOUT_S * 1000,
    }),
  };
}

export async function setupNotes(config: Config, store: ConversationStore, log: Logger, opts: { engine?: NoteEngine; limits?: NoteLimits; charsPerToken?: number } = {}): Promise<NotesSetup> {
  const loaded = await loadTemplates(fromRoot(config.NOTES_TEMPLATES_DIR));
  for (const s of loaded.skipped) log.warn(`notes: template skipped: ${s}`);
  const chosen = opts.engine ? { engine: opts.engine } : await engineFromConfig(config);
  const base = { auto: config.NOTES_AUTO, sentiment: config.NOTES_SENTIMENT ? ('batch' as const) : ('off' as const), templates: [] };
  if ('off' in chosen) {
    log.info(chosen.off);
    return { service: null, templates: loaded.templates, status: { enabled: false, engine: null, how_to_enable: chosen.off, ...base } };
  }
  const e = chosen.engine.info;
  const service = new NotesService({
    engine: chosen.engine,
    store,
    maxAnswerTokens: config.LLM_MAX_ANSWER_TOKENS,
    sentiment: config.NOTES_SENTIMENT,
    log,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.charsPerToken ? { charsPerToken: opts.charsPerToken } : {}),
  });
  const interrupted = await service.notes.failInterrupted();
  if (interrupted > 0) log.info(`notes: ${interrupted} note(s) left running by a previous run marked failed`);
  log.info(`notes: ${e.kind} engine, model ${e.model}${e.leavesMachine ? `; transcripts are sent to ${e.host}` : ''}`);
  return {
    service,
    templates: loaded.templates,
    status: { enabled: true, engine: { kind: e.kind, model: e.model, leaves_machine: e.leavesMachine, ...(e.host ? { host: e.host } : {}) }, ...base },
  };
}
