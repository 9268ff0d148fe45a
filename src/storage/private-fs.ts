/**
 * Owner-only files under DATA_DIR: conversations, voiceprints, kept audio, spools and logs are
 * personal data, so every folder is created 0700 and every file 0600 whatever the process'
 * umask (a mode given to `open`/`mkdir` is only an upper bound the umask can lower, never
 * raise, so modes are also set explicitly where a umask could have widened them — it cannot,
 * but a file created by another tool, or before this version, can be wider).
 *
 * Every writer of DATA_DIR goes through these helpers; {@link securePrivateTree} checks and
 * tightens an existing tree at start.
 */
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Mode of every folder under DATA_DIR. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file under DATA_DIR. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `path` (and missing parents) as owner-only folders. Parents that already exist are
 * left as they are (they may be the user's home); the new ones get 0700.
 */
export async function mkdirPrivate(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // mkdir's mode is masked by the umask; set each folder it created explicitly.
  let dir = resolve(path);
  const top = resolve(first);
  for (;;) {
    await chmod(dir, PRIVATE_DIR_MODE);
    if (dir === top) break;
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
}

/**
 * Opens a file as owner-only: created 0600, and an existing file with wider permissions is
 * narrowed to 0600 before anything is written to it. `flags` as for `fs.open` ('a', 'w', 'wx', 'w+').
 */
export async function openPrivate(path: string, flags: string): Promise<FileHandle> {
  const fh = await open(path, flags, PRIVATE_FILE_MODE);
  try {
    const st = await fh.stat();
    if ((st.mode & 0o777) !== PRIVATE_FILE_MODE) await fh.chmod(PRIVATE_FILE_MODE);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  return fh;
}

/** Writes a whole file as owner-only (created or replaced in place). */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await openPrivate(path, 'w');
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** Why a data folder cannot be used; the message names the folder and the fix. */
export class DataDirError extends Error {
  constructor(
    readonly code: 'foreign_owner' | 'world_writable' | 'not_a_directory',
    message: string,
  ) {
    super(message);
    this.name = 'DataDirError';
  }
}

export interface SecureTreeResult {
  /** Folders and files whose permissions were narrowed. */
  tightened: number;
  /** Entries visited (bounded by `maxEntries`). */
  visited: number;
}

/**
 * Checks DATA_DIR before anything is read or written in it, creating it 0700 when missing:
 * a folder owned by another user, or writable by others, is refused (another local user could
 * read or plant records there). Then every folder and file under it with permissions wider
 * than 0700/0600 is narrowed. Symbolic links are neither followed nor changed. Visits at most
 * `maxEntries` entries (a bound, not a limit users meet: that is millions of conversations).
 */
export async function securePrivateTree(root: string, opts: { uid?: number; maxEntries?: number } = {}): Promise<SecureTreeResult> {
  const uid = opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : -1);
  const maxEntries = opts.maxEntries ?? 5_000_000;
  await mkdirPrivate(root);
  const st = await lstat(root);
  if (!st.isDirectory()) throw new DataDirError('not_a_directory', `DATA_DIR ${root} is not a folder`);
  if (uid >= 0 && st.uid !== uid) {
    throw new DataDirError('foreign_owner', `DATA_DIR ${root} belongs to user id ${st.uid}, not to this server's user (${uid}): refusing to keep conversations there; use a folder of your own`);
  }
  if ((st.mode & constants.S_IWOTH) !== 0) {
    throw new DataDirError('world_writable', `DATA_DIR ${root} is writable by every user of the machine (mode ${(st.mode & 0o777).toString(8)}): refusing to keep conversations there; run chmod 700 on it`);
  }
  const result: SecureTreeResult = { tightened: 0, visited: 0 };
  const stack: string[] = [root];
  while (stack.length > 0 && result.visited < maxEntries) {
    const path = stack.pop()!;
    let s;
    try {
      s = await lstat(path);
    } catch {
      continue; // removed meanwhile
    }
    result.visited++;
    if (s.isSymbolicLink()) continue;
    // Group and other bits are dropped; the owner's are kept (a 0400 file stays 0400).
    if ((s.mode & 0o077) !== 0 && (s.isDirectory() || s.isFile())) {
      await chmod(path, s.isDirectory() ? PRIVATE_DIR_MODE : s.mode & 0o700);
      result.tightened++;
    }
    if (s.isDirectory()) {
      for (const name of await readdir(path).catch(() => [] as string[])) stack.push(join(path, name));
    }
  }
  return result;
}
