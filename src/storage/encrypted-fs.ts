/**
 * Encryption at rest at the store's file boundary: a StorageFs that seals every record it
 * writes and opens every record it reads (record-codec.ts), around the plain one. The store
 * and everything above it (API, exports, new record types) see plaintext and do not change.
 *
 * Also the key's handling at start: DATA_KEY_FILE is read and checked (32 bytes, owner-only,
 * outside DATA_DIR), and held against `DATA_DIR/encryption.json`, which names the key the data
 * was sealed with; a wrong or missing key is refused with the reason, never read as an empty
 * history.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { StorageFs } from './fs.js';
import { dataKey, KEY_BYTES, openRecord, openText, sealRecord, sealText, type DataKey } from './record-codec.js';

/** File naming the key a DATA_DIR is sealed with (plain JSON: it holds no secret). */
export const KEY_CHECK_FILE = 'encryption.json';
const CHECK_PLAINTEXT = 'duet data key check v1';

export class DataKeyError extends Error {
  constructor(
    readonly code: 'key_file_unreadable' | 'key_file_permissions' | 'key_file_length' | 'key_inside_data_dir' | 'wrong_key' | 'key_missing' | 'unencrypted_data',
    message: string,
  ) {
    super(message);
    this.name = 'DataKeyError';
  }
}

/** Parses a key file's content: 32 raw bytes, 64 hex digits, or 32 bytes in base64; else null. */
export function parseKeyFile(content: Buffer): Buffer | null {
  if (content.length === KEY_BYTES) return Buffer.from(content);
  const text = content.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(text)) {
    const b = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  return null;
}

/**
 * Reads DATA_KEY_FILE, refusing with the reason: a file others can read or write (mode wider
 * than 0600), not owned by this user, inside DATA_DIR (it would travel with every backup of the
 * data it protects), or not holding exactly 256 bits.
 */
export function loadDataKey(path: string, dataDir: string, uid: number = typeof process.getuid === 'function' ? process.getuid() : -1): DataKey {
  const abs = resolve(path);
  const rel = relative(resolve(dataDir), abs);
  if (rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel))) {
    throw new DataKeyError('key_inside_data_dir', `DATA_KEY_FILE ${path} lies inside DATA_DIR: keep the key apart from the data it protects`);
  }
  let st;
  try {
    st = lstatSync(abs);
  } catch (err) {
    throw new DataKeyError('key_file_unreadable', `DATA_KEY_FILE ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!st.isFile()) throw new DataKeyError('key_file_unreadable', `DATA_KEY_FILE ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new DataKeyError('key_file_permissions', `DATA_KEY_FILE ${path} has permissions ${(st.mode & 0o777).toString(8)}: other users could read the key; run chmod 600 on it`);
  }
  if (uid >= 0 && st.uid !== uid) throw new DataKeyError('key_file_permissions', `DATA_KEY_FILE ${path} belongs to user id ${st.uid}, not to this server's user (${uid})`);
  if (st.size > 4096) throw new DataKeyError('key_file_length', `DATA_KEY_FILE ${path} is ${st.size} bytes: a key is 32 bytes (or 64 hex digits, or 44 base64 characters)`);
  const key = parseKeyFile(readFileSync(abs));
  if (!key) throw new DataKeyError('key_file_length', `DATA_KEY_FILE ${path} does not hold a 256-bit key: 32 bytes, 64 hex digits or 44 base64 characters (make one with: openssl rand -hex 32)`);
  return dataKey(key);
}

/** The content of encryption.json for a key. */
export function keyCheckFor(k: DataKey): string {
  return JSON.stringify({ version: 1, cipher: 'aes-256-gcm', key_id: k.id, check: sealRecord(k, KEY_CHECK_FILE, CHECK_PLAINTEXT) });
}

/** Whether `text` (encryption.json) was written for this key. Total. */
export function keyMatches(k: DataKey, text: string): boolean {
  try {
    const j = JSON.parse(text) as { check?: unknown };
    return typeof j.check === 'string' && openRecord([k], KEY_CHECK_FILE, j.check) === CHECK_PLAINTEXT;
  } catch {
    return false;
  }
}

export interface EncryptedFsOptions {
  dataDir: string;
  /** The key new records are sealed with; `readKeys` (default [key]) open them. */
  key: DataKey;
  readKeys?: readonly DataKey[];
  /** Told of the records of a file that did not authenticate (0-based indexes). */
  onUnreadable?: (relPath: string, records: number[]) => void;
}

/**
 * The record in a JSONL file's place that did not authenticate: a record of a kind no reader
 * knows (so it is skipped and the rest of the conversation loads), never mistaken for a torn tail.
 */
export const unreadableLine = (index: number) => `${JSON.stringify({ k: 'unreadable', record: index })}\n`;

/** What a whole-file record that does not authenticate reads as: not JSON. */
const UNREADABLE_FILE = '\u0000unreadable\n';

