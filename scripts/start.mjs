#!/usr/bin/env node
// `npm start`: build whisper.cpp if needed, fetch missing models (a failure only means
// diarization-only mode), then run the server, restarting it after an unexpected exit with a
// growing delay (1 s doubling to 60 s; back to 1 s after 5 min of uptime). Exits with the
// server on SIGINT/SIGTERM, and without restarting when the server stops on a configuration
// error (status 1 within seconds of starting), which a restart cannot fix. Extra arguments
// pass through to the server. For production, prefer a systemd unit (docs/deployment.md, "Run it under systemd").
import { spawnSync, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const run = (cmd, argv) => spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' }).status ?? 1;
const tsx = resolve(root, 'node_modules/.bin/tsx');
const env = process.env;
const FIRST_DELAY_MS = Number(env.DUET_RESTART_FIRST_MS ?? 1000);
const MAX_DELAY_MS = 60_000;
const STABLE_MS = 5 * 60_000;
/** A server that exits 1 this soon after starting failed its configuration: do not loop. */
const STARTUP_FAILURE_MS = 10_000;

if (env.DUET_SKIP_PREPARE !== '1') {
  if (run(process.execPath, [resolve(root, 'scripts/build-whisper.mjs')]) !== 0) {
    console.error('\nwhisper.cpp could not be built: the server starts without speech recognition (diarization only).\n');
  }
  if (run(tsx, [resolve(root, 'scripts/models.ts'), ...args]) !== 0) {
    console.error('\nSome models could not be downloaded: the server starts with what is present.\n');
  }
}

const serverArgs = env.DUET_SERVER_SCRIPT ? [resolve(root, env.DUET_SERVER_SCRIPT)] : [resolve(root, 'src/main.ts'), ...args];
let child = null;
let stopping = false;
let delayMs = FIRST_DELAY_MS;
let restartTimer = null;

function startServer() {
  restartTimer = null;
  const startedAt = Date.now();
  child = spawn(tsx, serverArgs, { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    child = null;
    if (stopping) process.exit(code ?? 0);
    const upMs = Date.now() - startedAt;
    if (code === 1 && upMs < STARTUP_FAILURE_MS) {
      console.error(`server failed at startup (exit status 1): not restarting; fix the error above`);
      process.exit(1);
    }
    if (upMs > STABLE_MS) delayMs = FIRST_DELAY_MS;
    console.error(`server exited unexpectedly (${signal ? `signal ${signal}` : `status ${code}`}) after ${Math.round(upMs / 1000)} s; restarting in ${delayMs / 1000} s`);
    restartTimer = setTimeout(startServer, delayMs);
    delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
  });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    if (child) child.kill(sig);
    else process.exit(0);
  });
}
process.on('SIGHUP', () => child?.kill('SIGHUP'));
startServer();
