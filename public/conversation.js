/**
 * The conversation: Start and Stop (button and Escape), its audio, the live chat (segments,
 * transcriptions, partials, sentiment marks), resuming after a dropped connection, and the
 * text exports.
 *
 * During a conversation every frame goes through an `AudioRing` first, so a drop loses nothing:
 * while `suspended` (connection down) and `resuming` (waiting for the server's `resume_from`)
 * the page keeps capturing, and sends the backlog once the server says where to continue.
 */
import { AudioRing, RATE_HZ, RING_MAX_S } from './audio-ring.js';
import { micProblem, setMeter, showBanner } from './feedback.js';
import { t } from './i18n.js';
import { markSentiment } from './notes.js';
import { canStart, isRunning, linkNotice, LOST_NOTICE_S } from './page-state.js';

/**
 * A resume refused with `conversation_busy` (the server is still finishing the old connection,
 * or has not yet noticed it died: up to 2 × its 30 s heartbeat) is retried every 2 s for 90 s.
 */
const BUSY_RETRY_MS = 2000;
const BUSY_RETRIES = 45;
/** Samples in 100 ms at 16 kHz: audio a drop cost is sent as silence in pieces this long. */
const SILENCE_SAMPLES = 1600;
/** Codes that refuse a resume (the conversation is gone, or not yet free). */
const RESUME_REFUSALS = ['unknown_conversation', 'conversation_busy', 'wrong_state', 'bad_message', 'not_registered'];

const $ = (sel) => document.querySelector(sel);

/**
 * Wires the conversation panel.
 * @param {{
 *   state: import('./page-state.js').PageState,
 *   chat: import('./chat.js').ChatView,
 *   send: (msg: object) => boolean,
 *   sendAudio: (pcm: ArrayBuffer) => void,
 *   ensureMic: () => Promise<void>,
 *   wakeMic: () => void,
 *   flushMic: () => Promise<void>,
 *   wakeLock: { hold(): unknown, release(): unknown },
 *   render: () => void,
 *   toast: (text: string, kind?: string) => void,
 *   forgetVoices: (quiet?: boolean) => void,
 * }} deps
 */
