/**
 * The page's controller: connection, voice registration (recorded or saved), conversation with
 * resume after a dropped connection, exports, and the switch to the history view.
 *
 * What the page is doing is one tagged union (`mode`); audio frames go to the server only in
 * `registering` and `transcribing`, so the microphone can stay open in between. During a
 * conversation every frame goes through an `AudioRing` first, so a drop loses nothing: in
 * `suspended` (connection down) and `resuming` (waiting for the server's `resume_from`) the
 * page keeps capturing, and sends the backlog once the server says where to continue.
 */
import { Api } from './api.js';
import { AudioRing, RATE_HZ, RING_MAX_S } from './audio-ring.js';
import { ChatView } from './chat.js';
import { refreshEngineBanner } from './engine-banner.js';
import { Connection, takeToken } from './connection.js';
import { HistoryView } from './history.js';
import { markSentiment } from './notes.js';
import { applyStaticStrings, t } from './i18n.js';
import { MicError, Microphone } from './mic.js';
import { ScreenWakeLock } from './wake-lock.js';
import { initUpload } from './upload.js';
import { initSignOut } from './signout.js';

/** Registration length bounds (seconds of audio sent): Done appears at MIN, auto-complete at MAX. */
const ENROLL_MIN_S = 3;
const ENROLL_TARGET_S = 5;
const ENROLL_MAX_S = 15;
const NAME_MAX_CHARS = 40;
/** Audio queued in the browser beyond this (bytes, ≈ 30 s of PCM16 at 16 kHz) gets a warning. */
const SLOW_NETWORK_BYTES = 1_000_000;
const NAMES_KEY = 'duet.names';
/**
 * A resume refused with `conversation_busy` (the server is still finishing the old connection,
 * or has not yet noticed it died: up to 2 × its 30 s heartbeat) is retried every 2 s for 90 s.
 */
const BUSY_RETRY_MS = 2000;
const BUSY_RETRIES = 45;

const $ = (sel, root = document) => root.querySelector(sel);

applyStaticStrings();

const ui = {
  statusDot: $('#status-dot'),
  statusText: $('#status-text'),
  retry: $('#retry'),
  banner: $('#banner'),
  start: $('#start'),
  language: $('#language'),
  hint: $('#conversation-hint'),
  convMeter: $('#conv-meter .meter-fill'),
  processing: $('#processing'),
  micInfo: $('#mic-info'),
  toasts: $('#toasts'),
  linkNotice: $('#link-notice'),
  audioNotice: $('#audio-notice'),
  savedVoices: $('#saved-voices'),
  savedList: $('#saved-list'),
  savedCount: $('#saved-count'),
  live: $('#live'),
  history: $('#history'),
  tabs: { live: $('#tab-live'), history: $('#tab-history') },
  cards: [0, 1].map((id) => {
    const root = $(`#voice-${id}`);
    return {
      root,
      name: $('.name-input', root),
      button: $('.record-button', root),
      status: $('.voice-status', root),
      meter: $('.meter-fill', root),
      progress: $('.progress-fill', root),
      pick: $('.saved-pick', root),
      select: $('.saved-select', root),
      save: $('.save-voice-button', root),
      saveForm: $('.save-form', root),
      saveName: $('.save-name', root),
      saveConfirm: $('.save-confirm', root),
      saveCancel: $('.save-cancel', root),
    };
  }),
};

/**
 * @type {{ kind: 'idle' }
 *  | { kind: 'opening', next: 'register' | 'transcribe', speaker?: 0 | 1 }
 *  | { kind: 'registering', speaker: 0 | 1, samples: number }
 *  | { kind: 'checking', speaker: 0 | 1 }
 *  | { kind: 'transcribing', confirmed: boolean }
 *  | { kind: 'suspended', stopWanted: boolean }
 *  | { kind: 'resuming', stopWanted: boolean, busyTries: number }
 *  | { kind: 'stopping' }}
 */
let mode = { kind: 'idle' };
/** Connection as the UI sees it. */
let link = { open: false, ready: false, models: null };
const registered = [false, false];
/** Per card: the saved voice in use (its id), if the voice came from one. */
const fromSaved = [null, null];
/**
 * The running conversation (from Start until it ends): its server id (once
 * `transcription_started` told it), language, and the audio not yet known to be on the server.
 * `lostS` adds up the audio that drops cost (shown until the conversation ends).
 * @type {{ id: string | null, language: string, ring: AudioRing, lostS: number } | null}
 */
