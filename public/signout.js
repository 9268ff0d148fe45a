/**
 * The sign-out button: shown while this browser is signed in with the session cookie (the
 * link's token was exchanged for it); a click ends the session on the server, which also
 * removes the cookie, and reloads the page, which then asks for the link again.
 */

/** @param {HTMLButtonElement | null} button */
export async function initSignOut(button) {
  if (!button) return;
  try {
    const res = await fetch('/api/session', { cache: 'no-store', credentials: 'same-origin' });
    const info = res.ok ? await res.json() : null;
    button.hidden = !(info && info.via === 'cookie');
  } catch {
    button.hidden = true;
  }
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await fetch('/api/session', { method: 'DELETE', cache: 'no-store', credentials: 'same-origin' });
    } finally {
      window.location.replace(window.location.pathname);
    }
  });
}