export function createConversation({ state, chat, send, sendAudio, ensureMic, wakeMic, flushMic, wakeLock, render, toast, forgetVoices }) {
  const ui = {
    start: $('#start'),
    language: $('#language'),
    hint: $('#conversation-hint'),
    meter: $('#conv-meter .meter-fill'),
    linkNotice: $('#link-notice'),
    chat: $('#chat'),
  };

  /** Sends the conversation's audio from the ring's send position on (live: just the newest frame). */
  function pump() {
    if (!state.live) return;
    state.live.ring.drain((buf) => sendAudio(buf));
  }

  async function start() {
    if (!canStart(state)) return;
    state.mode = { kind: 'opening', next: 'transcribe' };
    // Still inside the tap: phones only let audio start and the screen stay on from a gesture.
    wakeMic();
    wakeLock.hold();
    render();
    try {
      await ensureMic();
    } catch (err) {
      state.mode = { kind: 'idle' };
      wakeLock.release();
      showBanner(micProblem(err), 'mic');
      render();
      return;
    }
    if (state.mode.kind !== 'opening' || !state.link.ready) {
      wakeLock.release();
      render();
      return;
    }
    const language = ui.language.value;
    send({ type: 'start_transcription', language });
    // Server time 0 is the first frame after this message: the ring counts from here too.
    state.live = { id: null, language, ring: new AudioRing(), lostS: 0 };
    state.mode = { kind: 'transcribing', confirmed: false };
    state.summary = null;
    chat.beginConversation();
    render();
  }

  async function stop() {
    const mode = state.mode;
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
    await flushMic();
    if (state.mode.kind !== 'transcribing') return;
    send({ type: 'stop_transcription' });
    state.mode = { kind: 'stopping' };
    setMeter(ui.meter, 0);
    render();
  }

  /** The conversation is over (stopped, or lost for good): free the ring and the wake lock. */
  function finish(segments) {
    state.mode = { kind: 'idle' };
    state.live = null;
    wakeLock.release();
    state.summary = segments === null ? null : t('stoppedSummary', { n: segments });
    setMeter(ui.meter, 0);
  }

  /** Asks the new connection to continue the conversation, from the last complete bubble on. */
  function sendResume() {
    const { live, mode } = state;
    if (!live || !live.id || !state.link.ready) return;
    const stopWanted = mode.kind === 'suspended' || mode.kind === 'resuming' ? mode.stopWanted : false;
    const busyTries = mode.kind === 'resuming' ? mode.busyTries : 0;
    send({
      type: 'start_transcription',
      language: live.language,
      conversation_id: live.id,
      last_segment_id: chat.lastCompleteId(),
    });
    state.mode = { kind: 'resuming', stopWanted, busyTries };
  }

  /** `transcription_started` after a resume: send the audio the server lacks, then go live. */
  function resumed(msg) {
    const live = state.live;
    const stopWanted = state.mode.stopWanted;
    const fromSample = Math.max(0, Math.round(Number(msg.resume_from || 0) * RATE_HZ));
    if (msg.resumed === false) {
      // The server began a new conversation instead: its clock and segment ids start afresh.
      live.ring = new AudioRing();
      chat.beginConversation();
    }
    const gap = msg.resumed === false ? 0 : live.ring.rewindTo(fromSample);
    // Audio the ring no longer has is sent as silence, so times after it stay right.
    const silence = new ArrayBuffer(SILENCE_SAMPLES * 2);
    for (let left = gap; left > 0; left -= SILENCE_SAMPLES) {
      sendAudio(left >= SILENCE_SAMPLES ? silence : silence.slice(0, left * 2));
    }
    state.mode = { kind: 'transcribing', confirmed: true };
    pump();
    const lostS = gap / RATE_HZ;
    live.lostS += lostS;
    document.body.dataset.resumed = String(Number(document.body.dataset.resumed || 0) + 1);
    const lost = lostS >= LOST_NOTICE_S;
    toast(lost ? t('resumedLost', { lost: lostS.toFixed(1) }) : t('resumed'), lost ? 'warn' : 'info');
    if (stopWanted) stop();
  }

  function resumeRefused(msg) {
    const mode = state.mode;
    if (msg.code === 'conversation_busy' && mode.busyTries < BUSY_RETRIES) {
      mode.busyTries++;
      renderLinkNotice();
      setTimeout(() => {
        if (state.mode.kind === 'resuming' && state.link.ready) sendResume();
      }, BUSY_RETRY_MS);
      return;
    }
    toast(t('resumeFailed', { reason: msg.code }), 'error');
    finish(null);
    forgetVoices(true);
  }

  /** The line under the toolbar while the connection is down: how much audio is kept, what was lost. */
  function renderLinkNotice() {
    const notice = linkNotice(state, RING_MAX_S);
    const text = notice.parts.map((p) => t(p.key, p.params)).join(' ');
    if (ui.linkNotice.textContent !== text) ui.linkNotice.textContent = text;
    ui.linkNotice.hidden = text === '';
    ui.linkNotice.dataset.lost = notice.lost ? 'true' : 'false';
  }

  ui.start.addEventListener('click', () => {
    if (ui.start.getAttribute('aria-disabled') === 'true') return;
    if (isRunning(state.mode)) stop();
    else start();
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && document.body.dataset.view === 'live' && isRunning(state.mode)) {
      ev.preventDefault();
      stop();
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

  return {
    /** A microphone frame during a conversation: into the ring, and out when connected. */
    onFrame(pcm, rms, peak) {
      if (!state.live || !isRunning(state.mode)) return;
      state.live.ring.push(pcm);
      if (state.mode.kind === 'transcribing') pump();
      else renderLinkNotice();
      setMeter(ui.meter, rms, peak);
    },

    /** The server is ready (again): a conversation cut off by a drop asks to continue. */
    onReady() {
      if (state.mode.kind === 'suspended') sendResume();
    },

    /**
     * The connection closed. A conversation the server knows by id is kept (the server keeps it,
     * and both voices, for a while): capturing goes on and it resumes on the next connection;
     * true then. Otherwise it ends here (the server stores what it has) and the answer is false.
     */
    onClose() {
      const mode = state.mode;
      if (state.live && state.live.id && isRunning(mode)) {
        state.mode = { kind: 'suspended', stopWanted: mode.kind === 'transcribing' ? false : mode.stopWanted };
        render();
        return true;
      }
      if (state.live) finish(null);
      return false;
    },

    /** Handles the conversation's messages; false for any other message. */
    handle(msg) {
      switch (msg.type) {
        case 'transcription_started':
          if (state.live && typeof msg.conversation_id === 'string') state.live.id = msg.conversation_id;
          if (state.mode.kind === 'transcribing') state.mode.confirmed = true;
          else if (state.mode.kind === 'resuming') resumed(msg);
          return true;
        case 'segment':
          chat.addSegment(msg);
          return true;
        case 'transcription':
          chat.addTranscription(msg);
          return true;
        case 'sentiment':
          markSentiment(ui.chat, msg);
          return true;
        case 'partial':
          chat.addPartial(msg);
          return true;
        case 'transcription_stopped':
          if (state.mode.kind === 'stopping' || state.mode.kind === 'transcribing') finish(msg.segments);
          return true;
        default:
          return false;
      }
    },

    /** A server `error` that refuses a resume is handled here (true); anything else is not. */
    refusesResume(msg) {
      if (state.mode.kind !== 'resuming' || !RESUME_REFUSALS.includes(msg.code)) return false;
      resumeRefused(msg);
      return true;
    },

    /** After a server `error` (already shown): a refused start, or a conversation too long. */
    afterError(msg) {
      const mode = state.mode;
      if (['wrong_state', 'not_registered', 'bad_message'].includes(msg.code) && mode.kind === 'transcribing' && !mode.confirmed) {
        // A refused start leaves the page where it was before it.
        state.mode = { kind: 'idle' };
        state.live = null;
        wakeLock.release();
      }
      if (msg.code === 'conversation_too_long' && state.mode.kind === 'transcribing') stop();
    },

    /** Draws Start/Stop, the language, the hint, the meter and the link notice as `c` says. */
    render(c) {
      ui.start.textContent = t(c.start.label);
      ui.start.classList.toggle('danger', c.start.danger);
      ui.start.classList.toggle('primary', !c.start.danger);
      ui.start.setAttribute('aria-disabled', String(!c.start.enabled));
      ui.language.disabled = !c.languageEnabled;
      ui.meter.parentElement.classList.toggle('active', c.meterActive);
      ui.hint.textContent = c.hint === 'summary' ? state.summary : t(c.hint);
      renderLinkNotice();
    },
  };
}