let live = null;
/** Saved voices from `/api/voices`: `{ id, name, created_at, encoder }`. */
let savedVoices = [];
let lastSlowWarningMs = 0;
/** Shown under the toolbar after a conversation ends, until the next one starts. */
let summary = null;

// ---------------------------------------------------------------- names

function loadNames() {
  try {
    const saved = JSON.parse(localStorage.getItem(NAMES_KEY) || '[]');
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

const savedNames = loadNames();
ui.cards.forEach((card, id) => {
  const fallback = t('speakerDefault', { n: id + 1 });
  card.name.value = typeof savedNames[id] === 'string' && savedNames[id].trim() ? savedNames[id].slice(0, NAME_MAX_CHARS) : fallback;
  card.name.placeholder = fallback;
  card.name.setAttribute('aria-label', `${t('nameLabel')} — ${fallback}`);
  card.name.addEventListener('input', () => {
    try {
      localStorage.setItem(NAMES_KEY, JSON.stringify(ui.cards.map((c) => c.name.value.slice(0, NAME_MAX_CHARS))));
    } catch {
      // Names are a convenience; without storage they last for this page view.
    }
    chat.refreshNames();
  });
});

/** Display name of a speaker (the card's field, or "Speaker N" when blank). */
function nameOf(id) {
  const v = ui.cards[id].name.value.trim().slice(0, NAME_MAX_CHARS);
  return v || t('speakerDefault', { n: id + 1 });
}

const chat = new ChatView($('#chat'), $('#jump'), nameOf);
const wakeLock = new ScreenWakeLock();
/** The HTTP API; the token is the connection's (read when each request goes out). */
const api = new Api(() => connection.token);

// ---------------------------------------------------------------- feedback

function toast(text, kind = 'info') {
  const item = document.createElement('div');
  item.className = `toast ${kind}`;
  item.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  item.textContent = text;
  ui.toasts.append(item);
  setTimeout(() => item.classList.add('leaving'), 6000);
  setTimeout(() => item.remove(), 6500);
}

function showBanner(text) {
  ui.banner.textContent = text;
  ui.banner.hidden = false;
}

function hideBanner() {
  ui.banner.hidden = true;
  ui.banner.textContent = '';
}

function setStatus(kind, text) {
  ui.statusDot.dataset.kind = kind;
  ui.statusText.textContent = text;
}

function micProblem(err) {
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

/** Maps a level in linear RMS to 0..1 on a −60..0 dBFS scale. */
function levelFraction(rms) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

function setMeter(fill, rms, peak = 0) {
  fill.style.transform = `scaleX(${levelFraction(rms).toFixed(3)})`;
  // Near full scale the recording distorts: show it so people can step back.
  fill.classList.toggle('clipping', peak > 0.98);
}

// ---------------------------------------------------------------- microphone

const mic = new Microphone({
  onFrame(pcm, rms, peak) {
    ui.micInfo.dataset.capturedS = mic.capturedSeconds.toFixed(2);
    if (mode.kind === 'registering') {
      connection.sendAudio(pcm);
      mode.samples += pcm.byteLength / 2;
      setMeter(ui.cards[mode.speaker].meter, rms, peak);
      renderRecording();
      if (mode.samples / 16000 >= ENROLL_MAX_S) completeRegistration();
    } else if (live && (mode.kind === 'transcribing' || mode.kind === 'suspended' || mode.kind === 'resuming')) {
      live.ring.push(pcm);
      if (mode.kind === 'transcribing') pump();
      else renderLinkNotice();
      setMeter(ui.convMeter, rms, peak);
    }
    if (connection.bufferedBytes > SLOW_NETWORK_BYTES && Date.now() - lastSlowWarningMs > 30_000) {
      lastSlowWarningMs = Date.now();
      toast(t('slowNetwork'), 'warn');
    }
  },
  onEnded() {
    ui.micInfo.textContent = t('micOff');
    if (['registering', 'transcribing', 'suspended', 'resuming'].includes(mode.kind)) toast(t('micBusy'), 'error');
    ui.audioNotice.hidden = true;
  },
  onState(state) {
    // Safari says `interrupted` for a call or Siri; any browser may suspend a hidden page's audio.
    ui.audioNotice.hidden = state === 'running' || state === 'closed';
    document.body.dataset.audio = state;
  },
  onRebuilt(rateHz) {
    ui.micInfo.textContent = t('micRebuilt', { rate: rateHz });
  },
});

/** Sends the conversation's audio from the ring's send position on (live: just the newest frame). */
function pump() {
  if (!live) return;
  live.ring.drain((buf) => connection.sendAudio(buf));
}

/** Resumes the audio context from a tap (the only way on phones after an interruption). */
let audioResuming = null;
function resumeAudio() {
  if (!mic.isOpen || mic.state === 'running') return Promise.resolve();
  // A tap on the button is also a tap on the page: one resume, one message.
  audioResuming ??= mic
    .resume()
    .then((state) => {
      if (state === 'running') toast(t('audioResumed'));
    })
    .finally(() => {
      audioResuming = null;
    });
  return audioResuming;
}

$('#audio-resume').addEventListener('click', resumeAudio);
document.addEventListener('pointerdown', () => {
  if (mic.isOpen && mic.state !== 'running' && mic.state !== 'closed') resumeAudio();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && mic.isOpen && mic.state !== 'running') mic.resume();
});

async function ensureMic() {
  await mic.open(ui.processing.checked);
  ui.micInfo.textContent = t('micOn', { rate: mic.deviceRateHz });
}

ui.processing.addEventListener('change', () => {
  // The constraint applies when the microphone opens; reopen it at the next use.
  if (mic.isOpen && mic.processing !== ui.processing.checked) {
    mic.close();
    ui.micInfo.textContent = t('micOff');
  }
});

// ---------------------------------------------------------------- connection

const token = takeToken();
void initSignOut(/** @type {HTMLButtonElement | null} */ (document.getElementById('sign-out')));
initUpload(token, () => ui.language.value);
const connection = new Connection(token, {
  onStatus(s) {
    switch (s.state) {
      case 'connecting':
        ui.retry.hidden = true;
        setStatus('busy', t('connecting'));
        break;
      case 'open':
        ui.retry.hidden = true;
        if (ui.banner.dataset.source === 'connection') hideBanner();
        setStatus('busy', t('waitingModels'));
        break;
      case 'waiting': {
        const key = { unreachable: 'serverUnreachable', busy: 'serverBusy', refused: 'serverRefused', lost: 'reconnectingIn' }[s.reason];
        setStatus('warn', t(key, { s: s.retryInS, max: s.maxSessions ?? '' }));
        ui.retry.hidden = false;
        break;
      }
      case 'denied':
        setStatus('error', t('deniedShort'));
        ui.banner.dataset.source = 'connection';
        showBanner(t('wrongToken'));
        ui.retry.hidden = false;
        break;
    }
  },
  onOpen() {
    link = { open: true, ready: false, models: null };
    render();
  },
  onClose() {
    link = { open: false, ready: false, models: null };
    if (live && live.id && ['transcribing', 'resuming', 'suspended'].includes(mode.kind)) {
      // The server keeps the conversation (and both voices) for a while: keep capturing and
      // resume it on the next connection.
      mode = { kind: 'suspended', stopWanted: mode.kind === 'transcribing' ? false : mode.stopWanted };
      render();
      return;
    }
    // Not resumable (no id yet, or already stopping): the server stores what it has and closes
    // the conversation itself after the resume window.
    if (live) finishConversation(null);
    forgetVoices();
  },
  onMessage: handleMessage,
});

/** A new connection is a new server session: it knows no voices and no conversation. */
function forgetVoices(quiet = false) {
  const hadVoices = registered.some(Boolean);
  registered[0] = registered[1] = false;
  fromSaved[0] = fromSaved[1] = null;
  const was = mode.kind;
  mode = { kind: 'idle' };
  ui.cards.forEach((card) => {
    card.root.dataset.state = 'empty';
    card.status.textContent = t('notRegistered');
    card.saveForm.hidden = true;
  });
  if (!quiet && (hadVoices || was !== 'idle')) toast(t('connectionReset'), 'warn');
  render();
}

ui.retry.addEventListener('click', () => connection.retryNow());

function describeModels(models) {
  if (!models) return t('ready');
  if (models.asr === null) return `${t('ready')} · ${t('diarizationOnly', { speaker: models.speaker })}`;
  return `${t('ready')} · ${t('modelsLine', models)}`;
}

function handleMessage(msg) {
  switch (msg.type) {
    case 'model_loaded':
      link = { open: true, ready: true, models: msg.models };
      setStatus('ok', describeModels(msg.models));
      document.body.dataset.asr = msg.models && msg.models.asr === null ? 'none' : 'on';
      void refreshEngineBanner(api, $('#engine-banner'));
      if (mode.kind === 'suspended') sendResume();
      loadSavedVoices();
      break;
    case 'speaker_registration_started':
      break;
    case 'speaker_registration_completed': {
      const id = msg.speaker_id;
      registered[id] = true;
      fromSaved[id] = typeof msg.voice_id === 'string' ? msg.voice_id : null;
      const card = ui.cards[id];
      card.root.dataset.state = 'registered';
      if (fromSaved[id]) {
        if (typeof msg.name === 'string' && msg.name.trim()) setCardName(id, msg.name);
        card.status.textContent = t('registeredSaved', { name: nameOf(id) });
      } else {
        card.status.textContent = t('registered', { s: Number(msg.speech_seconds).toFixed(1) });
      }
      card.select.value = '';
      if (mode.kind === 'checking' && mode.speaker === id) mode = { kind: 'idle' };
      break;
    }
    case 'speaker_registration_failed': {
      const id = msg.speaker_id;
      registered[id] = false;
      fromSaved[id] = null;
      const card = ui.cards[id];
      card.root.dataset.state = 'failed';
      card.select.value = '';
      const key = {
        too_short: 'failedTooShort',
        too_quiet: 'failedTooQuiet',
        too_similar: 'failedTooSimilar',
        unknown_voice: 'failedUnknownVoice',
        voice_incompatible: 'failedIncompatible',
      }[msg.reason];
      card.status.textContent = key ? t(key) : t('failedOther', { message: msg.message || msg.reason });
      if (msg.reason === 'unknown_voice') loadSavedVoices();
      if (mode.kind === 'checking' && mode.speaker === id) mode = { kind: 'idle' };
      break;
    }
    case 'voice_saved': {
      const card = ui.cards[msg.speaker_id];
      if (card) {
        card.saveForm.hidden = true;
        fromSaved[msg.speaker_id] = msg.voice_id;
        // The server names the speaker after the saved voice from now on; so does the page.
        if (typeof msg.name === 'string' && msg.name.trim()) setCardName(msg.speaker_id, msg.name);
      }
      toast(t('voiceSaved', { name: msg.name || '' }));
      loadSavedVoices();
      break;
    }
    case 'transcription_started':
      if (live && typeof msg.conversation_id === 'string') live.id = msg.conversation_id;
      if (mode.kind === 'transcribing') mode.confirmed = true;
      else if (mode.kind === 'resuming') resumed(msg);
      break;
    case 'segment':
      chat.addSegment(msg);
      break;
    case 'transcription':
      chat.addTranscription(msg);
      break;
    case 'sentiment':
      markSentiment($('#chat'), msg);
        break;
    case 'partial':
      chat.addPartial(msg);
      break;
    case 'transcription_stopped':
      if (mode.kind === 'stopping' || mode.kind === 'transcribing') finishConversation(msg.segments);
      break;
    case 'error':
      handleServerError(msg);
      break;
    default:
      break;
  }
  render();
}

function handleServerError(msg) {
  if (mode.kind === 'resuming' && ['unknown_conversation', 'conversation_busy', 'wrong_state', 'bad_message', 'not_registered'].includes(msg.code)) {
    resumeRefused(msg);
    return;
  }
  if (msg.code === 'storage_failed') {
    toast(t('storageFailed'), 'error');
    return;
  }
  toast(t('serverError', { message: msg.message || msg.code }), 'error');
  // A refused start leaves us where we were before it.
  if (['wrong_state', 'not_registered', 'bad_message'].includes(msg.code)) {
    if (mode.kind === 'transcribing' && !mode.confirmed) {
      mode = { kind: 'idle' };
      live = null;
      wakeLock.release();
    }
    if (mode.kind === 'checking' || mode.kind === 'registering') {
      const card = ui.cards[mode.speaker];
      card.root.dataset.state = registered[mode.speaker] ? 'registered' : 'empty';
      card.status.textContent = t('failedOther', { message: msg.message || msg.code });
      mode = { kind: 'idle' };
    }
  }
  if (msg.code === 'conversation_too_long' && mode.kind === 'transcribing') stopConversation();
  if (msg.code === 'registration_too_long' && mode.kind === 'registering') completeRegistration();
}

// ---------------------------------------------------------------- resume

/** Asks the new connection to continue the conversation, from the last complete bubble on. */
function sendResume() {
  if (!live || !live.id || !link.ready) return;
  const stopWanted = mode.kind === 'suspended' || mode.kind === 'resuming' ? mode.stopWanted : false;
  const busyTries = mode.kind === 'resuming' ? mode.busyTries : 0;
  connection.sendJson({
    type: 'start_transcription',
    language: live.language,
    conversation_id: live.id,
    last_segment_id: chat.lastCompleteId(),
  });
  mode = { kind: 'resuming', stopWanted, busyTries };
}

/** `transcription_started` after a resume: send the audio the server lacks, then go live. */
function resumed(msg) {
  const stopWanted = mode.stopWanted;
  const fromSample = Math.max(0, Math.round(Number(msg.resume_from || 0) * RATE_HZ));
  if (msg.resumed === false) {
    // The server began a new conversation instead: its clock and segment ids start afresh.
    live.ring = new AudioRing();
    chat.beginConversation();
  }
  const gap = msg.resumed === false ? 0 : live.ring.rewindTo(fromSample);
  // Audio the ring no longer has is sent as silence, so times after it stay right.
  const silence = new ArrayBuffer(1600 * 2);
  for (let left = gap; left > 0; left -= 1600) {
    connection.sendAudio(left >= 1600 ? silence : silence.slice(0, left * 2));
  }
  mode = { kind: 'transcribing', confirmed: true };
  pump();
  const lostS = gap / RATE_HZ;
  live.lostS += lostS;
  document.body.dataset.resumed = String(Number(document.body.dataset.resumed || 0) + 1);
  toast(lostS >= 0.05 ? t('resumedLost', { lost: lostS.toFixed(1) }) : t('resumed'), lostS >= 0.05 ? 'warn' : 'info');
  if (stopWanted) stopConversation();
}

function resumeRefused(msg) {
  if (msg.code === 'conversation_busy' && mode.busyTries < BUSY_RETRIES) {
    mode.busyTries++;
    renderLinkNotice();
    setTimeout(() => {
      if (mode.kind === 'resuming' && link.ready) sendResume();
    }, BUSY_RETRY_MS);
    return;
  }
  toast(t('resumeFailed', { reason: msg.code }), 'error');
  finishConversation(null);
  forgetVoices(true);
}

/** The conversation is over (stopped, or lost for good): free the ring and the wake lock. */
function finishConversation(segments) {
  mode = { kind: 'idle' };
  live = null;
  wakeLock.release();
  summary = segments === null ? null : t('stoppedSummary', { n: segments });
  setMeter(ui.convMeter, 0);
}

/** The line under the toolbar while the connection is down: how much audio is kept, what was lost. */
function renderLinkNotice() {
  let text = '';
  if (mode.kind === 'suspended' && live) {
    const lostS = live.ring.lostS;
    text =
      lostS > 0
        ? t('linkSuspendedLost', { max: RING_MAX_S, lost: Math.round(lostS) })
        : t('linkSuspended', { s: Math.floor(live.ring.pendingS) });
    if (mode.stopWanted) text += ` ${t('stopQueued')}`;
  } else if (mode.kind === 'resuming') {
    text = mode.busyTries > 0 ? t('resumeBusy') : t('linkResuming');
  } else if (mode.kind === 'transcribing' && live && live.lostS >= 0.05) {
    text = t('lostSoFar', { lost: live.lostS.toFixed(1) });
  }
  if (ui.linkNotice.textContent !== text) ui.linkNotice.textContent = text;
  ui.linkNotice.hidden = text === '';
  ui.linkNotice.dataset.lost = live && (live.ring.lostS > 0 || live.lostS >= 0.05) ? 'true' : 'false';
}

// ---------------------------------------------------------------- registration

async function startRegistration(id) {
  if (mode.kind !== 'idle' || !link.ready) return;
  mode = { kind: 'opening', next: 'register', speaker: id };
  if (mic.isOpen && mic.state !== 'running') mic.resume();
  render();
  try {
    await ensureMic();
    if (ui.banner.dataset.source === 'mic') hideBanner();
  } catch (err) {
    mode = { kind: 'idle' };
    ui.banner.dataset.source = 'mic';
    showBanner(micProblem(err));
    ui.cards[id].status.textContent = micProblem(err);
    render();
    return;
  }
  if (mode.kind !== 'opening' || !link.ready) {
    render();
    return;
  }
  // The placeholder name says nothing the server does not know already.
  const typed = ui.cards[id].name.value.trim().slice(0, NAME_MAX_CHARS);
  const name = typed === t('speakerDefault', { n: id + 1 }) ? '' : typed;
  connection.sendJson(name ? { type: 'start_speaker_registration', speaker_id: id, name } : { type: 'start_speaker_registration', speaker_id: id });
  registered[id] = false;
  mode = { kind: 'registering', speaker: id, samples: 0 };
  ui.cards[id].root.dataset.state = 'recording';
  renderRecording();
  render();
}

function completeRegistration() {
  if (mode.kind !== 'registering') return;
  const id = mode.speaker;
  connection.sendJson({ type: 'complete_speaker_registration', speaker_id: id });
  mode = { kind: 'checking', speaker: id };
  const card = ui.cards[id];
  card.root.dataset.state = 'checking';
  card.status.textContent = t('checking');
  setMeter(card.meter, 0);
  render();
}

/** Countdown text and progress bar of the card being recorded. */
function renderRecording() {
  if (mode.kind !== 'registering') return;
  const card = ui.cards[mode.speaker];
  const elapsedS = mode.samples / 16000;
  card.progress.style.transform = `scaleX(${Math.min(1, elapsedS / ENROLL_MAX_S).toFixed(3)})`;
  const text = elapsedS < ENROLL_TARGET_S ? t('speakNow', { s: Math.ceil(ENROLL_TARGET_S - elapsedS) }) : t('keepTalking', { max: ENROLL_MAX_S });
  if (card.status.textContent !== text) card.status.textContent = text;
  const canFinish = elapsedS >= ENROLL_MIN_S;
  const label = canFinish ? t('done') : t('recording');
  if (card.button.textContent !== label) card.button.textContent = label;
  card.button.setAttribute('aria-disabled', String(!canFinish));
}

ui.cards.forEach((card, id) => {
  card.button.addEventListener('click', () => {
    if (card.button.getAttribute('aria-disabled') === 'true') return;
    if (mode.kind === 'registering' && mode.speaker === id) {
      if (mode.samples / 16000 >= ENROLL_MIN_S) completeRegistration();
      return;
    }
    startRegistration(id);
  });
});

// ---------------------------------------------------------------- conversation

async function startConversation() {
  if (mode.kind !== 'idle' || !link.ready || !registered[0] || !registered[1]) return;
  mode = { kind: 'opening', next: 'transcribe' };
  // Still inside the tap: phones only let audio start and the screen stay on from a gesture.
  if (mic.isOpen && mic.state !== 'running') mic.resume();
  wakeLock.hold();
  render();
  try {
    await ensureMic();
  } catch (err) {
    mode = { kind: 'idle' };
    wakeLock.release();
    ui.banner.dataset.source = 'mic';
    showBanner(micProblem(err));
    render();
    return;
  }
  if (mode.kind !== 'opening' || !link.ready) {
    wakeLock.release();
    render();
    return;
  }
  const language = ui.language.value;
  connection.sendJson({ type: 'start_transcription', language });
  // Server time 0 is the first frame after this message: the ring counts from here too.
  live = { id: null, language, ring: new AudioRing(), lostS: 0 };
  mode = { kind: 'transcribing', confirmed: false };
  summary = null;
  chat.beginConversation();
  render();
}

async function stopConversation() {
  if (mode.kind === 'suspended' || mode.kind === 'resuming') {
    // Nothing can reach the server now; stop as soon as the backlog is delivered.
    mode.stopWanted = true;
    renderLinkNotice();
    render();
    return;
  }
  if (mode.kind !== 'transcribing' || mode.flushing) return;
  // The worklet's partial frame (up to 100 ms, often the end of the last word) goes out first,
  // while the mode still sends audio; a second click meanwhile is ignored.
  mode.flushing = true;
  await mic.flush();
  if (mode.kind !== 'transcribing') return;
  connection.sendJson({ type: 'stop_transcription' });
  mode = { kind: 'stopping' };
  setMeter(ui.convMeter, 0);
  render();
}

ui.start.addEventListener('click', () => {
  if (ui.start.getAttribute('aria-disabled') === 'true') return;
  if (['transcribing', 'suspended', 'resuming'].includes(mode.kind)) stopConversation();
  else startConversation();
});

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && document.body.dataset.view === 'live' && ['transcribing', 'suspended', 'resuming'].includes(mode.kind)) {
    ev.preventDefault();
    stopConversation();
  }
});

