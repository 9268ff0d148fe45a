/**
 * The page's controller: connection, voice registration, conversation, exports.
 *
 * What the page is doing is one tagged union (`mode`); audio frames go to the server only in
 * `registering` and `transcribing`, so the microphone can stay open in between.
 */
import { ChatView } from './chat.js';
import { Connection, takeToken } from './connection.js';
import { applyStaticStrings, t } from './i18n.js';
import { MicError, Microphone } from './mic.js';
import { initUpload } from './upload.js';

/** Registration length bounds (seconds of audio sent): Done appears at MIN, auto-complete at MAX. */
const ENROLL_MIN_S = 3;
const ENROLL_TARGET_S = 5;
const ENROLL_MAX_S = 15;
const NAME_MAX_CHARS = 40;
/** Audio queued in the browser beyond this (bytes, ≈ 30 s of PCM16 at 16 kHz) gets a warning. */
const SLOW_NETWORK_BYTES = 1_000_000;
const NAMES_KEY = 'duet.names';

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
  cards: [0, 1].map((id) => {
    const root = $(`#voice-${id}`);
    return {
      root,
      name: $('.name-input', root),
      button: $('.record-button', root),
      status: $('.voice-status', root),
      meter: $('.meter-fill', root),
      progress: $('.progress-fill', root),
    };
  }),
};

/**
 * @type {{ kind: 'idle' }
 *  | { kind: 'opening', next: 'register' | 'transcribe', speaker?: 0 | 1 }
 *  | { kind: 'registering', speaker: 0 | 1, samples: number }
 *  | { kind: 'checking', speaker: 0 | 1 }
 *  | { kind: 'transcribing', confirmed: boolean }
 *  | { kind: 'stopping' }}
 */
