/**
 * The few filesystem operations the store needs, as one interface so that tests can inject a
 * failing disk (ENOSPC) without a real full filesystem. Everything it creates is owner-only
 * (folders 0700, files 0600: see private-fs.ts).
 */
import { open, readdir, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { mkdirPrivate, openPrivate } from './private-fs.js';

export interface StorageFs {
  /** Appends `data` and forces it to disk (fdatasync) before resolving. */
  append(path: string, data: string): Promise<void>;
  /** Replaces a file atomically: temporary file, fsync, rename, fsync of the folder. */
  writeAtomic(path: string, data: string): Promise<void>;
  /** The file's text, or null when it does not exist. */
  read(path: string): Promise<string | null>;
  /**
   * The file's last `bytes` bytes as text (the first line may be cut), or null when it does not
   * exist. Optional: startup uses it to check an ended conversation's last record without reading
   * the whole file, and reads the whole file where it is missing or the tail does not parse.
   */
  tail?(path: string, bytes: number): Promise<string | null>;
  /**
   * The file's size, modification time and inode as they are on disk (sealed, when encryption is
   * on), or null when it does not exist. Optional: the search index compares them with what it
   * persisted to tell a fresh index file from a stale one; without it every start rebuilds.
   */
  stat?(path: string): Promise<FileStamp | null>;
  /** Shortens a file to `bytes` (repairs a torn last record). */
  truncate(path: string, bytes: number): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Names in a folder; [] when it does not exist. */
  list(path: string): Promise<string[]>;
  /** Removes a file or folder recursively; no error when it is already gone. */
  remove(path: string): Promise<void>;
}

/** What {@link StorageFs.stat} tells of a file: bytes on disk, mtime in ms (sub-ms precise), inode. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

export const nodeFs: StorageFs = {
  async append(path, data) {
    const fh = await openPrivate(path, 'a');
    try {
      await fh.writeFile(data, 'utf8');
      await fh.datasync();
    } finally {
      await fh.close();
    }
  },
  async writeAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const fh = await openPrivate(tmp, 'w');
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  },
  async read(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  },
  async tail(path, bytes) {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
    try {
      const size = (await fh.stat()).size;
      const length = Math.min(size, bytes);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  },
  async stat(path) {
    try {
      const st = await stat(path);
      return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  },
  truncate: (path, bytes) => truncate(path, bytes),
  async mkdir(path) {
    await mkdirPrivate(path);
  },
  async list(path) {
    try {
      return await readdir(path);
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
  },
  async remove(path) {
    // The folder is first renamed out of the way, so a writer still working in it (a note
    // finishing as its conversation is deleted) finds its path gone instead of adding entries
    // while rm empties it (ENOTEMPTY). A crash between the two steps leaves a `.removing-`
    // folder, which ConversationStore.init removes.
    const doomed = `${path}${REMOVING}${randomUUID()}`;
    try {
      await rename(path, doomed);
    } catch (err) {
      if (missing(err)) return;
      // Not renamable (busy on this platform): remove it in place.
      await rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
      return;
    }
    await rm(doomed, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  },
};

/** Marks a folder whose removal began (see `nodeFs.remove`). */
export const REMOVING = '.removing-';