// ---------------------------------------------------------------- export

function exportText() {
  return chat.count > 0 ? chat.toText() : null;
}

$('#copy').addEventListener('click', async () => {
  const text = exportText();
  if (!text) return toast(t('nothingToExport'));
  try {
    await navigator.clipboard.writeText(text);
    toast(t('copied'));
  } catch {
    toast(t('copyFailed'), 'error');
  }
});

$('#download').addEventListener('click', () => {
  const text = exportText();
  if (!text) return toast(t('nothingToExport'));
  const stamp = new Date().toISOString().slice(0, 16).replace('T', '-').replace(':', '');
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `conversation-${stamp}.txt`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});

// ---------------------------------------------------------------- rendering

/** Puts every control in the state `mode` and `link` call for. */
function render() {
  const usable = link.open && link.ready;
  const idle = mode.kind === 'idle';
  const pickable = savedVoices.length > 0;
  ui.cards.forEach((card, id) => {
    const recordingThis = mode.kind === 'registering' && mode.speaker === id;
    card.pick.hidden = !pickable;
    card.select.disabled = !(usable && idle);
    card.save.hidden = !(registered[id] && !fromSaved[id] && card.saveForm.hidden);
    card.save.setAttribute('aria-disabled', String(!usable));
    if (recordingThis) return renderRecording();
    const openingThis = mode.kind === 'opening' && mode.speaker === id;
    card.button.textContent = openingThis ? t('recording') : registered[id] ? t('reRecord') : t('recordVoice');
    card.button.setAttribute('aria-disabled', String(!(usable && idle)));
    card.button.classList.toggle('primary', !registered[id]);
    if (card.root.dataset.state !== 'recording') card.progress.style.transform = 'scaleX(0)';
    card.name.disabled = recordingThis || (mode.kind === 'checking' && mode.speaker === id);
  });

  const both = registered[0] && registered[1];
  const running = ['transcribing', 'suspended', 'resuming'].includes(mode.kind);
  ui.start.textContent = running ? t('stop') : mode.kind === 'stopping' ? t('stopping') : t('start');
  ui.start.classList.toggle('danger', running);
  ui.start.classList.toggle('primary', !running);
  const startable = usable && idle && both;
  const stopQueued = (mode.kind === 'suspended' || mode.kind === 'resuming') && mode.stopWanted;
  ui.start.setAttribute('aria-disabled', String(!(startable || (running && !stopQueued))));
  ui.language.disabled = !idle;
  ui.processing.disabled = !idle;
  document.body.dataset.mode = mode.kind;
  ui.convMeter.parentElement.classList.toggle('active', running);

  if (running) ui.hint.textContent = t('listening');
  else if (mode.kind === 'stopping') ui.hint.textContent = t('finishing');
  else if (summary) ui.hint.textContent = summary;
  else ui.hint.textContent = both ? t('startHintReady') : t('startHintRegister');
  renderLinkNotice();
}