let mode = { kind: 'idle' };
/** Connection as the UI sees it. */
let link = { open: false, ready: false, models: null };
const registered = [false, false];
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
    } else if (mode.kind === 'transcribing') {
      connection.sendAudio(pcm);
      setMeter(ui.convMeter, rms, peak);
    }
    if (connection.bufferedBytes > SLOW_NETWORK_BYTES && Date.now() - lastSlowWarningMs > 30_000) {
      lastSlowWarningMs = Date.now();
      toast(t('slowNetwork'), 'warn');
    }
  },
  onEnded() {
    ui.micInfo.textContent = t('micOff');
    if (mode.kind === 'registering' || mode.kind === 'transcribing') toast(t('micBusy'), 'error');
  },
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
    const hadVoices = registered.some(Boolean);
    link = { open: false, ready: false, models: null };
    // A new connection is a new server session: it knows no voices and no conversation.
    registered[0] = registered[1] = false;
    const was = mode.kind;
    mode = { kind: 'idle' };
    ui.cards.forEach((card) => {
      card.root.dataset.state = 'empty';
      card.status.textContent = t('notRegistered');
    });
    if (hadVoices || was !== 'idle') toast(t('connectionReset'), 'warn');
    render();
  },
  onMessage: handleMessage,
});

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
      break;
    case 'speaker_registration_started':
      break;
    case 'speaker_registration_completed': {
      const id = msg.speaker_id;
      registered[id] = true;
      const card = ui.cards[id];
      card.root.dataset.state = 'registered';
      card.status.textContent = t('registered', { s: Number(msg.speech_seconds).toFixed(1) });
      if (mode.kind === 'checking' && mode.speaker === id) mode = { kind: 'idle' };
      break;
    }
    case 'speaker_registration_failed': {
      const id = msg.speaker_id;
      registered[id] = false;
      const card = ui.cards[id];
      card.root.dataset.state = 'failed';
      const key = { too_short: 'failedTooShort', too_quiet: 'failedTooQuiet', too_similar: 'failedTooSimilar' }[msg.reason];
      card.status.textContent = key ? t(key) : t('failedOther', { message: msg.message || msg.reason });
      if (mode.kind === 'checking' && mode.speaker === id) mode = { kind: 'idle' };
      break;
    }
    case 'transcription_started':
      if (mode.kind === 'transcribing') mode.confirmed = true;
      break;
    case 'segment':
      chat.addSegment(msg);
      break;
    case 'transcription':
      chat.addTranscription(msg);
      break;
    case 'transcription_stopped':
      if (mode.kind === 'stopping' || mode.kind === 'transcribing') {
        mode = { kind: 'idle' };
        summary = t('stoppedSummary', { n: msg.segments });
        setMeter(ui.convMeter, 0);
      }
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
  toast(t('serverError', { message: msg.message || msg.code }), 'error');
  // A refused start leaves us where we were before it.
  if (['wrong_state', 'not_registered', 'bad_message'].includes(msg.code)) {
    if (mode.kind === 'transcribing' && !mode.confirmed) mode = { kind: 'idle' };
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

// ---------------------------------------------------------------- registration

async function startRegistration(id) {
  if (mode.kind !== 'idle' || !link.ready) return;
  mode = { kind: 'opening', next: 'register', speaker: id };
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
  render();
  try {
    await ensureMic();
  } catch (err) {
    mode = { kind: 'idle' };
    ui.banner.dataset.source = 'mic';
    showBanner(micProblem(err));
    render();
    return;
  }
  if (mode.kind !== 'opening' || !link.ready) {
    render();
    return;
  }
  connection.sendJson({ type: 'start_transcription', language: ui.language.value });
  mode = { kind: 'transcribing', confirmed: false };
  summary = null;
  chat.beginConversation();
  render();
}

function stopConversation() {
  if (mode.kind !== 'transcribing') return;
  connection.sendJson({ type: 'stop_transcription' });
  mode = { kind: 'stopping' };
  setMeter(ui.convMeter, 0);
  render();
}

ui.start.addEventListener('click', () => {
  if (ui.start.getAttribute('aria-disabled') === 'true') return;
  if (mode.kind === 'transcribing') stopConversation();
  else startConversation();
});

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && mode.kind === 'transcribing') {
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
  ui.cards.forEach((card, id) => {
    const recordingThis = mode.kind === 'registering' && mode.speaker === id;
    if (recordingThis) return renderRecording();
    const openingThis = mode.kind === 'opening' && mode.speaker === id;
    card.button.textContent = openingThis ? t('recording') : registered[id] ? t('reRecord') : t('recordVoice');
    card.button.setAttribute('aria-disabled', String(!(usable && idle)));
    card.button.classList.toggle('primary', !registered[id]);
    if (card.root.dataset.state !== 'recording') card.progress.style.transform = 'scaleX(0)';
    card.name.disabled = recordingThis || (mode.kind === 'checking' && mode.speaker === id);
  });

  const both = registered[0] && registered[1];
  const talking = mode.kind === 'transcribing';
  ui.start.textContent = talking ? t('stop') : mode.kind === 'stopping' ? t('stopping') : t('start');
  ui.start.classList.toggle('danger', talking);
  ui.start.classList.toggle('primary', !talking);
  const startable = usable && idle && both;
  ui.start.setAttribute('aria-disabled', String(!(startable || talking)));
  ui.language.disabled = !idle;
  ui.processing.disabled = !idle;
  document.body.dataset.mode = mode.kind;
  ui.convMeter.parentElement.classList.toggle('active', talking);

  if (talking) ui.hint.textContent = t('listening');
  else if (mode.kind === 'stopping') ui.hint.textContent = t('finishing');
  else if (summary) ui.hint.textContent = summary;
  else ui.hint.textContent = both ? t('startHintReady') : t('startHintRegister');
}

// ---------------------------------------------------------------- start

if (!window.isSecureContext) {
  ui.banner.dataset.source = 'page';
  showBanner(t('notSecure'));
}
render();
connection.connect();
