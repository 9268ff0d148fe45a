/**
 * The live page's microphone: opened on the first Record or Start and kept open, reopened when
 * the processing setting changes, resumed from a tap after the system paused it (a call, Siri,
 * the lock screen), and described in the settings' "Microphone" line.
 */
import { toast } from './feedback.js';
import { t } from './i18n.js';
import { Microphone } from './mic.js';

/**
 * Builds the microphone and wires its controls. `onFrame` gets every 100 ms frame (PCM16 at
 * 16 kHz, linear RMS and peak); `isCapturing()` says whether losing the microphone now cuts a
 * voice or a conversation short.
 * @param {{ onFrame: (pcm: ArrayBuffer, rms: number, peak: number) => void, isCapturing: () => boolean }} opts
 */
export function createPageMic({ onFrame, isCapturing }) {
  const micInfo = document.getElementById('mic-info');
  const audioNotice = document.getElementById('audio-notice');
  const processing = /** @type {HTMLInputElement} */ (document.getElementById('processing'));

  const mic = new Microphone({
    onFrame(pcm, rms, peak) {
      // The browser tests read the position in the fake microphone's file from here.
      micInfo.dataset.capturedS = mic.capturedSeconds.toFixed(2);
      onFrame(pcm, rms, peak);
    },
    onEnded() {
      micInfo.textContent = t('micOff');
      if (isCapturing()) toast(t('micBusy'), 'error');
      audioNotice.hidden = true;
    },
    onState(state) {
      // Safari says `interrupted` for a call or Siri; any browser may suspend a hidden page's audio.
      audioNotice.hidden = state === 'running' || state === 'closed';
      document.body.dataset.audio = state;
    },
    onRebuilt(rateHz) {
      micInfo.textContent = t('micRebuilt', { rate: rateHz });
    },
  });

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

  document.getElementById('audio-resume').addEventListener('click', resumeAudio);
  document.addEventListener('pointerdown', () => {
    if (mic.isOpen && mic.state !== 'running' && mic.state !== 'closed') resumeAudio();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && mic.isOpen && mic.state !== 'running') mic.resume();
  });

  processing.addEventListener('change', () => {
    // The constraint applies when the microphone opens; reopen it at the next use.
    if (mic.isOpen && mic.processing !== processing.checked) {
      mic.close();
      micInfo.textContent = t('micOff');
    }
  });

  return {
    mic,
    /** Opens the microphone (if it is not open) with the current setting. Throws a MicError. */
    async ensure() {
      await mic.open(processing.checked);
      micInfo.textContent = t('micOn', { rate: mic.deviceRateHz });
    },
    /** Resumes a paused audio context; call it inside the tap that needs audio. */
    wake() {
      if (mic.isOpen && mic.state !== 'running') mic.resume();
    },
  };
}
