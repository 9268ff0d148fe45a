/**
 * `npm run bench:flood [-- --sizes=100,300,600,1000,2000 --parallel=50 --line-ms=2000 --limit-ms=15000 --reconnect]`
 *
 * The largest slow-header flood after which the owner still gets in: for each flood size a
 * fresh server (its own process, default settings, no models) takes that many TLS connections
 * from one address, each sending one header line every `--line-ms` and never finishing; once
 * every connection has been opened, a fresh page load (GET /) and an authenticated WebSocket
 * session (Bearer token) are timed. `--reconnect` makes the attacker reopen every connection
 * the server drops, so the flood stays at its size for as long as it runs. Server, attacker and
 * owner each run in their own process.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fromRoot } from '../../src/paths.js';
import { timePageLoad, timeSessionOpen } from '../../src/testing/flood.js';
import { parseFlags } from './lib/args.js';

const args = parseFlags();
const sizes = (args.sizes ?? '100,300,600,1000,2000').split(',').map(Number).filter((n) => n > 0);
const parallel = Number(args.parallel ?? 50);
const lineMs = Number(args['line-ms'] ?? 2000);
const limitMs = Number(args['limit-ms'] ?? 15_000);
const reconnect = args.reconnect === 'true';
const OWNER_MS = 5000;

async function startServerProcess(): Promise<{ port: number; token: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('scripts/bench/lib/flood-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const { port, token } = JSON.parse(line) as { port: number; token: string };
  return {
    port,
    token,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

const fmt = (ms: number | null) => (ms === null ? `> ${(limitMs / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(2)} s`);
console.log(`slow-header flood from one address: ${parallel} opened at once, a header line every ${lineMs} ms${reconnect ? ', every dropped connection reopened' : ''}`);
console.log('| flood (connections) | opened | still open | page load | authenticated session | owner in within 5 s |');
console.log('|---:|---:|---:|---:|---:|:---:|');
let largest = 0;
for (const size of sizes) {
  const server = await startServerProcess();
  const attacker = spawn(process.execPath, ['--import', 'tsx', fromRoot('scripts/bench/lib/flood-client.ts'), String(server.port), String(size), String(parallel), String(lineMs), reconnect ? '1' : '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: attacker.stdout! })[Symbol.asyncIterator]();
  await lines.next();
  const page = await timePageLoad(server.port, limitMs);
  const session = await timeSessionOpen(server.port, server.token, limitMs);
  attacker.stdin!.write('status\n');
  const status = JSON.parse(String((await lines.next()).value)) as { opened: number; open: number };
  const pageMs = page && page.status === 200 ? page.ms : null;
  const ok = pageMs !== null && session !== null && pageMs < OWNER_MS && session < OWNER_MS;
  if (ok) largest = size;
  console.log(`| ${size} | ${status.opened} | ${status.open} | ${fmt(pageMs)} | ${fmt(session)} | ${ok ? 'yes' : 'no'} |`);
  attacker.stdin!.end();
  await new Promise((r) => attacker.once('exit', r));
  await server.stop();
}
console.log(`largest flood after which the owner got in within 5 s: ${largest > 0 ? largest : 'none'} connections (of those tried)`);
