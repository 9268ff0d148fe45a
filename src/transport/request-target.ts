/**
 * The one parser of HTTP request targets. Every listener (page, API, upgrade) goes through it,
 * so a target the WHATWG URL parser rejects, an absolute-form or asterisk-form target, or an
 * oversized one is a `null` (answered 400 or refused) instead of an exception that would take
 * the process down.
 */

/** Longest request target accepted, in characters; Node's 16 KiB header cap bounds it anyway. */
export const MAX_TARGET_CHARS = 4096;

/** A parsed origin-form request target (`/path?query`). */
export interface RequestTarget {
  /** Percent-encoded path, as the URL parser normalised it (starts with `/`). */
  pathname: string;
  searchParams: URLSearchParams;
}

/** The origin the target is resolved against; never reaches the network or a response. */
const BASE = 'https://duet.invalid';

/**
 * Parses a request's target. Only origin-form is accepted (`/…`), the form a browser sends to
 * an origin server; anything else, or anything the URL parser rejects, is `null`. Never throws.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_TARGET_CHARS || raw[0] !== '/') return null;
  // Control characters and spaces have no place in a target; Node's parser lets some through.
  if (/[\u0000-\u0020\u007f]/.test(raw)) return null;
  let url: URL;
  try {
    // Concatenated, not `new URL(raw, BASE)`: `//host/x` must stay a path, not a new authority.
    url = new URL(BASE + raw);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  return { pathname: url.pathname, searchParams: url.searchParams };
}
