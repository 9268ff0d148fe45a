/**
 * What the live page is doing, in one object, and the one helper every control reads.
 *
 * Pure: no DOM, no strings (texts are i18n keys), so it runs under node for tests. The modules
 * that draw the page (registration.js, saved-voices.js, conversation.js) change the state and
 * then draw what `controls()` says; none of them decides on its own when a control is enabled.
 */

/** Registration length bounds (seconds of audio sent): Done appears at MIN, auto-complete at MAX. */
export const ENROLL_MIN_S = 3;
export const ENROLL_TARGET_S = 5;
export const ENROLL_MAX_S = 15;
/** Longest speaker name the page keeps or sends (characters); the server's bound too. */
export const NAME_MAX_CHARS = 40;
/** Samples per second of the audio the page sends (PCM16 mono). */
const SAMPLE_RATE_HZ = 16000;
/** Audio lost to drops below this (seconds) is not worth a word. */
export const LOST_NOTICE_S = 0.05;

/**
 * @typedef {{ kind: 'idle' }
 *  | { kind: 'opening', next: 'register' | 'transcribe', speaker?: 0 | 1 }
 *  | { kind: 'registering', speaker: 0 | 1, samples: number }
 *  | { kind: 'checking', speaker: 0 | 1 }
 *  | { kind: 'transcribing', confirmed: boolean, flushing?: boolean }
 *  | { kind: 'suspended', stopWanted: boolean }
 *  | { kind: 'resuming', stopWanted: boolean, busyTries: number }
 *  | { kind: 'stopping' }} Mode
 *
 * What the page is doing. Audio frames go to the server only in `registering` and
 * `transcribing`; in `suspended` (connection down) and `resuming` (waiting for the server's
 * `resume_from`) a conversation keeps capturing into its ring.
 */

/**
 * @typedef {{
 *   mode: Mode,
 *   link: { open: boolean, ready: boolean, models: any },
 *   registered: [boolean, boolean],
 *   fromSaved: [string | null, string | null],
 *   live: { id: string | null, language: string, ring: any, lostS: number } | null,
 *   savedVoices: Array<{ id: string, name: string, created_at: unknown, encoder?: string }>,
 *   summary: string | null,
 * }} PageState
 *
 * `link`: the connection as the page sees it (`ready` once the server sent `model_loaded`).
 * `registered` / `fromSaved`: per voice card, whether the server holds its voice, and the
 * saved voice's id when it came from one. `live`: the running conversation (from Start until
 * it ends): its server id once `transcription_started` told it, its language, the audio not yet
 * known to be on the server, and the seconds that drops cost. `savedVoices`: from
 * `/api/voices`. `summary`: the line shown after a conversation ended, until the next starts.
 */

/** A fresh page: connection closed, no voices, nothing running. @returns {PageState} */
export function createPageState() {
  return {
    mode: { kind: 'idle' },
    link: { open: false, ready: false, models: null },
    registered: [false, false],
    fromSaved: [null, null],
    live: null,
    savedVoices: [],
    summary: null,
  };
}

/** A conversation is under way (connected or not): Stop and Escape end it. @param {Mode} mode */
export function isRunning(mode) {
  return mode.kind === 'transcribing' || mode.kind === 'suspended' || mode.kind === 'resuming';
}

/** The microphone's frames are wanted (a voice or a conversation): losing it is worth a word. @param {Mode} mode */
export function isCapturing(mode) {
  return mode.kind === 'registering' || isRunning(mode);
}

/** The connection is up and the server has said it is ready. @param {PageState} s */
function usable(s) {
  return s.link.open && s.link.ready;
}

/** A voice can be recorded or picked from the saved ones now. @param {PageState} s */
export function canChooseVoice(s) {
  return usable(s) && s.mode.kind === 'idle';
}

/** Start is possible: both voices registered, nothing else going on. @param {PageState} s */
export function canStart(s) {
  return canChooseVoice(s) && s.registered[0] && s.registered[1];
}

/** Stop is possible: a conversation runs and its stop is not already queued for after a drop. @param {PageState} s */
export function canStop(s) {
  const queued = (s.mode.kind === 'suspended' || s.mode.kind === 'resuming') && s.mode.stopWanted;
  return isRunning(s.mode) && !queued;
}

/**
 * One word for what the page is doing, for people and style sheets (`body[data-phase]`):
 * `connecting` (no ready connection, nothing running), `idle`, `registering` (opening the
 * microphone for a voice, recording it, or waiting for the server's verdict), `starting`,
 * `transcribing`, `reconnecting` (a conversation whose connection dropped) or `stopping`.
 * @param {PageState} s
 */
