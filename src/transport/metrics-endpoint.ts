/** The HTTP edge of the Prometheus metrics (src/metrics/metrics.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { DuetMetrics } from '../metrics/metrics.js';
import { clientIp, presentedToken, type TokenGate } from './auth.js';
import type { RequestTarget } from './request-target.js';
import { sendPlain, SECURITY_HEADERS } from './static.js';

/**
 * `GET /metrics` for server.ts. Never open: `gate` is METRICS_TOKEN's gate when set, else the
 * access token's; with no gate (AUTH off and no METRICS_TOKEN) or no metrics it answers 404.
 * Never throws.
 */
export function createMetricsEndpoint(metrics: DuetMetrics | null, gate: Pick<TokenGate, 'check'> | null, log?: Logger): (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void {
  return (req, res, target) => {
    if (!metrics || !gate) return sendPlain(res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendPlain(res, 405, 'method not allowed');
    const admission = gate.check(clientIp(req), presentedToken(req, target));
    if (admission === 'rate_limited') return sendPlain(res, 429, 'too many failed attempts; try again in a minute');
    if (admission === 'unauthorized') return sendPlain(res, 401, 'unauthorized');
    metrics.render().then(
      ({ contentType, text }) => {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: Error) => {
        log?.error(`metrics failed: ${err.message}`);
        sendPlain(res, 500, 'internal error');
      },
    );
  };
}
