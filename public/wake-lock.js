/**
 * Keeps the screen on while a conversation runs (Screen Wake Lock API), so a phone does not
 * lock, suspend the page and drop the microphone mid-sentence. The browser releases the lock
 * whenever the page is hidden; it is asked for again when the page is visible once more.
 * Where the API is missing or refuses (battery saver), the conversation simply runs without it.
 */
export class ScreenWakeLock {
  constructor() {
    this.wanted = false;
    this.sentinel = null;
    document.addEventListener('visibilitychange', () => {
      if (this.wanted && document.visibilityState === 'visible') this.#acquire();
    });
  }

  /** True while the screen is actually held on. */
  get held() {
    return this.sentinel !== null && !this.sentinel.released;
  }

  /** Asks for the lock (call it from the tap that starts the conversation). */
  hold() {
    this.wanted = true;
    return this.#acquire();
  }

  release() {
    this.wanted = false;
    const s = this.sentinel;
    this.sentinel = null;
    if (s && !s.released) s.release().catch(() => {});
  }

  async #acquire() {
    if (!('wakeLock' in navigator)) {
      document.body.dataset.wakeLock = 'unsupported';
      return;
    }
    if (this.held || document.visibilityState !== 'visible') return;
    try {
      const sentinel = await navigator.wakeLock.request('screen');
      if (!this.wanted) {
        sentinel.release().catch(() => {});
        return;
      }
      this.sentinel = sentinel;
      document.body.dataset.wakeLock = 'held';
      sentinel.addEventListener('release', () => {
        if (this.sentinel === sentinel) this.sentinel = null;
        document.body.dataset.wakeLock = 'released';
      });
    } catch {
      // Refused (not visible, power saving, policy): nothing to do but try at the next chance.
      document.body.dataset.wakeLock = 'refused';
    }
  }
}
