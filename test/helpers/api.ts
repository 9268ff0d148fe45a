/** HTTPS requests to a test server's API (self-signed certificate accepted). */
import { request } from 'node:https';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = unknown>(): T;
}

/**
 * One request. `body`: a string or bytes are sent as they are, anything else as JSON (with its
 * Content-Type); `opts.headers` come last, so they may replace any header set here.
 */
export function api(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { auth?: boolean; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const url = new URL(path, base);
  const bytes = body instanceof Uint8Array;
  const payload = body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        rejectUnauthorized: false,
        headers: {
          ...(opts.auth === false || !token ? {} : { Authorization: `Bearer ${token}` }),
          ...(payload !== undefined ? { ...(bytes ? {} : { 'Content-Type': 'application/json' }), 'Content-Length': Buffer.byteLength(payload) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
