/**
 * The two voice cards: names (kept in this browser), recording a voice and sending it to the
 * server, and the server's verdict. Saved voices (picking one instead of recording, saving a
 * recorded one) are saved-voices.js; both change the shared page state.
 */
import { hideBanner, micProblem, setMeter, showBanner } from './feedback.js';
import { t } from './i18n.js';
import { canChooseVoice, NAME_MAX_CHARS, recordingView } from './page-state.js';

const NAMES_KEY = 'duet.names';

const $ = (sel, root = document) => root.querySelector(sel);

/** The elements of voice card `id` (`#voice-0`, `#voice-1`). */
function findCard(id) {
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
}

/** Names typed on an earlier visit; anything unreadable counts as none. */
function loadNames() {
  try {
    const saved = JSON.parse(localStorage.getItem(NAMES_KEY) || '[]');
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

/**
 * Wires the voice cards.
 * @param {{
 *   state: import('./page-state.js').PageState,
 *   send: (msg: object) => boolean,
 *   sendAudio: (pcm: ArrayBuffer) => void,
 *   ensureMic: () => Promise<void>,
 *   wakeMic: () => void,
 *   render: () => void,
 *   toast: (text: string, kind?: string) => void,
 *   onNamesChanged: () => void,
 *   reloadSavedVoices: () => void,
 * }} deps
 */
export function createRegistration({ state, send, sendAudio, ensureMic, wakeMic, render, toast, onNamesChanged, reloadSavedVoices }) {
  const cards = [0, 1].map(findCard);

  const savedNames = loadNames();
  cards.forEach((card, id) => {
    const fallback = t('speakerDefault', { n: id + 1 });
    card.name.value = typeof savedNames[id] === 'string' && savedNames[id].trim() ? savedNames[id].slice(0, NAME_MAX_CHARS) : fallback;
    card.name.placeholder = fallback;
    card.name.setAttribute('aria-label', `${t('nameLabel')} — ${fallback}`);
    card.name.addEventListener('input', () => {
      try {
        localStorage.setItem(NAMES_KEY, JSON.stringify(cards.map((c) => c.name.value.slice(0, NAME_MAX_CHARS))));
      } catch {
        // Names are a convenience; without storage they last for this page view.
      }
      onNamesChanged();
    });
  });

  /** Display name of a speaker (the card's field, or "Speaker N" when blank). */
  function nameOf(id) {
    const v = cards[id].name.value.trim().slice(0, NAME_MAX_CHARS);
    return v || t('speakerDefault', { n: id + 1 });
  }

  /** Puts a name in card `id` as if typed (kept, and the chat follows). */
  function setName(id, name) {
    cards[id].name.value = name.slice(0, NAME_MAX_CHARS);
    cards[id].name.dispatchEvent(new Event('input'));
  }

  async function start(id) {
    if (!canChooseVoice(state)) return;
    state.mode = { kind: 'opening', next: 'register', speaker: id };
    wakeMic();
    render();
    try {
      await ensureMic();
      hideBanner('mic');
    } catch (err) {
      state.mode = { kind: 'idle' };
      showBanner(micProblem(err), 'mic');
      cards[id].status.textContent = micProblem(err);
      render();
      return;
    }
    if (state.mode.kind !== 'opening' || !state.link.ready) {
      render();
      return;
    }
    // The placeholder name says nothing the server does not know already.
    const typed = cards[id].name.value.trim().slice(0, NAME_MAX_CHARS);
    const name = typed === t('speakerDefault', { n: id + 1 }) ? '' : typed;
    send(name ? { type: 'start_speaker_registration', speaker_id: id, name } : { type: 'start_speaker_registration', speaker_id: id });
    state.registered[id] = false;
    state.mode = { kind: 'registering', speaker: id, samples: 0 };
    cards[id].root.dataset.state = 'recording';
    renderRecording();
    render();
  }

  function complete() {
    const mode = state.mode;
    if (mode.kind !== 'registering') return;
    const id = mode.speaker;
    send({ type: 'complete_speaker_registration', speaker_id: id });
    state.mode = { kind: 'checking', speaker: id };
    const card = cards[id];
    card.root.dataset.state = 'checking';
    card.status.textContent = t('checking');
    setMeter(card.meter, 0);
    render();
  }

  /** Countdown text, progress bar and Done button of the card being recorded. */
  function renderRecording() {
    const mode = state.mode;
    if (mode.kind !== 'registering') return;
    const card = cards[mode.speaker];
    const view = recordingView(mode.samples);
    card.progress.style.transform = `scaleX(${view.progress.toFixed(3)})`;
    const text = t(view.status.key, view.status.params);
    if (card.status.textContent !== text) card.status.textContent = text;
    const label = view.canFinish ? t('done') : t('recording');
    if (card.button.textContent !== label) card.button.textContent = label;
    card.button.setAttribute('aria-disabled', String(!view.canFinish));
  }

  cards.forEach((card, id) => {
    card.button.addEventListener('click', () => {
      if (card.button.getAttribute('aria-disabled') === 'true') return;
      const mode = state.mode;
      if (mode.kind === 'registering' && mode.speaker === id) {
        if (recordingView(mode.samples).canFinish) complete();
        return;
      }
      start(id);
    });
  });

  return {
    cards,
    nameOf,
    setName,

    /** A microphone frame while a voice is being recorded: it goes to the server. */
    onFrame(pcm, rms, peak) {
      const mode = state.mode;
      if (mode.kind !== 'registering') return;
      sendAudio(pcm);
      mode.samples += pcm.byteLength / 2;
      setMeter(cards[mode.speaker].meter, rms, peak);
      renderRecording();
      if (recordingView(mode.samples).full) complete();
    },

    /** Handles the server's registration messages; false for any other message. */
    handle(msg) {
      switch (msg.type) {
        case 'speaker_registration_started':
          return true;
        case 'speaker_registration_completed': {
          const id = msg.speaker_id;
          state.registered[id] = true;
          state.fromSaved[id] = typeof msg.voice_id === 'string' ? msg.voice_id : null;
          const card = cards[id];
          card.root.dataset.state = 'registered';
          if (state.fromSaved[id]) {
            if (typeof msg.name === 'string' && msg.name.trim()) setName(id, msg.name);
            card.status.textContent = t('registeredSaved', { name: nameOf(id) });
          } else {
            card.status.textContent = t('registered', { s: Number(msg.speech_seconds).toFixed(1) });
          }
          card.select.value = '';
          if (state.mode.kind === 'checking' && state.mode.speaker === id) state.mode = { kind: 'idle' };
          return true;
        }
        case 'speaker_registration_failed': {
          const id = msg.speaker_id;
          state.registered[id] = false;
          state.fromSaved[id] = null;
          const card = cards[id];
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
          if (msg.reason === 'unknown_voice') reloadSavedVoices();
          if (state.mode.kind === 'checking' && state.mode.speaker === id) state.mode = { kind: 'idle' };
          return true;
        }
        default:
          return false;
      }
    },

    /** After a server `error` (already shown): a refused registration, or one that ran too long. */
    afterError(msg) {
      const mode = state.mode;
      if (['wrong_state', 'not_registered', 'bad_message'].includes(msg.code) && (mode.kind === 'checking' || mode.kind === 'registering')) {
        // A refused registration leaves the card as it was before it.
        const card = cards[mode.speaker];
        card.root.dataset.state = state.registered[mode.speaker] ? 'registered' : 'empty';
        card.status.textContent = t('failedOther', { message: msg.message || msg.code });
        state.mode = { kind: 'idle' };
      }
      if (msg.code === 'registration_too_long' && state.mode.kind === 'registering') complete();
    },

    /** A new connection is a new server session: it knows no voices and no conversation. */
    forget(quiet = false) {
      const hadVoices = state.registered.some(Boolean);
      state.registered[0] = state.registered[1] = false;
      state.fromSaved[0] = state.fromSaved[1] = null;
      const was = state.mode.kind;
      state.mode = { kind: 'idle' };
      cards.forEach((card) => {
        card.root.dataset.state = 'empty';
        card.status.textContent = t('notRegistered');
        card.saveForm.hidden = true;
      });
      if (!quiet && (hadVoices || was !== 'idle')) toast(t('connectionReset'), 'warn');
      render();
    },

    /** Draws the cards' record buttons and names as `c` (from `controls()`) says. */
    render(c) {
      cards.forEach((card, id) => {
        const view = c.cards[id];
        if (view.recording) return renderRecording();
        card.button.textContent = t(view.recordLabel);
        card.button.setAttribute('aria-disabled', String(!view.recordEnabled));
        card.button.classList.toggle('primary', view.recordPrimary);
        if (card.root.dataset.state !== 'recording') card.progress.style.transform = 'scaleX(0)';
        card.name.disabled = !view.nameEnabled;
      });
    },
  };
}
