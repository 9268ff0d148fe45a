/**
 * A server for `bench:flood`, in its own process so the flood's client work does not share its
 * event loop: started with the settings from the environment (port 0, models off unless set),
 * it prints one JSON line `{"port":…, "token":…}` on stdout and runs until killed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { startServer } from '../../../src/server.js';

const dir = mkdtempSync(join(tmpdir(), 'duet-flood-'));
const config = loadConfig(process.env, [], {
  HOST: '127.0.0.1',
  PORT: 0,
  ASR_MODEL: 'none',
  LOG_LEVEL: 'error',
  TLS_CERT: join(dir, 'fullchain.pem'),
  TLS_KEY: join(dir, 'privkey.pem'),
  DATA_DIR: join(dir, 'data'),
});
const server = await startServer(config);
process.stdout.write(JSON.stringify({ port: server.port, token: server.token }) + '\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
