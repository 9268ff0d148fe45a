/**
 * Encryption at rest, pure: the codec every stored record goes through when DATA_KEY_FILE is
 * set. A file's plaintext is cut into records at its newlines (each JSONL line is a record; a
 * JSON file without newlines is one record); each record becomes one line on disk:
 *
 *   <key id: 8 hex>.<base64url(nonce 12 B | AES-256-GCM ciphertext | tag 16 B)>\n
 *
 * with a fresh random nonce per record and the file's path inside DATA_DIR as associated data
 * (a record moved into another conversation's file does not authenticate). Appending stays
 * appending, and a record torn by a crash is a last line without its newline, exactly as in
 * plaintext. The key id names which key sealed a line, so a re-encryption interrupted half-way
 * can be run again and finish.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Bytes of an AES-256 key. */
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A key with its public id (8 hex digits, from an HMAC of the key: names it, reveals nothing). */
export interface DataKey {
  id: string;
  key: Buffer;
}

/** Makes a DataKey from 32 bytes. */
export function dataKey(key: Buffer): DataKey {
  if (key.length !== KEY_BYTES) throw new Error(`a data key is ${KEY_BYTES} bytes, not ${key.length}`);
  return { id: createHmac('sha256', key).update('duet data key id').digest('hex').slice(0, 8), key };
}

/** One sealed line (without its newline) holding `plain`. */
export function sealRecord(k: DataKey, aad: string, plain: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', k.key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `${k.id}.${Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64url')}`;
}

/**
 * The plaintext of a sealed line, or null when it does not authenticate (altered, under a key
 * not given, for another file, or not a sealed line at all). Total: never throws.
 */
export function openRecord(keys: readonly DataKey[], aad: string, line: string): string | null {
  const dot = line.indexOf('.');
  if (dot !== 8) return null;
  const k = keys.find((x) => x.id === line.slice(0, 8));
  if (!k) return null;
  const raw = Buffer.from(line.slice(9), 'base64url');
  if (raw.length < NONCE_BYTES + TAG_BYTES) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', k.key, raw.subarray(0, NONCE_BYTES));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Seals a file's plaintext (or an appended piece of it): one line per record. */
export function sealText(k: DataKey, aad: string, plain: string): string {
  if (plain === '') return '';
  const out: string[] = [];
  let at = 0;
  while (at < plain.length) {
    const nl = plain.indexOf('\n', at);
    const end = nl < 0 ? plain.length : nl + 1;
    out.push(sealRecord(k, aad, plain.slice(at, end)) + '\n');
    at = end;
  }
  return out.join('');
}

/** What reading a sealed file found. */
export interface OpenedText {
  /** The plaintext; an unreadable record is replaced by `unreadable(index)`. */
  text: string;
  /** Indexes (0-based) of records that did not authenticate. */
  unreadable: number[];
  /** For each complete line on disk: its end in bytes on disk and in bytes of `text` (truncate maps). */
  ends: Array<{ disk: number; plain: number }>;
}

/**
 * Opens a sealed file. A last line without its newline (a record torn by a crash) is passed
 * through as-is: it is no JSON, so the store's reader sees a torn tail as it would in plaintext.
 * `unreadable` gives what stands in for a record that does not authenticate.
 */
export function openText(keys: readonly DataKey[], aad: string, sealed: string, unreadable: (index: number) => string): OpenedText {
  const parts: string[] = [];
  const bad: number[] = [];
  const ends: OpenedText['ends'] = [];
  let disk = 0;
  let plain = 0;
  let at = 0;
  let index = 0;
  while (at < sealed.length) {
    const nl = sealed.indexOf('\n', at);
    if (nl < 0) {
      // Torn tail: kept as it is (never valid JSON: it starts with the key id and a dot).
      parts.push(sealed.slice(at));
      break;
    }
    const line = sealed.slice(at, nl);
    at = nl + 1;
    disk += Buffer.byteLength(line, 'utf8') + 1;
    let p = line === '' ? '' : openRecord(keys, aad, line);
    if (p === null) {
      bad.push(index);
      p = unreadable(index);
    }
    parts.push(p);
    plain += Buffer.byteLength(p, 'utf8');
    ends.push({ disk, plain });
    index++;
  }
  return { text: parts.join(''), unreadable: bad, ends };
}
