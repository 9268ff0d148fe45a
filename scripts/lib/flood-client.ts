/**
 * The attacker of `bench:flood`, in its own process so its TLS work does not slow the owner's
 * probe: `flood-client.ts <port> <connections> <parallel> <lineMs> <reconnect 0|1>`. Prints
 * `{"opened":…}` once every connection has been opened, then `{"opened":…,"open":…}` on each
 * line read from stdin, and stops when stdin ends.
 */
import { createInterface } from 'node:readline';
import { startFlood } from '../../src/testing/flood.js';

const [port, connections, parallel, lineMs, reconnect] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const flood = startFlood({ port, connections, parallel, lineEveryMs: lineMs, reconnect: reconnect === 1 });
await flood.started;
process.stdout.write(JSON.stringify({ opened: flood.opened }) + '\n');
const rl = createInterface({ input: process.stdin });
rl.on('line', () => process.stdout.write(JSON.stringify({ opened: flood.opened, open: flood.open }) + '\n'));
rl.on('close', () => {
  flood.stop();
  process.exit(0);
});
