/**
 * How the page tells people things: toasts, the banner under the top bar, the status dot, the
 * level meters, and the words for a microphone that would not open. Elements are looked up
 * when used, so importing this touches nothing.
 */
import { t } from './i18n.js';
import { MicError } from './mic.js';

/** A toast (`info`, `warn` or `error`) that fades after 6 s. */
export function toast(text, kind = 'info') {
  const item = document.createElement('div');
  item.className = `toast ${kind}`;
  item.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  item.textContent = text;
  document.getElementById('toasts').append(item);
  setTimeout(() => item.classList.add('leaving'), 6000);
  setTimeout(() => item.remove(), 6500);
}

/**
 * Shows the banner. `source` (`connection`, `mic`, `page`) says who put it there, so only the
 * same source takes it down again.
 */
export function showBanner(text, source) {
  const banner = document.getElementById('banner');
  banner.dataset.source = source;
  banner.textContent = text;
  banner.hidden = false;
}

/** Hides the banner if `source` put it there. */
export function hideBanner(source) {
  const banner = document.getElementById('banner');
  if (banner.dataset.source !== source) return;
  banner.hidden = true;
  banner.textContent = '';
}

/** The status line in the top bar: `kind` colours the dot (`busy`, `ok`, `warn`, `error`). */
export function setStatus(kind, text) {
  document.getElementById('status-dot').dataset.kind = kind;
  document.getElementById('status-text').textContent = text;
}

/** Maps a level in linear RMS to 0..1 on a −60..0 dBFS scale. */
export function levelFraction(rms) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

/** Draws a level meter; `peak` (linear, 0..1) near full scale marks it as clipping. */
export function setMeter(fill, rms, peak = 0) {
  fill.style.transform = `scaleX(${levelFraction(rms).toFixed(3)})`;
  // Near full scale the recording distorts: show it so people can step back.
  fill.classList.toggle('clipping', peak > 0.98);
}

/** What to tell people when the microphone would not open. */
export function micProblem(err) {
  const kind = err instanceof MicError ? err.kind : 'other';
  switch (kind) {
    case 'insecure':
      return t('notSecure');
    case 'unsupported':
      return t('noMediaDevices');
    case 'denied':
      return t('micDenied');
    case 'missing':
      return t('micMissing');
    case 'busy':
      return t('micBusy');
    default:
      return t('micFailed', { detail: err && err.message ? err.message : String(err) });
  }
}
