/**
 * Composition root: read the configuration once, start the server, print where to reach it,
 * and wire process signals (SIGHUP reloads certificates, SIGINT/SIGTERM stop cleanly).
 * An exception nothing caught is logged and ends the process with status 70 (EX_SOFTWARE):
 * the state it leaves behind cannot be trusted, and `npm start` (or systemd) restarts it.
 */
import { loadConfigFromEnvironment } from './config.js';
import { createLogger } from './log.js';
import { fromRoot } from './paths.js';
import { startServer } from './server.js';
import { startupSummary } from './startup-summary.js';

/** Exit status after an uncaught exception or unhandled rejection (sysexits EX_SOFTWARE). */
const EXIT_UNCAUGHT = 70;

function dieOn(kind: string, err: unknown): void {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`fatal: ${kind}: ${detail}\n`);
  process.exit(EXIT_UNCAUGHT);
}

async function main(): Promise<void> {
  process.on('uncaughtException', (err) => dieOn('uncaught exception', err));
  process.on('unhandledRejection', (reason) => dieOn('unhandled rejection', reason));
  // Whatever this process or a child it starts (ffmpeg) creates is owner-only: conversations
  // and voiceprints are personal data (the store also sets 0600/0700 itself).
  process.umask(0o077);
  const config = loadConfigFromEnvironment(process.argv.slice(2));
  const log = createLogger(config.LOG_LEVEL);
  if (config.AUTH && config.ACCESS_TOKEN && config.ACCESS_TOKEN.length < 16) {
    log.warn('ACCESS_TOKEN is shorter than 16 characters: anyone who reaches the port can guess it; prefer a long random one');
  }
  if (!config.AUTH) log.warn('AUTH=false: anyone who reaches the port can use the server');
  const server = await startServer(config, { log });
  const link = config.AUTH ? `${server.url}?token=${encodeURIComponent(server.token)}` : server.url;
  process.stdout.write(
    '\n' +
      startupSummary({
        link,
        keptToken: config.AUTH && !config.ACCESS_TOKEN,
        engine: server.engine(),
        models: server.models,
        dataDir: fromRoot(config.DATA_DIR),
      }),
  );

  process.on('SIGHUP', () => {
    server.reloadTls().catch((err: Error) => log.error(`TLS reload failed: ${err.message}`));
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`fatal: ${err.message}\n`);
  process.exit(1);
});