/** A StorageFs that seals what it writes and opens what it reads. */
export function encryptedFs(inner: StorageFs, opts: EncryptedFsOptions): StorageFs {
  const keys = opts.readKeys ?? [opts.key];
  const aadOf = (path: string) => relative(resolve(opts.dataDir), resolve(path)).split(sep).join('/');
  const opened = async (path: string) => {
    const raw = await inner.read(path);
    if (raw === null) return null;
    const aad = aadOf(path);
    // A whole-file record (meta.json, a voice) that does not open reads as no JSON at all: the
    // store then treats that conversation or voice as unreadable, and reads the others.
    const o = openText(keys, aad, raw, path.endsWith('.jsonl') ? unreadableLine : () => UNREADABLE_FILE);
    if (o.unreadable.length > 0) opts.onUnreadable?.(aad, o.unreadable);
    return o;
  };
  return {
    append: (path, data) => inner.append(path, sealText(opts.key, aadOf(path), data)),
    writeAtomic: (path, data) => inner.writeAtomic(path, sealText(opts.key, aadOf(path), data)),
    async read(path) {
      return (await opened(path))?.text ?? null;
    },
    async truncate(path, bytes) {
      // `bytes` counts plaintext; the cut on disk is after the last whole line within it.
      const o = await opened(path).catch(() => null);
      let disk = 0;
      for (const e of o?.ends ?? []) if (e.plain <= bytes) disk = e.disk;
      await inner.truncate(path, disk);
    },
    // The end of a sealed file, opened: a start checks each ended conversation's last record
    // this way instead of opening the whole file. The first line on disk may be cut, so it is
    // skipped; a torn last line stays as it is on disk (no JSON, no newline), as `read` gives it.
    ...(inner.tail
      ? {
          async tail(path: string, bytes: number) {
            // A sealed line is its key id, a dot and base64 of nonce | ciphertext | tag: ~4/3 of the plaintext plus ~50.
            const raw = await inner.tail!(path, Math.ceil((bytes * 4) / 3) + 64);
            if (raw === null) return null;
            const nl = raw.indexOf('\n');
            return nl < 0 ? raw : openText(keys, aadOf(path), raw.slice(nl + 1), unreadableLine).text;
          },
        }
      : {}),
    // A sealed file's stamp is the disk's: it changes whenever the sealed file does.
    ...(inner.stat ? { stat: (path: string) => inner.stat!(path) } : {}),
    mkdir: (path) => inner.mkdir(path),
    list: (path) => inner.list(path),
    remove: (path) => inner.remove(path),
  };
}

/** Whether DATA_DIR already holds stored conversations or voices. */
async function holdsData(inner: StorageFs, dataDir: string): Promise<boolean> {
  for (const sub of ['conversations', 'voices']) {
    if ((await inner.list(resolve(dataDir, sub))).length > 0) return true;
  }
  return false;
}

/**
 * The store's filesystem for this configuration: `inner` as it is without DATA_KEY_FILE, else
 * the sealing one. Refuses (DataKeyError) a key that is not the one the data was sealed with,
 * a missing key for sealed data, and a key for data stored without one (`npm run data --
 * rekey` converts it), so a wrong key is never read as an empty history.
 */
export async function storageFsFor(opts: { dataDir: string; keyFile: string; inner: StorageFs; onUnreadable?: EncryptedFsOptions['onUnreadable'] }): Promise<{ fs: StorageFs; keyId: string | null }> {
  await opts.inner.mkdir(opts.dataDir);
  const checkPath = resolve(opts.dataDir, KEY_CHECK_FILE);
  const check = await opts.inner.read(checkPath);
  if (opts.keyFile === '') {
    if (check !== null) throw new DataKeyError('key_missing', `DATA_DIR ${opts.dataDir} is encrypted (${KEY_CHECK_FILE}): set DATA_KEY_FILE to its key file`);
    return { fs: opts.inner, keyId: null };
  }
  const key = loadDataKey(opts.keyFile, opts.dataDir);
  if (check === null) {
    if (await holdsData(opts.inner, opts.dataDir)) {
      throw new DataKeyError('unencrypted_data', `DATA_DIR ${opts.dataDir} holds data stored without encryption: encrypt it first with npm run data -- rekey --new-key-file=${opts.keyFile} (DATA_KEY_FILE unset), then start with DATA_KEY_FILE`);
    }
    await opts.inner.writeAtomic(checkPath, keyCheckFor(key));
  } else if (!keyMatches(key, check)) {
    throw new DataKeyError('wrong_key', `DATA_KEY_FILE ${opts.keyFile} is not the key DATA_DIR ${opts.dataDir} was encrypted with (${KEY_CHECK_FILE}): refusing to start rather than show an empty history`);
  }
  return { fs: encryptedFs(opts.inner, { dataDir: opts.dataDir, key, ...(opts.onUnreadable ? { onUnreadable: opts.onUnreadable } : {}) }), keyId: key.id };
}
