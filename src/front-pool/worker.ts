/**
 * A front worker thread (started by pool.ts through worker-entry.mjs): loads its own VAD and
 * speaker encoder from the server's configuration, then serves its sessions' calls. Messages
 * that arrive while the models load wait, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { createSpeakerEncoder } from '../speaker/index.js';
import { SileroVad } from '../vad/silero.js';
import { FrontHost } from './host.js';
import type { HostInit, ToHost } from './messages.js';

const port = parentPort;
if (!port) throw new Error('front worker: not started as a worker thread');
const { config } = workerData as HostInit;
const log = createLogger(config.LOG_LEVEL, 'front-worker');
const waiting: ToHost[] = [];
let host: FrontHost | null = null;
port.on('message', (msg: ToHost) => (host ? host.handle(msg) : waiting.push(msg)));

async function start(): Promise<void> {
  const vad = new SileroVad();
  await vad.load();
  // The server logged which encoder it chose; the worker's choice is the same one.
  const encoder = await createSpeakerEncoder(config, { log: createLogger('warn', 'front-worker') });
  await encoder.load();
  const post = (msg: Parameters<ConstructorParameters<typeof FrontHost>[3]>[0], transfer?: ArrayBuffer[]) => port!.postMessage(msg, transfer ?? []);
  host = new FrontHost(config, vad, encoder, post);
  port!.postMessage({ t: 'ready', encoder: { name: encoder.name, dim: encoder.dim } });
  for (const msg of waiting.splice(0)) host.handle(msg);
}

start().catch((err: unknown) => {
  log.error(`could not load the models: ${err instanceof Error ? err.message : String(err)}`);
  port.postMessage({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
