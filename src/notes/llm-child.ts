/**
 * The local note engine's process: node-llama-cpp runs here, never in the server's process, so
 * that generation (seconds to minutes of CPU) never holds the server's event loop, and so that a
 * model file llama.cpp aborts on (an assertion in native code ends the process) costs only this
 * child. Talks to its parent over IPC with the messages typed in `local-engine.ts`.
 */
import { open, stat } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { basename } from 'node:path';
import { getLlama, GgufInsights, LlamaChatSession, readGgufFileInfo, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import type { ChildReply, ParentCommand } from './local-engine.js';

const MiB = 1024 * 1024;

let llama: Llama | null = null;
let model: LlamaModel | null = null;
let context: LlamaContext | null = null;
const running = new Map<number, AbortController>();
/** Generations cancelled before they started. */
const cancelledEarly = new Set<number>();
/** The newest generation started; a cancel for an older id is late, not early. */
let lastStarted = 0;

function send(m: ChildReply): void {
  process.send?.(m);
}

class LoadError extends Error {
  constructor(
    readonly code: 'model_invalid' | 'model_unsupported' | 'model_too_large' | 'engine_failed',
    message: string,
  ) {
    super(message);
  }
}

async function load(c: Extract<ParentCommand, { t: 'load' }>): Promise<void> {
  const name = basename(c.modelPath);
  const size = await stat(c.modelPath).then(
    (s) => s.size,
    () => {
      throw new LoadError('model_invalid', `the model file ${name} does not exist`);
    },
  );
  const fh = await open(c.modelPath, 'r');
  const magic = Buffer.alloc(4);
  await fh.read(magic, 0, 4, 0).finally(() => fh.close());
  if (magic.toString('latin1') !== 'GGUF') throw new LoadError('model_invalid', `${name} is not a GGUF model file (it does not start with "GGUF")`);
  let info;
  try {
    info = await readGgufFileInfo(c.modelPath, { readTensorInfo: true });
  } catch (err) {
    throw new LoadError('model_invalid', `${name} is not a readable GGUF file: ${(err as Error).message}`);
  }
  const arch = String(info.metadata?.general?.architecture ?? '');
  if (!c.architectures.includes(arch)) {
    throw new LoadError('model_unsupported', `${name} is a GGUF of architecture "${arch || 'none'}", which notes do not support (supported: ${c.architectures.join(', ')})`);
  }
  llama = await getLlama({ gpu: c.gpu === 'off' ? false : 'auto', build: 'never', progressLogs: false, logLevel: 'error' as never, ...(c.threads > 0 ? { maxThreads: c.threads } : {}) });
  // Refused before loading, with the numbers: weights plus the context's state, against the
  // memory free now (minus a reserve for the server and its live sessions).
  const insights = await GgufInsights.from(info, llama);
  const gpuLayers = llama.gpu === false ? 0 : 'auto';
  const needModel = insights.estimateModelResourceRequirements({ gpuLayers: gpuLayers === 0 ? 0 : insights.totalLayers }).cpuRam;
  const needContext = insights.estimateContextResourceRequirements({ contextSize: c.contextTokens, modelGpuLayers: gpuLayers === 0 ? 0 : insights.totalLayers, batchSize: 512 }).cpuRam;
  const need = Math.max(needModel, gpuLayers === 0 ? size : 0) + needContext;
  const free = Math.min(freemem(), totalmem()) - c.reserveBytes;
  if (need > free) {
    throw new LoadError(
      'model_too_large',
      `${name} needs about ${Math.round(need / MiB)} MiB (weights ${Math.round(needModel / MiB)} MiB + a ${c.contextTokens}-token context ${Math.round(needContext / MiB)} MiB), but only ${Math.max(0, Math.round(free / MiB))} MiB are free after a ${Math.round(c.reserveBytes / MiB)} MiB reserve`,
    );
  }
  try {
    model = await llama.loadModel({ modelPath: c.modelPath, gpuLayers: llama.gpu === false ? 0 : 'auto' });
    context = await model.createContext({ contextSize: c.contextTokens, sequences: 1, ...(c.threads > 0 ? { threads: c.threads } : {}) });
  } catch (err) {
    throw new LoadError('engine_failed', `llama.cpp could not load ${name}: ${(err as Error).message}`);
  }
  send({ t: 'loaded', gpu: llama.gpu === false ? 'cpu' : String(llama.gpu), contextTokens: context.contextSize, architecture: arch });
}

async function generate(c: Extract<ParentCommand, { t: 'generate' }>): Promise<void> {
  if (!llama || !context || !model) {
    send({ t: 'failed', id: c.id, code: 'engine_failed', message: 'the model is not loaded' });
    return;
  }
  lastStarted = Math.max(lastStarted, c.id);
  if (cancelledEarly.delete(c.id)) {
    send({ t: 'failed', id: c.id, code: 'cancelled', message: 'cancelled' });
    return;
  }
  const abort = new AbortController();
  running.set(c.id, abort);
  const sequence = context.getSequence();
  const system = c.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
  const user = c.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
  const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: system, autoDisposeSequence: false });
  try {
    const grammar = await llama.createGrammarForJsonSchema(c.jsonSchema as never);
    const text = await session.prompt(user, {
      grammar,
      maxTokens: c.maxTokens,
      temperature: 0.2,
      signal: abort.signal,
      onTextChunk: (chunk) => send({ t: 'chunk', id: c.id, text: chunk }),
    });
    send({ t: 'done', id: c.id, text });
  } catch (err) {
    if (abort.signal.aborted) send({ t: 'failed', id: c.id, code: 'cancelled', message: 'cancelled' });
    else send({ t: 'failed', id: c.id, code: 'engine_failed', message: (err as Error).message });
  } finally {
    running.delete(c.id);
    session.dispose({ disposeSequence: false });
    sequence.dispose();
  }
}

// One generation at a time: the context has one sequence.
let chain: Promise<void> = Promise.resolve();

process.on('message', (m: ParentCommand) => {
  if (m.t === 'load') {
    chain = chain.then(() =>
      load(m).catch((err: unknown) => {
        const code = err instanceof LoadError ? err.code : 'engine_failed';
        send({ t: 'load_failed', code, message: (err as Error).message });
      }),
    );
  } else if (m.t === 'generate') {
    chain = chain.then(() => generate(m));
  } else if (m.t === 'cancel') {
    const a = running.get(m.id);
    if (a) a.abort();
    else if (m.id > lastStarted) cancelledEarly.add(m.id);
  } else if (m.t === 'exit') {
    void (async () => {
      for (const a of running.values()) a.abort();
      await context?.dispose().catch(() => undefined);
      await model?.dispose().catch(() => undefined);
      await llama?.dispose().catch(() => undefined);
      process.exit(0);
    })();
  }
});
// The parent gone means nobody to answer: leave rather than run on as an orphan.
process.on('disconnect', () => process.exit(0));
