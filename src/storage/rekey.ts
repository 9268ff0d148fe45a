/**
 * `npm run data -- rekey`: re-seals every stored record under a new key (or none), file by
 * file, each replaced atomically; `encryption.json` is written last. Run with the server
 * stopped. An interrupted run is finished by running it again with the same keys: each line
 * names the key that sealed it, and both keys are tried.
 */
import { readdir, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { nodeFs } from './fs.js';
import { KEY_CHECK_FILE, keyCheckFor, keyMatches } from './encrypted-fs.js';
import { openText, sealText, type DataKey } from './record-codec.js';

/** A sealed line starts with its key id and a dot. */
const SEALED_LINE = /^[0-9a-f]{8}\.[A-Za-z0-9_-]+$/;

export interface RekeyResult {
  /** Files re-sealed (or opened, to none). */
  files: number;
  /** Records that did not authenticate under either key (left out only with `force`). */
  unreadable: Array<{ file: string; records: number[] }>;
}

export class RekeyError extends Error {}

async function storedFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      // Records live in .json and .jsonl files; kept audio and anything else is not the store's.
      else if (e.isFile() && /\.jsonl?$/.test(e.name)) out.push(p);
      // A temporary file of an atomic write a crash cut short is never read, but it may hold a
      // record in the old form (plain text, after a rekey to encryption): removed, not re-sealed.
      else if (e.isFile() && /\.jsonl?\.tmp$/.test(e.name)) await rm(p, { force: true });
    }
  };
  for (const sub of ['conversations', 'voices']) await walk(join(dataDir, sub));
  return out;
}

/**
 * Re-seals DATA_DIR: `from` is the key the data is sealed with now (null when stored plain),
 * `to` the new one (null to store plain). Refuses a `from` that does not match
 * `encryption.json`, and (without `force`) stops before changing anything when some record
 * does not authenticate.
 */
export async function rekeyDataDir(dataDir: string, from: DataKey | null, to: DataKey | null, opts: { force?: boolean } = {}): Promise<RekeyResult> {
  const checkPath = join(dataDir, KEY_CHECK_FILE);
  const check = await nodeFs.read(checkPath);
  if (check !== null && from === null) throw new RekeyError(`DATA_DIR is encrypted (${KEY_CHECK_FILE}): set DATA_KEY_FILE to its current key`);
  // An interrupted earlier run may already have written the new check: then `to` opens it.
  if (check !== null && from !== null && !keyMatches(from, check) && !(to && keyMatches(to, check))) {
    throw new RekeyError('DATA_KEY_FILE is not the key DATA_DIR was encrypted with');
  }
  const keys = [from, to].filter((k): k is DataKey => k !== null);
  const files = await storedFiles(dataDir);
  const plans: Array<{ path: string; plain: string }> = [];
  const unreadable: RekeyResult['unreadable'] = [];
  for (const path of files) {
    const raw = (await nodeFs.read(path)) ?? '';
    const aad = relative(resolve(dataDir), resolve(path)).split(sep).join('/');
    const firstLine = raw.slice(0, Math.max(0, raw.indexOf('\n')));
    const sealed = SEALED_LINE.test(firstLine);
    let plain = raw;
    if (!sealed && from !== null && raw !== '') {
      // Plain text in an encrypted store was not written by the store: it is not sealed over.
      unreadable.push({ file: aad, records: [0] });
      plain = '';
    } else if (sealed) {
      const o = openText(keys, aad, raw, () => '');
      if (o.unreadable.length > 0) unreadable.push({ file: aad, records: o.unreadable });
      plain = o.text;
      // A torn tail (no newline) is not a record: dropped, as the store's own repair would.
      const lastNl = plain.lastIndexOf('\n');
      if (path.endsWith('.jsonl')) plain = plain.slice(0, lastNl + 1);
    }
    plans.push({ path, plain });
  }
  if (unreadable.length > 0 && !opts.force) {
    throw new RekeyError(`${unreadable.length} file(s) hold records that do not authenticate (${unreadable.map((u) => u.file).join(', ')}); nothing was changed (--force leaves those records out)`);
  }
  for (const p of plans) {
    const aad = relative(resolve(dataDir), resolve(p.path)).split(sep).join('/');
    await nodeFs.writeAtomic(p.path, to ? sealText(to, aad, p.plain) : p.plain);
  }
  if (to) await nodeFs.writeAtomic(checkPath, keyCheckFor(to));
  else await rm(checkPath, { force: true });
  return { files: plans.length, unreadable };
}
