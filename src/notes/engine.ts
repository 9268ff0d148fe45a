/**
 * The one interface both note engines implement: the local one (node-llama-cpp in a child
 * process) and the remote one (any OpenAI-compatible `/v1/chat/completions`). Fakes for tests
 * implement the same interface.
 */
import type { ChatMessage } from './prompt.js';

export type EngineErrorCode =
  /** The model file is missing or not a GGUF. */
  | 'model_invalid'
  /** A GGUF of an architecture this llama.cpp build cannot run. */
  | 'model_unsupported'
  /** Refused before loading: the model and its context need more memory than is free. */
  | 'model_too_large'
  /** The remote server could not be reached (refused, DNS, TLS). */
  | 'unreachable'
  /** The remote server does not know LLM_MODEL. */
  | 'unknown_model'
  /** The remote server refused LLM_API_KEY. */
  | 'unauthorized'
  /** Still rate-limited or failing (429/5xx) after every retry. */
  | 'rate_limited'
  /** The endpoint answered something that is not the OpenAI streaming protocol (HTML, a torn stream). */
  | 'bad_response'
  /** No answer within the time limit. */
  | 'timeout'
  /** The engine process died or reported an internal error. */
  | 'engine_failed'
  | 'cancelled';

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface GenerateRequest {
  messages: ChatMessage[];
  /** JSON schema the answer must follow (grammar locally, `response_format` remotely). */
  jsonSchema: Record<string, unknown>;
  /** Most tokens of answer. */
  maxTokens: number;
  signal?: AbortSignal;
  /** Each piece of the answer as it is written. */
  onText?(chunk: string): void;
  /** The text so far is void: the engine starts the answer again (a remote retry after a dropped stream). */
  onRestart?(): void;
}

export interface EngineInfo {
  kind: 'local' | 'remote';
  /** Model file name or remote model id (never a key, never a full URL with credentials). */
  model: string;
  /** True when the transcript is sent to another machine. */
  leavesMachine: boolean;
  /** For a remote engine: the host it sends to. */
  host?: string;
  /** Tokens of context one request may use (prompt and answer together). */
  contextTokens: number;
}

export interface NoteEngine {
  readonly info: EngineInfo;
  /** Loads the model (local) or checks nothing (remote: the first request tells). Idempotent. */
  load(): Promise<void>;
  /** The answer's whole text; rejects with an {@link EngineError}. */
  generate(req: GenerateRequest): Promise<string>;
  /** Stops the engine; idempotent. */
  close(): Promise<void>;
}
