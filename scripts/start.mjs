#!/usr/bin/env node
// `npm start`: build whisper.cpp if needed, fetch missing models (a failure only means
// diarization-only mode), then run the server. Extra arguments pass through to the server.
import { spawnSync, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const run = (cmd, argv) => spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' }).status ?? 1;
const tsx = resolve(root, 'node_modules/.bin/tsx');

if (run(process.execPath, [resolve(root, 'scripts/build-whisper.mjs')]) !== 0) {
  console.error('\nwhisper.cpp could not be built: the server starts without speech recognition (diarization only).\n');
}
if (run(tsx, [resolve(root, 'scripts/models.ts'), ...args]) !== 0) {
  console.error('\nSome models could not be downloaded: the server starts with what is present.\n');
}
const child = spawn(tsx, [resolve(root, 'src/main.ts'), ...args], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
