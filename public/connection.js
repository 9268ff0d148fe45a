/**
 * The WebSocket to the server, with the access token and automatic reconnect with backoff.
 *
 * A browser cannot see why an upgrade failed (HTTP 401 and "server down" both look like close
 * code 1006), so after a failed connect we ask `/api/info` with the same token: 401 means the
 * token is wrong, a network error means the server is unreachable.
 */

const TOKEN_KEY = 'duet.token';
/** Reconnect delays in seconds; the last one repeats. */
const BACKOFF_S = [1, 2, 4, 8, 15, 30];

/**
 * Takes `?token=` from the address and removes it from the address bar, so it does not end up
 * in history, bookmarks or screenshots. The server normally exchanges the link's token for a
 * session cookie before the page loads (and redirects without it), so a token is found here
 * only when that failed (a wrong token: the page then says access is denied) or when the page
 * is served without sign-in. The token is not kept: the cookie is what new tabs and bookmarks
 * use. A token an older version kept in this tab's storage is removed.
 */
export function takeToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled; nothing was kept then.
  }
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return '';
}

/**
 * @typedef {{
 *   onStatus: (s: { state: 'connecting' } | { state: 'open' } | { state: 'waiting', reason: 'unreachable' | 'refused' | 'busy' | 'lost', retryInS: number, maxSessions?: number } | { state: 'denied' }) => void,
 *   onMessage: (msg: any) => void,
 *   onOpen: (isReconnect: boolean) => void,
 *   onClose: () => void,
 * }} ConnectionHandlers
 */

export class Connection {
  /** @param {string} token @param {ConnectionHandlers} handlers */
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.countdown = null;
    this.everOpened = false;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the browser and not yet sent. */
  get bufferedBytes() {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  wsUrl() {
    const scheme = window.location.protocol === 'http:' ? 'ws' : 'wss';
    const query = this.token ? `?token=${encodeURIComponent(this.token)}` : '';
    return `${scheme}://${window.location.host}/ws${query}`;
  }

  connect() {
    this.#clearTimers();
    if (this.ws) return;
    this.handlers.onStatus({ state: 'connecting' });
    let opened = false;
    const ws = new WebSocket(this.wsUrl());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.addEventListener('open', () => {
      opened = true;
      this.attempt = 0;
      const isReconnect = this.everOpened;
      this.everOpened = true;
      this.handlers.onStatus({ state: 'open' });
      this.handlers.onOpen(isReconnect);
    });
    ws.addEventListener('message', (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg && typeof msg.type === 'string') this.handlers.onMessage(msg);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (opened) this.handlers.onClose();
      if (ev.code === 4401) {
        this.handlers.onStatus({ state: 'denied' });
        return;
      }
      if (opened) this.#scheduleRetry('lost');
      else this.#diagnose();
    });
  }

  /** Sends a control message; false when the socket is not open. */
  sendJson(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Sends one binary audio frame; false when the socket is not open. */
  sendAudio(pcm) {
    if (!this.isOpen) return false;
    this.ws.send(pcm);
    return true;
  }

  /** Skips the wait and reconnects now. */
  retryNow() {
    this.attempt = 0;
    this.connect();
  }

  async #diagnose() {
    let reason = 'unreachable';
    let maxSessions;
    try {
      const res = await fetch('/api/info', {
        headers: this.token ? { Authorization: `Bearer ${this.token}` } : {},
        cache: 'no-store',
        credentials: 'same-origin',
      });
      if (res.status === 401 || res.status === 403) {
        this.handlers.onStatus({ state: 'denied' });
        return;
      }
      reason = 'refused';
      if (res.ok) {
        const info = await res.json().catch(() => null);
        if (info && typeof info.sessions === 'number' && typeof info.maxSessions === 'number' && info.sessions >= info.maxSessions) {
          reason = 'busy';
          maxSessions = info.maxSessions;
        }
      }
    } catch {
      reason = 'unreachable';
    }
    this.#scheduleRetry(reason, maxSessions);
  }

  #scheduleRetry(reason, maxSessions) {
    const base = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
    this.attempt++;
    // Jitter (up to +30 %) so many pages do not reconnect in lockstep after a restart.
    const delayS = Math.max(1, Math.round(base * (1 + Math.random() * 0.3)));
    const until = Date.now() + delayS * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      this.handlers.onStatus({ state: 'waiting', reason, retryInS: left, maxSessions });
    };
    tick();
    this.countdown = setInterval(tick, 1000);
    this.timer = setTimeout(() => this.connect(), delayS * 1000);
  }

  #clearTimers() {
    clearTimeout(this.timer);
    clearInterval(this.countdown);
    this.timer = null;
    this.countdown = null;
  }
}