export function phaseOf(s) {
  switch (s.mode.kind) {
    case 'idle':
      return usable(s) ? 'idle' : 'connecting';
    case 'opening':
      return s.mode.next === 'transcribe' ? 'starting' : 'registering';
    case 'registering':
    case 'checking':
      return 'registering';
    case 'transcribing':
      return 'transcribing';
    case 'suspended':
    case 'resuming':
      return 'reconnecting';
    case 'stopping':
      return 'stopping';
    default:
      return 'idle';
  }
}

/**
 * Every control of the live page in the state `s` calls for: which are enabled or shown, and
 * which i18n key labels them. `saveFormOpen` says per card whether its "Save as" form is open
 * (the Save voice button hides meanwhile).
 * @param {PageState} s
 * @param {[boolean, boolean]} [saveFormOpen]
 */
export function controls(s, saveFormOpen = [false, false]) {
  const { mode, registered, fromSaved } = s;
  const running = isRunning(mode);
  const chooseVoice = canChooseVoice(s);
  const both = registered[0] && registered[1];
  const cards = [0, 1].map((id) => {
    const recording = mode.kind === 'registering' && mode.speaker === id;
    const opening = mode.kind === 'opening' && mode.speaker === id;
    return {
      /** This card is being recorded: its button and status follow `recordingView()`. */
      recording,
      recordEnabled: chooseVoice,
      recordLabel: opening ? 'recording' : registered[id] ? 'reRecord' : 'recordVoice',
      recordPrimary: !registered[id],
      /** The name is fixed while the server checks this card's voice. */
      nameEnabled: !(mode.kind === 'checking' && mode.speaker === id),
      pickShown: s.savedVoices.length > 0,
      pickEnabled: chooseVoice,
      saveShown: registered[id] && !fromSaved[id] && !saveFormOpen[id],
      saveEnabled: usable(s),
    };
  });
  return {
    phase: phaseOf(s),
    running,
    cards,
    start: {
      enabled: canStart(s) || canStop(s),
      label: running ? 'stop' : mode.kind === 'stopping' ? 'stopping' : 'start',
      /** Red while a conversation runs (the button stops it). */
      danger: running,
    },
    languageEnabled: mode.kind === 'idle',
    processingEnabled: mode.kind === 'idle',
    meterActive: running,
    /** The line under the toolbar; `summary` means `s.summary`. */
    hint: running ? 'listening' : mode.kind === 'stopping' ? 'finishing' : s.summary ? 'summary' : both ? 'startHintReady' : 'startHintRegister',
  };
}

/**
 * The card being recorded: progress (0..1 of the longest registration), its status line and
 * whether Done may be pressed yet.
 * @param {number} samples audio sent so far, in samples at 16 kHz
 */
export function recordingView(samples) {
  const elapsedS = samples / SAMPLE_RATE_HZ;
  return {
    progress: Math.min(1, elapsedS / ENROLL_MAX_S),
    status:
      elapsedS < ENROLL_TARGET_S
        ? { key: 'speakNow', params: { s: Math.ceil(ENROLL_TARGET_S - elapsedS) } }
        : { key: 'keepTalking', params: { max: ENROLL_MAX_S } },
    canFinish: elapsedS >= ENROLL_MIN_S,
    /** The longest registration is reached: the page completes it by itself. */
    full: elapsedS >= ENROLL_MAX_S,
  };
}

/**
 * The notice under the toolbar about the connection during a conversation: how much audio is
 * kept while it is down, what drops have cost. `parts` are i18n keys joined by a space; none
 * means the notice hides. `lost` marks it as a loss.
 * @param {PageState} s
 * @param {number} ringMaxS the most audio the ring keeps, in seconds
 * @returns {{ parts: Array<{ key: string, params: Record<string, unknown> }>, lost: boolean }}
 */
export function linkNotice(s, ringMaxS) {
  const { mode, live } = s;
  const parts = [];
  if (mode.kind === 'suspended' && live) {
    const lostS = live.ring.lostS;
    parts.push(
      lostS > 0
        ? { key: 'linkSuspendedLost', params: { max: ringMaxS, lost: Math.round(lostS) } }
        : { key: 'linkSuspended', params: { s: Math.floor(live.ring.pendingS) } },
    );
    if (mode.stopWanted) parts.push({ key: 'stopQueued', params: {} });
  } else if (mode.kind === 'resuming') {
    parts.push({ key: mode.busyTries > 0 ? 'resumeBusy' : 'linkResuming', params: {} });
  } else if (mode.kind === 'transcribing' && live && live.lostS >= LOST_NOTICE_S) {
    parts.push({ key: 'lostSoFar', params: { lost: live.lostS.toFixed(1) } });
  }
  return { parts, lost: Boolean(live && (live.ring.lostS > 0 || live.lostS >= LOST_NOTICE_S)) };
}
