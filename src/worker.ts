/**
 * Recognition worker (`npm run worker`): same package and settings as the server. Reads
 * QUEUE_URL, starts WORKER_CONCURRENCY local whisper.cpp engines (ASR_MODEL, ASR_DEVICE, …; a
 * GPU when present) and takes segment jobs from Redis Streams until SIGINT/SIGTERM, when it
 * finishes the running jobs and leaves. It opens no port.
 */
import { AsrWorker, createAsrEngine, queueTlsCa, type AsrEngine, type AsrLog } from './asr/index.js';
import { loadConfigFromEnvironment } from './config.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  const config = loadConfigFromEnvironment(process.argv.slice(2));
  const log = createLogger(config.LOG_LEVEL, 'worker');
  const asrLog: AsrLog = (level, msg) => log[level](msg);
  if (!config.QUEUE_URL) throw new Error('QUEUE_URL is not set: a worker takes its jobs from Redis (redis://host:port/db)');
  const engines: AsrEngine[] = [];
  for (let i = 0; i < config.WORKER_CONCURRENCY; i++) {
    const engine = createAsrEngine(config, { log: asrLog });
    if (!engine) throw new Error('no speech-recognition engine to run (see the lines above)');
    engines.push(engine);
  }
  await Promise.all(engines.map((e) => e.load()));
  const worker = new AsrWorker({
    url: config.QUEUE_URL,
    tlsCa: queueTlsCa(config),
    engines,
    claimMs: config.JOB_CLAIM_MS,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    log: asrLog,
  });
  await worker.start();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing running jobs`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    worker
      .stop()
      .then(() => Promise.all(engines.map((e) => e.close())))
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`fatal: ${err.message}\n`);
  process.exit(1);
});
