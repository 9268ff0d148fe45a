/**
 * The HTTP API of the server (`/api/…`), with the same access token as the WebSocket, sent as
 * `Authorization: Bearer` so it never appears in a URL, a log or the history.
 */

/** An API answer that was not 2xx: `status` is the HTTP status (0 when the server was unreachable). */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export class Api {
  /** @param {() => string} token the current access token */
  constructor(token) {
    this.token = token;
  }

  async #request(path, init = {}) {
    const token = this.token();
    const headers = { ...(init.headers || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    let res;
    try {
      res = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin' });
    } catch (err) {
      throw new ApiError(0, (err && err.message) || String(err));
    }
    if (!res.ok) {
      const detail = await res.text().catch(() => '');
      throw new ApiError(res.status, detail.slice(0, 200));
    }
    return res;
  }

  async #json(path, init) {
    const res = await this.#request(path, init);
    return res.status === 204 ? null : res.json();
  }

  /** The server's status report (GET /api/status): engine, models, queue, storage. */
  status() {
    return this.#json('/api/status');
  }

  listConversations() {
    return this.#json('/api/conversations');
  }

  getConversation(id) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}`);
  }

  /** @param {{ title?: string, speakers?: { id: number, name: string }[] }} patch */
  patchConversation(id, patch) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(patch),
    });
  }

  /** Corrections (see docs/corrections-search.md); each answers `{segments, removed}`. */
  patchSegment(id, segmentId, body) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}/segments/${segmentId}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  deleteSegment(id, segmentId, revision) {
    const q = Number.isInteger(revision) ? `?revision=${revision}` : '';
    return this.#json(`/api/conversations/${encodeURIComponent(id)}/segments/${segmentId}${q}`, { method: 'DELETE' });
  }

  splitSegment(id, segmentId, body) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}/segments/${segmentId}/split`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  mergeSegment(id, segmentId, body) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}/segments/${segmentId}/merge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  undoCorrection(id) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}/undo`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  }

  /** `GET /api/search`: one page of results (`cursor`: an earlier answer's next_cursor). */
  search(q, cursor) {
    const params = new URLSearchParams({ q });
    if (cursor) params.set('cursor', cursor);
    return this.#json(`/api/search?${params}`);
  }

  deleteConversation(id) {
    return this.#json(`/api/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  /**
   * One export as a Blob, with the file name the server suggests (Content-Disposition), if any.
   * @param {'txt' | 'srt' | 'vtt' | 'json'} format
   */
  async exportConversation(id, format) {
    const res = await this.#request(`/api/conversations/${encodeURIComponent(id)}/export?format=${format}`);
    const disposition = res.headers.get('Content-Disposition') || '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    let filename = null;
    if (m) {
      try {
        filename = decodeURIComponent(m[1]);
      } catch {
        filename = m[1];
      }
    }
    return { blob: await res.blob(), filename };
  }

  listVoices() {
    return this.#json('/api/voices');
  }

  deleteVoice(id) {
    return this.#json(`/api/voices/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }
}

/** Saves a Blob as a file through a temporary object URL (allowed by the page's CSP). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
