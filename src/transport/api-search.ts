/**
 * `GET /api/search?q=…&limit=&cursor=` over every stored conversation (the caller has checked
 * the token). Answers 200 `{results, next_cursor, candidates, indexing}`; a missing or too long
 * `q`, a bad `limit` or `cursor` is 400 `{error: {code, message}}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_QUERY_CHARS } from '../search/query.js';
import type { SearchService } from '../search/service.js';
import type { RequestTarget } from './request-target.js';
import { SECURITY_HEADERS } from './static.js';

/** Conversations per page: default and most. */
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 50;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

const refuse = (res: ServerResponse, code: string, message: string) => sendJson(res, 400, { error: { code, message } });

export async function handleSearch(search: SearchService, req: IncomingMessage, res: ServerResponse, url: RequestTarget): Promise<void> {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use GET' } });
  }
  const q = url.searchParams.get('q');
  if (q === null) return refuse(res, 'missing_query', 'give the query as ?q=');
  if (q.length > MAX_QUERY_CHARS) return refuse(res, 'query_too_long', `queries are limited to ${MAX_QUERY_CHARS} characters`);
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : /^[0-9]{1,3}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return refuse(res, 'bad_limit', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  const cursorText = url.searchParams.get('cursor');
  // The cursor is the rank where the next page starts; opaque to clients.
  const offset = cursorText === null || cursorText === '' ? 0 : /^[0-9]{1,7}$/.test(cursorText) ? Number(cursorText) : NaN;
  if (!Number.isInteger(offset)) return refuse(res, 'bad_cursor', 'cursor must be a next_cursor from an earlier answer');
  const started = performance.now();
  const page = await search.search(q, offset, limit);
  sendJson(res, 200, {
    results: page.results,
    next_cursor: page.next === null ? null : String(page.next),
    candidates: page.candidates,
    indexing: page.indexing,
    took_ms: Math.round((performance.now() - started) * 10) / 10,
  });
}
