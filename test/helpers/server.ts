/** Starts a real server on 127.0.0.1, port 0, with certificates in a temporary folder. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { startServer, type RunningServer, type ServerDeps } from '../../src/server.js';

/** One self-signed pair per test process (generating an RSA key takes a second). */
const certDir = mkdtempSync(join(tmpdir(), 'duet-certs-'));

export async function startTestServer(overrides: ConfigInput = {}, deps: ServerDeps = {}): Promise<RunningServer> {
  const config = loadConfig({}, [], {
    HOST: '127.0.0.1',
    PORT: 0,
    TLS_CERT: join(certDir, 'fullchain.pem'),
    TLS_KEY: join(certDir, 'privkey.pem'),
    ASR_MODEL: 'none',
    LOG_LEVEL: 'warn',
    // Fronts in-process unless a test asks for the worker pool (each worker loads its own models).
    FRONT_THREADS: 0,
    // Each server gets its own conversation store unless the test shares one on purpose.
    DATA_DIR: mkdtempSync(join(tmpdir(), 'duet-data-')),
    ...overrides,
  });
  return startServer(config, deps);
}

/** SHA-256 fingerprint of the certificate a TLS server on 127.0.0.1:`port` presents. */
export function presentedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}