// ---------------------------------------------------------------- saved voices

function setCardName(id, name) {
  ui.cards[id].name.value = name.slice(0, NAME_MAX_CHARS);
  ui.cards[id].name.dispatchEvent(new Event('input'));
}

async function loadSavedVoices() {
  try {
    const list = await api.listVoices();
    savedVoices = Array.isArray(list) ? list : [];
  } catch {
    // An older server or a failed request: the page works without saved voices.
    savedVoices = [];
  }
  renderSavedVoices();
  render();
}

function renderSavedVoices() {
  const encoder = link.models && link.models.speaker;
  ui.cards.forEach((card) => {
    const first = new Option(t('pickSavedVoice'), '');
    const options = savedVoices.map((v) => {
      const other = encoder && v.encoder && v.encoder.split('@')[0] !== encoder;
      const o = new Option(other ? t('otherModel', { name: v.name }) : v.name, v.id);
      o.disabled = Boolean(other);
      return o;
    });
    card.select.replaceChildren(first, ...options);
    card.select.value = '';
  });
  ui.savedVoices.hidden = savedVoices.length === 0;
  ui.savedCount.textContent = String(savedVoices.length);
  ui.savedList.replaceChildren(
    ...savedVoices.map((v) => {
      const li = document.createElement('li');
      li.className = 'saved-item';
      li.dataset.id = v.id;
      const name = document.createElement('span');
      name.className = 'saved-name';
      name.textContent = v.name;
      const when = document.createElement('span');
      when.className = 'saved-date';
      const d = new Date(typeof v.created_at === 'number' && v.created_at < 1e12 ? v.created_at * 1000 : v.created_at);
      when.textContent = Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString();
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'button small';
      del.textContent = t('deleteVoice');
      del.setAttribute('aria-label', `${t('deleteVoice')} — ${v.name}`);
      del.addEventListener('click', () => deleteSavedVoice(v));
      li.append(name, when, del);
      return li;
    }),
  );
}

