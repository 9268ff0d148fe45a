/**
 * Serves the page from one folder. Requests cannot escape it: the decoded path is resolved
 * and checked, and the real path (after symlinks) must still lie inside the folder.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream';
import { parseRequestTarget } from './request-target.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers on every page response: no inline script, no referrer, no sniffing, no framing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'microphone=(self), camera=(), geolocation=()',
};

/** Maps a URL path to a file inside `root`, or null when it would leave it or is malformed. */
export function safeJoin(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p.length > 0);
  if (parts.some((p) => p === '..' || p === '.')) return null;
  const full = resolve(root, ...parts);
  if (full !== root && !full.startsWith(root + sep)) return null;
  return full;
}

/**
 * Creates a handler that serves files of `rootDir`; answers false when it did not handle the
 * request. `pathname` is the request's already parsed path (parsed here when not given).
 */
export function createStaticHandler(rootDir: string): (req: IncomingMessage, res: ServerResponse, pathname?: string) => Promise<boolean> {
  const root = resolve(rootDir);
  let realRoot: string | null = null;
  return async (req, res, pathname = parseRequestTarget(req.url)?.pathname) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let file = pathname === undefined ? null : safeJoin(root, pathname === '/' ? '/index.html' : pathname);
    if (!file) {
      sendPlain(res, 400, 'bad path');
      return true;
    }
    try {
      realRoot ??= await realpath(root);
      let info = await stat(file);
      if (info.isDirectory()) {
        file = join(file, 'index.html');
        info = await stat(file);
      }
      const real = await realpath(file);
      if (!real.startsWith(realRoot + sep) || !info.isFile()) throw new Error('outside root');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') res.end();
      // pipeline, not pipe: a read error (unreadable file, file gone) must not be an
      // unhandled 'error' event, which would crash the server; it just ends this response.
      else pipeline(createReadStream(real), res, () => undefined);
    } catch {
      sendPlain(res, 404, 'not found');
    }
    return true;
  };
}

/**
 * Sends a short plain-text answer with the security headers. Never throws: when an answer has
 * already begun (an error midway), the response is cut off instead.
 */
export function sendPlain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}
