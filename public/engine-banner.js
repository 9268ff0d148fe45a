/**
 * The banner that says when the server runs without speech recognition: why (from the
 * server's GET /api/status) and what to run there. Shown on each `model_loaded`, hidden again
 * when recognition is up. Text only: nothing from the server is parsed as HTML.
 */
import { t } from './i18n.js';

/**
 * Fills `el` from the status report's `engine` section, or hides it when recognition is up
 * (or `ASR_MODEL=none` was chosen on purpose: the status line says so already).
 * @param {HTMLElement} el
 * @param {{ state: string, reason: string, message: string, hint: string | null } | undefined} engine
 */
export function renderEngineBanner(el, engine) {
  el.replaceChildren();
  if (!engine || engine.state === 'up' || (engine.state === 'none' && engine.reason === 'disabled')) {
    el.hidden = true;
    delete el.dataset.reason;
    return;
  }
  el.dataset.reason = String(engine.reason);
  const title = document.createElement('strong');
  title.textContent = engine.state === 'down' ? t('engineDownTitle') : t('engineNoneTitle');
  const why = document.createElement('span');
  why.textContent = ` ${String(engine.message || '')}`;
  el.append(title, why);
  if (engine.hint) {
    const fix = document.createElement('p');
    fix.className = 'engine-fix';
    const [before, after] = t('engineFix', { command: '\u0000' }).split('\u0000');
    const cmd = document.createElement('code');
    cmd.textContent = String(engine.hint);
    fix.append(before ?? '', cmd, after ?? '');
    el.append(fix);
  }
  el.hidden = false;
}

/**
 * Asks the server for its status and updates the banner. A failed request leaves it as it
 * was: the connection's own banner says when the server cannot be reached.
 * @param {{ status(): Promise<any> }} api
 * @param {HTMLElement} el
 */
export async function refreshEngineBanner(api, el) {
  let report;
  try {
    report = await api.status();
  } catch {
    return;
  }
  renderEngineBanner(el, report && report.engine);
}