async function deleteSavedVoice(v) {
  if (!window.confirm(t('confirmDeleteVoice', { name: v.name }))) return;
  try {
    await api.deleteVoice(v.id);
    toast(t('voiceDeleted'));
  } catch (err) {
    toast(t('requestFailed', { message: err.message }), 'error');
  }
  loadSavedVoices();
}

ui.cards.forEach((card, id) => {
  card.select.addEventListener('change', () => {
    const voiceId = card.select.value;
    if (!voiceId || mode.kind !== 'idle' || !link.ready) return;
    connection.sendJson({ type: 'use_saved_voice', speaker_id: id, voice_id: voiceId });
    registered[id] = false;
    mode = { kind: 'checking', speaker: id };
    card.root.dataset.state = 'checking';
    card.status.textContent = t('loadingVoice');
    render();
  });
  card.save.addEventListener('click', () => {
    if (card.save.getAttribute('aria-disabled') === 'true') return;
    card.saveName.value = nameOf(id);
    card.saveForm.hidden = false;
    render();
    card.saveName.focus();
    card.saveName.select();
  });
  const confirmSave = () => {
    const name = card.saveName.value.trim().slice(0, NAME_MAX_CHARS) || nameOf(id);
    if (!registered[id] || !connection.sendJson({ type: 'save_voice', speaker_id: id, name })) return;
    card.saveConfirm.setAttribute('aria-disabled', 'true');
    setTimeout(() => card.saveConfirm.removeAttribute('aria-disabled'), 1500);
  };
  card.saveConfirm.addEventListener('click', confirmSave);
  card.saveName.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') confirmSave();
    if (ev.key === 'Escape') {
      ev.stopPropagation();
      card.saveForm.hidden = true;
      render();
    }
  });
  card.saveCancel.addEventListener('click', () => {
    card.saveForm.hidden = true;
    render();
  });
});

// ---------------------------------------------------------------- views

/** `#history` and `#history/<id>` show the history; anything else the live page. */
function route() {
  const m = /^#history(?:\/([A-Za-z0-9_-]+))?$/.exec(location.hash);
  const view = m ? 'history' : 'live';
  ui.live.hidden = view !== 'live';
  ui.history.hidden = view !== 'history';
  ui.tabs.live.toggleAttribute('aria-current', view === 'live');
  ui.tabs.history.toggleAttribute('aria-current', view === 'history');
  if (view === 'live') ui.tabs.live.setAttribute('aria-current', 'page');
  else ui.tabs.history.setAttribute('aria-current', 'page');
  document.body.dataset.view = view;
  if (view === 'history') history_.route(m[1] || null);
}

const history_ = new HistoryView(api, { toast });
window.addEventListener('hashchange', route);

// ---------------------------------------------------------------- start

if (!window.isSecureContext) {
  ui.banner.dataset.source = 'page';
  showBanner(t('notSecure'));
}
route();
render();
connection.connect();
