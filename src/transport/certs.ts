/**
 * TLS material: read `fullchain.pem` / `privkey.pem`, or generate a self-signed pair for
 * localhost and this machine's host names when none exists.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import selfsigned from 'selfsigned';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** True when this call generated a self-signed certificate. */
  generated: boolean;
}

/** Names and addresses a self-signed certificate should cover. */
export function localNames(): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost', hostname()]);
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) if (!ni.internal) ips.add(ni.address);
  }
  return { dns: [...dns].filter(Boolean), ips: [...ips] };
}

function generateSelfSigned(): { cert: string; key: string } {
  const { dns, ips } = localNames();
  const altNames = [
    ...dns.map((value) => ({ type: 2, value })),
    ...ips.map((ip) => ({ type: 7, ip })),
  ];
  const pems = selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    days: 365,
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * Loads the certificate and key; when both files are missing, generates a self-signed pair
 * and writes it there (key readable by the owner only). One file without the other is an error.
 */
export async function loadOrCreateTls(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const hasCert = existsSync(certPath);
  const hasKey = existsSync(keyPath);
  if (hasCert && hasKey) {
    return { cert: await readFile(certPath), key: await readFile(keyPath), generated: false };
  }
  if (hasCert !== hasKey) {
    throw new Error(`TLS: found ${hasCert ? certPath : keyPath} but not ${hasCert ? keyPath : certPath}`);
  }
  const { cert, key } = generateSelfSigned();
  await mkdir(dirname(certPath), { recursive: true });
  await mkdir(dirname(keyPath), { recursive: true });
  await writeFile(keyPath, key, { mode: 0o600 });
  await writeFile(certPath, cert);
  return { cert: Buffer.from(cert), key: Buffer.from(key), generated: true };
}

/** True when the (first) certificate of a PEM chain is issued by itself. */
export function isSelfSigned(certPem: Buffer): boolean {
  try {
    const x = new X509Certificate(certPem);
    return x.issuer === x.subject && x.verify(x.publicKey);
  } catch {
    return false;
  }
}
