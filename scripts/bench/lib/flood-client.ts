/**
 * The attacker of `bench:flood`, in its own process so its TLS work does not slow the owner's
 * probe: `flood-client.ts <port> <connections> <parallel> <lineMs> <reconnect 0|1>`. Prints
 * `{"opened":…}` once every connection has been opened, then `{"opened":…,"open":…}` on each
 * line read from stdin, and stops when stdin ends. Reports after 60 s at most, opened or not.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startFlood } from '../../../src/testing/flood.js';

// Spawned by scripts/bench/flood.ts with five positional numbers: port, connections, parallel, line ms, reconnect (0/1).
const [port, connections, parallel, lineMs, reconnect] = parseArgs({ args: process.argv.slice(2), allowPositionals: true }).positionals.map(Number) as [number, number, number, number, number];
const flood = startFlood({ port, connections, parallel, lineEveryMs: lineMs, reconnect: reconnect === 1 });
// A reconnecting flood larger than the server lets in may never finish opening: report after a minute.
await Promise.race([flood.started, new Promise((r) => setTimeout(r, 60_000))]);
process.stdout.write(JSON.stringify({ opened: flood.opened }) + '\n');
const rl = createInterface({ input: process.stdin });
rl.on('line', () => process.stdout.write(JSON.stringify({ opened: flood.opened, open: flood.open }) + '\n'));
rl.on('close', () => {
  flood.stop();
  process.exit(0);
});
