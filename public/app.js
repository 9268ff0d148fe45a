/**
 * The page's composition: builds the parts and wires them together. What the page is doing
 * lives in one state object (page-state.js); the parts change it, and `render()` draws every
 * control from `controls(state)`:
 *
 * - registration.js: the voice cards (names, recording a voice, the server's verdict)
 * - saved-voices.js: picking, saving and deleting saved voices
 * - conversation.js: Start/Stop, the live chat, resume after a drop, exports
 * - page-mic.js: the microphone; feedback.js: toasts, banner, status line, meters
 *
 * Here: the connection (its status line and the message dispatch), the microphone's frames,
 * and the switch between the live page and the history.
 */
import { Api } from './api.js';
import { ChatView } from './chat.js';
import { Connection, takeToken } from './connection.js';
import { createConversation } from './conversation.js';
import { refreshEngineBanner } from './engine-banner.js';
import { hideBanner, setStatus, showBanner, toast } from './feedback.js';
import { HistoryView } from './history.js';
import { applyStaticStrings, t } from './i18n.js';
import { createPageMic } from './page-mic.js';
import { controls, createPageState, isCapturing } from './page-state.js';
import { createRegistration } from './registration.js';
import { createSavedVoices } from './saved-voices.js';
import { initSignOut } from './signout.js';
import { initUpload } from './upload.js';
import { ScreenWakeLock } from './wake-lock.js';

/** Audio queued in the browser beyond this (bytes, ≈ 30 s of PCM16 at 16 kHz) gets a warning. */
const SLOW_NETWORK_BYTES = 1_000_000;
/** At most one slow-network warning per this many ms. */
const SLOW_WARNING_EVERY_MS = 30_000;

const $ = (sel) => document.querySelector(sel);

applyStaticStrings();

const state = createPageState();
const token = takeToken();
void initSignOut(/** @type {HTMLButtonElement | null} */ (document.getElementById('sign-out')));
initUpload(token, () => $('#language').value);
/** The HTTP API; the token is the connection's (read when each request goes out). */
const api = new Api(() => connection.token);
const wakeLock = new ScreenWakeLock();
const send = (msg) => connection.sendJson(msg);
const sendAudio = (pcm) => connection.sendAudio(pcm);

const registration = createRegistration({
  state,
  send,
  sendAudio,
  ensureMic: () => pageMic.ensure(),
  wakeMic: () => pageMic.wake(),
  render,
  toast,
  onNamesChanged: () => chat.refreshNames(),
  reloadSavedVoices: () => savedVoices.load(),
});
const chat = new ChatView($('#chat'), $('#jump'), registration.nameOf);
const savedVoices = createSavedVoices({ state, api, cards: registration.cards, nameOf: registration.nameOf, setName: registration.setName, send, render, toast });
const conversation = createConversation({
  state,
  chat,
  send,
  sendAudio,
  ensureMic: () => pageMic.ensure(),
  wakeMic: () => pageMic.wake(),
  flushMic: () => pageMic.mic.flush(),
  wakeLock,
  render,
  toast,
  forgetVoices: (quiet) => registration.forget(quiet),
});

let lastSlowWarningMs = 0;
const pageMic = createPageMic({
  onFrame(pcm, rms, peak) {
    registration.onFrame(pcm, rms, peak);
    conversation.onFrame(pcm, rms, peak);
    if (connection.bufferedBytes > SLOW_NETWORK_BYTES && Date.now() - lastSlowWarningMs > SLOW_WARNING_EVERY_MS) {
      lastSlowWarningMs = Date.now();
      toast(t('slowNetwork'), 'warn');
    }
  },
  isCapturing: () => isCapturing(state.mode),
});

// ---------------------------------------------------------------- connection

const retry = $('#retry');
retry.addEventListener('click', () => connection.retryNow());

const connection = new Connection(token, {
  onStatus(s) {
    switch (s.state) {
      case 'connecting':
        retry.hidden = true;
        setStatus('busy', t('connecting'));
        break;
      case 'open':
        retry.hidden = true;
        hideBanner('connection');
        setStatus('busy', t('waitingModels'));
        break;
      case 'waiting': {
        const key = { unreachable: 'serverUnreachable', busy: 'serverBusy', refused: 'serverRefused', lost: 'reconnectingIn' }[s.reason];
        setStatus('warn', t(key, { s: s.retryInS, max: s.maxSessions ?? '' }));
        retry.hidden = false;
        break;
      }
      case 'denied':
        setStatus('error', t('deniedShort'));
        showBanner(t('wrongToken'), 'connection');
        retry.hidden = false;
        break;
    }
  },
  onOpen() {
    state.link = { open: true, ready: false, models: null };
    render();
  },
  onClose() {
    state.link = { open: false, ready: false, models: null };
    if (conversation.onClose()) return;
    registration.forget();
  },
  onMessage: handleMessage,
});

function describeModels(models) {
  if (!models) return t('ready');
  if (models.asr === null) return `${t('ready')} · ${t('diarizationOnly', { speaker: models.speaker })}`;
  return `${t('ready')} · ${t('modelsLine', models)}`;
}

function handleMessage(msg) {
  if (msg.type === 'model_loaded') {
    state.link = { open: true, ready: true, models: msg.models };
    setStatus('ok', describeModels(msg.models));
    document.body.dataset.asr = msg.models && msg.models.asr === null ? 'none' : 'on';
    void refreshEngineBanner(api, $('#engine-banner'));
    conversation.onReady();
    savedVoices.load();
  } else if (msg.type === 'error') {
    handleServerError(msg);
  } else {
    // Each part takes its own messages; an unknown type is ignored.
    registration.handle(msg) || savedVoices.handle(msg) || conversation.handle(msg);
  }
  render();
}

function handleServerError(msg) {
  if (conversation.refusesResume(msg)) return;
  if (msg.code === 'storage_failed') {
    toast(t('storageFailed'), 'error');
    return;
  }
  toast(t('serverError', { message: msg.message || msg.code }), 'error');
  conversation.afterError(msg);
  registration.afterError(msg);
}

// ---------------------------------------------------------------- rendering

const processing = /** @type {HTMLInputElement} */ ($('#processing'));

/** Puts every control in the state `controls(state)` calls for. */
function render() {
  const c = controls(state, savedVoices.formsOpen());
  savedVoices.render(c);
  registration.render(c);
  conversation.render(c);
  processing.disabled = !c.processingEnabled;
  document.body.dataset.mode = state.mode.kind;
  document.body.dataset.phase = c.phase;
}

// ---------------------------------------------------------------- views

const views = { live: $('#live'), history: $('#history') };
const tabs = { live: $('#tab-live'), history: $('#tab-history') };
const history_ = new HistoryView(api, { toast });

/** `#history` and `#history/<id>` show the history; anything else the live page. */
function route() {
  const m = /^#history(?:\/([A-Za-z0-9_-]+))?$/.exec(location.hash);
  const view = m ? 'history' : 'live';
  views.live.hidden = view !== 'live';
  views.history.hidden = view !== 'history';
  tabs.live.toggleAttribute('aria-current', view === 'live');
  tabs.history.toggleAttribute('aria-current', view === 'history');
  if (view === 'live') tabs.live.setAttribute('aria-current', 'page');
  else tabs.history.setAttribute('aria-current', 'page');
  document.body.dataset.view = view;
  if (view === 'history') history_.route(m[1] || null);
}

window.addEventListener('hashchange', route);

// ---------------------------------------------------------------- start

if (!window.isSecureContext) showBanner(t('notSecure'), 'page');
route();
render();
connection.connect();
