/**
 * The access token kept on disk (`<DATA_DIR>/access-token`, owner-only), so the link the
 * owner saved still opens after a restart. Generated on first start; replaced only by
 * `npm run token -- --rotate`. A running server notices a replaced file within a second, and
 * every session cookie signed under the old token stops working at that moment.
 */
import { readFileSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirPrivate, writePrivateFile } from '../storage/private-fs.js';
import { generateToken } from './auth.js';

/** Name of the token file inside DATA_DIR. */
export const TOKEN_FILE = 'access-token';
/** What a token file may hold: URL-safe characters, 16 to 512 of them. */
const TOKEN_PATTERN = /^[A-Za-z0-9_~.-]{16,512}$/;
/** How often (at most) the file's modification time is looked at, ms. */
const RECHECK_MS = 1000;

export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFileError';
  }
}

/** Path of the token file of a data folder. */
export function tokenPathOf(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

function parseToken(text: string, path: string): string {
  const token = text.trim();
  if (!TOKEN_PATTERN.test(token)) {
    throw new TokenFileError(`the token file ${path} does not hold a token (16 to 512 URL-safe characters): replace it with npm run token -- --rotate`);
  }
  return token;
}

/** Reads the token file; null when it does not exist. Throws TokenFileError when it is damaged. */
export function readTokenFile(path: string): string | null {
  let text: string;
  try {
    if (statSync(path).size > 4096) throw new TokenFileError(`the token file ${path} is too large to be a token: replace it with npm run token -- --rotate`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseToken(text, path);
}

/** Writes a new random token (owner-only, atomic rename) and returns it. */
export async function writeNewToken(path: string, dir: string): Promise<string> {
  await mkdirPrivate(dir);
  const token = generateToken();
  const tmp = `${path}.${process.pid}.tmp`;
  await writePrivateFile(tmp, `${token}\n`);
  await rename(tmp, path);
  return token;
}

/** The kept token, created when missing. */
export async function loadOrCreateToken(dataDir: string): Promise<{ token: string; created: boolean }> {
  const path = tokenPathOf(dataDir);
  const existing = readTokenFile(path);
  if (existing !== null) return { token: existing, created: false };
  return { token: await writeNewToken(path, dataDir), created: true };
}

/**
 * The token a running server checks against: the file's, re-read when the file changes (its
 * modification time or size, looked at no more than once a second). A file that turns
 * unreadable or damaged while the server runs keeps the last good token and is reported once.
 */
export class FileToken {
  private checkedAt = 0;
  private stamp: string;
  /** Told after the token changed (rotation). */
  onChange: (() => void) | null = null;

  constructor(
    private readonly path: string,
    private token: string,
    private readonly onProblem: (message: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.stamp = this.stampOf() ?? '';
  }

  /** The current token. */
  current(): string {
    const t = this.now();
    if (t - this.checkedAt < RECHECK_MS) return this.token;
    this.checkedAt = t;
    const stamp = this.stampOf();
    if (stamp === null || stamp === this.stamp) return this.token;
    try {
      const next = readTokenFile(this.path);
      this.stamp = stamp;
      if (next !== null && next !== this.token) {
        this.token = next;
        this.onChange?.();
      }
    } catch (err) {
      this.stamp = stamp;
      this.onProblem((err as Error).message);
    }
    return this.token;
  }

  private stampOf(): string | null {
    try {
      const st = statSync(this.path);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return null;
    }
  }
}
