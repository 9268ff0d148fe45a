/**
 * `GET /api/audit?limit=200&conversation=<id>`: the access log, newest first (the caller has
 * checked the sign-in). `limit` is 1 to 1000 (default 200); `conversation` keeps one
 * conversation's entries. Answers `{ entries: AuditEntry[] }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../storage/audit-log.js';
import { isId } from '../storage/ids.js';
import type { RequestTarget } from './request-target.js';
import { sendPlain, SECURITY_HEADERS } from './static.js';

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 200;

export function answerAudit(audit: AuditLog, req: IncomingMessage, res: ServerResponse, target: RequestTarget): void {
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return sendPlain(res, 405, 'method not allowed');
  }
  const limitText = target.searchParams.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return sendPlain(res, 400, `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  const conversation = target.searchParams.get('conversation');
  if (conversation !== null && !isId(conversation)) return sendPlain(res, 400, 'malformed conversation id');
  audit.query({ limit, ...(conversation !== null ? { conversationId: conversation } : {}) }).then(
    (entries) => {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ entries }));
    },
    () => sendPlain(res, 500, 'the access log could not be read'),
  );
}
