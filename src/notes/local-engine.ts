/**
 * The local note engine: node-llama-cpp on a GGUF model, in a child process (`llm-child.ts`).
 * The child starts on the first request and is stopped after LLM_IDLE_UNLOAD_S without one, so
 * the model's memory is held only while notes are being written. A child that dies (a native
 * abort, the OOM killer) fails the request it was running with `engine_failed`; the next
 * request starts a fresh one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../paths.js';
import { EngineError, type EngineErrorCode, type EngineInfo, type GenerateRequest, type NoteEngine } from './engine.js';
import type { ChatMessage } from './prompt.js';

/** Architectures the notes accept (llama.cpp runs more, but these are the instruct families tried). */
export const SUPPORTED_ARCHITECTURES = ['llama', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'phi3', 'mistral', 'granite', 'exaone', 'olmo2', 'smollm3'];

export type ParentCommand =
  | { t: 'load'; modelPath: string; contextTokens: number; threads: number; gpu: 'auto' | 'off'; reserveBytes: number; architectures: string[] }
  | { t: 'generate'; id: number; messages: ChatMessage[]; jsonSchema: Record<string, unknown>; maxTokens: number }
  | { t: 'cancel'; id: number }
  | { t: 'exit' };

export type ChildReply =
  | { t: 'loaded'; gpu: string; contextTokens: number; architecture: string }
  | { t: 'load_failed'; code: EngineErrorCode; message: string }
  | { t: 'chunk'; id: number; text: string }
  | { t: 'done'; id: number; text: string }
  | { t: 'failed'; id: number; code: EngineErrorCode; message: string };

export interface LocalEngineOptions {
  modelPath: string;
  contextTokens: number;
  /** CPU threads for generation; 0 = node-llama-cpp's choice. */
  threads: number;
  gpu: 'auto' | 'off';
  /** Memory left for the server and its live sessions when judging whether the model fits, bytes. */
  reserveBytes: number;
  /** The child is stopped after this long without a request, ms; 0 = kept. */
  idleUnloadMs: number;
  /** A request (prompt and answer) taking longer fails with `timeout`, ms. */
  timeoutMs: number;
  /** Nice value of the model process; default 19, the lowest priority (a benchmark timing the note alone passes 0). */
  nice?: number;
}

interface Pending {
  resolve(text: string): void;
  reject(err: EngineError): void;
  onText?(chunk: string): void;
}

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'llm-child.ts');

export class LocalEngine implements NoteEngine {
  readonly info: EngineInfo;
  private child: ChildProcess | null = null;
  private loading: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** What the child reported once loaded (GPU or CPU, the context it got). */
  loaded: { gpu: string; contextTokens: number; architecture: string } | null = null;

  constructor(private readonly opts: LocalEngineOptions) {
    this.info = { kind: 'local', model: basename(opts.modelPath), leavesMachine: false, contextTokens: opts.contextTokens };
  }

  load(): Promise<void> {
    if (this.closed) return Promise.reject(new EngineError('engine_failed', 'the engine is closed'));
    this.loading ??= this.start().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: process.env });
      this.child = child;
      // The lowest CPU priority: a note may wait, a live session's next segment may not.
      if (child.pid) {
        try {
          setPriority(child.pid, this.opts.nice ?? 19);
        } catch {
          // Not permitted on some systems; the note still runs, at normal priority.
        }
      }
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        // Only the tail is kept, for the error of a child that dies; it never holds transcript text.
        stderr = (stderr + d.toString('utf8')).slice(-2000);
      });
      let settled = false;
      child.on('message', (m: ChildReply) => {
        if (m.t === 'loaded') {
          this.loaded = { gpu: m.gpu, contextTokens: m.contextTokens, architecture: m.architecture };
          settled = true;
          resolve();
        } else if (m.t === 'load_failed') {
          settled = true;
          reject(new EngineError(m.code, m.message));
          child.kill('SIGKILL');
        } else if (m.t === 'chunk') this.pending.get(m.id)?.onText?.(m.text);
        else if (m.t === 'done') {
          this.pending.get(m.id)?.resolve(m.text);
          this.pending.delete(m.id);
        } else if (m.t === 'failed') {
          this.pending.get(m.id)?.reject(new EngineError(m.code, m.message));
          this.pending.delete(m.id);
        }
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.loading = null;
          this.loaded = null;
        }
        const why = `the model process ended (${signal ?? `exit ${code}`})${/GGML_ASSERT|error/i.test(stderr) ? `: ${lastLine(stderr)}` : ''}`;
        if (!settled) {
          settled = true;
          reject(new EngineError(/architecture/i.test(stderr) ? 'model_unsupported' : 'engine_failed', why));
        }
        for (const p of this.pending.values()) p.reject(new EngineError('engine_failed', why));
        this.pending.clear();
      });
      child.on('error', (err) => {
        if (!settled) {
          settled = true;
          reject(new EngineError('engine_failed', `could not start the model process: ${err.message}`));
        }
      });
      const o = this.opts;
      this.post({ t: 'load', modelPath: o.modelPath, contextTokens: o.contextTokens, threads: o.threads, gpu: o.gpu, reserveBytes: o.reserveBytes, architectures: SUPPORTED_ARCHITECTURES });
    });
  }

  async generate(req: GenerateRequest): Promise<string> {
    if (req.signal?.aborted) throw new EngineError('cancelled', 'cancelled');
    this.holdIdle();
    try {
      await this.load();
      const id = this.nextId++;
      return await new Promise<string>((resolve, reject) => {
        let timer: NodeJS.Timeout | null = null;
        const done = () => {
          if (timer) clearTimeout(timer);
          req.signal?.removeEventListener('abort', onAbort);
        };
        const onAbort = () => this.post({ t: 'cancel', id });
        this.pending.set(id, {
          resolve: (t) => {
            done();
            resolve(t);
          },
          reject: (e) => {
            done();
            reject(e);
          },
          ...(req.onText ? { onText: req.onText } : {}),
        });
        req.signal?.addEventListener('abort', onAbort, { once: true });
        timer = setTimeout(() => {
          const p = this.pending.get(id);
          this.pending.delete(id);
          this.post({ t: 'cancel', id });
          p?.reject(new EngineError('timeout', `no answer from the local model within ${Math.round(this.opts.timeoutMs / 1000)} s`));
        }, this.opts.timeoutMs);
        this.post({ t: 'generate', id, messages: req.messages, jsonSchema: req.jsonSchema, maxTokens: req.maxTokens });
      });
    } finally {
      this.releaseIdle();
    }
  }

  /** The child's process id while it runs (tests kill it to simulate a crash). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.stopChild();
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.post({ t: 'exit' });
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  private post(m: ParentCommand): void {
    if (this.child?.connected) this.child.send(m);
  }

  private active = 0;
  private holdIdle(): void {
    this.active++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
  private releaseIdle(): void {
    this.active--;
    if (this.active > 0 || this.opts.idleUnloadMs <= 0 || this.closed) return;
    this.idleTimer = setTimeout(() => void this.stopChild(), this.opts.idleUnloadMs);
    this.idleTimer.unref();
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
