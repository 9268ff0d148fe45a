/**
 * The live page's state helper (public/page-state.js): which controls each state enables, the
 * recording countdown and the connection notice. Pure, so it runs here without a browser.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ES module of the page, no types
import * as pageState from '../public/page-state.js';

const { controls, createPageState, canStart, canStop, isCapturing, isRunning, linkNotice, phaseOf, recordingView } = pageState;

type Mode = Record<string, unknown> & { kind: string };

/** A page whose server is ready, with `registered` voices, in `mode`. */
function page(mode: Mode = { kind: 'idle' }, registered: [boolean, boolean] = [false, false], extra: Record<string, unknown> = {}) {
  const s = createPageState();
  s.link = { open: true, ready: true, models: { speaker: 'ecapa' } };
  s.mode = mode;
  s.registered = registered;
  return Object.assign(s, extra);
}

/** A ring that reports what a real AudioRing would: seconds pending and seconds lost. */
const ring = (pendingS: number, lostS = 0) => ({ pendingS, lostS });

describe('page state', () => {
  it('starts closed and idle: nothing can be recorded, picked or started until the server is ready', () => {
    const s = createPageState();
    const c = controls(s);
    expect(c.phase).toBe('connecting');
    expect(c.cards.map((card: { recordEnabled: boolean }) => card.recordEnabled)).toEqual([false, false]);
    expect(c.cards[0].pickEnabled).toBe(false);
    expect(c.cards[0].saveEnabled).toBe(false);
    expect(c.start).toEqual({ enabled: false, label: 'start', danger: false });
    expect(c.hint).toBe('startHintRegister');
    // Open but not yet ready (no model_loaded) is still not usable.
    s.link = { open: true, ready: false, models: null };
    expect(controls(s).cards[0].recordEnabled).toBe(false);
    expect(phaseOf(s)).toBe('connecting');
  });

  it('idle and ready: voices can be recorded; Start waits for both', () => {
    let c = controls(page());
    expect(c.phase).toBe('idle');
    expect(c.cards[0].recordEnabled && c.cards[1].recordEnabled).toBe(true);
    expect(c.start.enabled).toBe(false);
    c = controls(page({ kind: 'idle' }, [true, false]));
    expect(c.start.enabled).toBe(false);
    expect(c.cards[0].recordLabel).toBe('reRecord');
    expect(c.cards[0].recordPrimary).toBe(false);
    expect(c.cards[1].recordLabel).toBe('recordVoice');
    c = controls(page({ kind: 'idle' }, [true, true]));
    expect(c.start).toEqual({ enabled: true, label: 'start', danger: false });
    expect(c.hint).toBe('startHintReady');
    expect(c.languageEnabled && c.processingEnabled).toBe(true);
  });

  it('registering: every other control waits, the recorded card follows the countdown', () => {
    const opening = controls(page({ kind: 'opening', next: 'register', speaker: 1 }));
    expect(opening.phase).toBe('registering');
    expect(opening.cards[1].recordLabel).toBe('recording');
    expect(opening.cards[0].recordLabel).toBe('recordVoice');
    const s = page({ kind: 'registering', speaker: 0, samples: 0 }, [false, true]);
    const c = controls(s);
    expect(c.phase).toBe('registering');
    expect(c.cards[0].recording).toBe(true);
    expect(c.cards[1].recording).toBe(false);
    expect(c.cards[1].recordEnabled).toBe(false);
    expect(c.cards[0].pickEnabled || c.cards[1].pickEnabled).toBe(false);
    expect(c.start.enabled).toBe(false);
    expect(c.languageEnabled || c.processingEnabled).toBe(false);
    expect(isCapturing(s.mode)).toBe(true);
    expect(isRunning(s.mode)).toBe(false);
    // The server checking a voice fixes that card's name, not the other's.
    const checking = controls(page({ kind: 'checking', speaker: 1 }));
    expect(checking.cards.map((card: { nameEnabled: boolean }) => card.nameEnabled)).toEqual([true, false]);
  });

  it('counts a registration down to its target, allows Done at the minimum and completes it at the maximum', () => {
    const at = (s: number) => recordingView(s * 16000);
    expect(at(0)).toEqual({ progress: 0, status: { key: 'speakNow', params: { s: 5 } }, canFinish: false, full: false });
    expect(at(2.9).canFinish).toBe(false);
    expect(at(3).canFinish).toBe(true);
    expect(at(4.2).status).toEqual({ key: 'speakNow', params: { s: 1 } });
    expect(at(5).status).toEqual({ key: 'keepTalking', params: { max: 15 } });
    expect(at(7.5).progress).toBeCloseTo(0.5);
    expect(at(14.9).full).toBe(false);
    expect(at(15)).toMatchObject({ progress: 1, full: true });
    expect(at(20).progress).toBe(1);
  });

  it('a conversation: Stop is the one control; voices and settings wait', () => {
    const s = page({ kind: 'transcribing', confirmed: false }, [true, true]);
    const c = controls(s);
    expect(c.phase).toBe('transcribing');
    expect(c.start).toEqual({ enabled: true, label: 'stop', danger: true });
    expect(c.cards[0].recordEnabled || c.cards[1].recordEnabled).toBe(false);
    expect(c.languageEnabled || c.processingEnabled).toBe(false);
    expect(c.meterActive).toBe(true);
    expect(c.hint).toBe('listening');
    expect(canStop(s)).toBe(true);
    expect(canStart(s)).toBe(false);
    expect(controls(page({ kind: 'opening', next: 'transcribe' }, [true, true])).phase).toBe('starting');
  });

  it('a dropped conversation still runs; once its stop is queued the button rests', () => {
    // The connection is down: no voice can be chosen, yet Stop stays available.
    const s = page({ kind: 'suspended', stopWanted: false }, [true, true]);
    s.link = { open: false, ready: false, models: null };
    let c = controls(s);
    expect(c.phase).toBe('reconnecting');
    expect(c.running).toBe(true);
    expect(c.start).toEqual({ enabled: true, label: 'stop', danger: true });
    s.mode = { kind: 'suspended', stopWanted: true };
    expect(controls(s).start.enabled).toBe(false);
    s.mode = { kind: 'resuming', stopWanted: false, busyTries: 0 };
    c = controls(s);
    expect(c.phase).toBe('reconnecting');
    expect(c.start.enabled).toBe(true);
  });

  it('stopping, then the summary until the next conversation', () => {
    const stopping = controls(page({ kind: 'stopping' }, [true, true]));
    expect(stopping.phase).toBe('stopping');
    expect(stopping.start).toEqual({ enabled: false, label: 'stopping', danger: false });
    expect(stopping.hint).toBe('finishing');
    expect(stopping.meterActive).toBe(false);
    const ended = controls(page({ kind: 'idle' }, [true, true], { summary: 'Conversation ended · 4 messages' }));
    expect(ended.hint).toBe('summary');
    expect(ended.start.enabled).toBe(true);
  });

  it('saved voices: pickers show when there are some; Save voice only for a recorded, unsaved voice whose form is closed', () => {
    const none = controls(page({ kind: 'idle' }, [true, true]));
    expect(none.cards[0].pickShown).toBe(false);
    const s = page({ kind: 'idle' }, [true, true], { savedVoices: [{ id: 'v1', name: 'Ana', created_at: 0 }], fromSaved: ['v1', null] });
    let c = controls(s);
    expect(c.cards[0].pickShown && c.cards[0].pickEnabled).toBe(true);
    expect(c.cards.map((card: { saveShown: boolean }) => card.saveShown)).toEqual([false, true]);
    c = controls(s, [false, true]);
    expect(c.cards[1].saveShown).toBe(false);
    s.registered = [true, false];
    expect(controls(s).cards[1].saveShown).toBe(false);
  });

  it('the connection notice says what is kept, what was lost and what comes next', () => {
    const live = (pendingS: number, ringLostS = 0, lostS = 0) => ({ id: 'c1', language: 'en', ring: ring(pendingS, ringLostS), lostS });
    const notice = (mode: Mode, l: ReturnType<typeof live> | null) => linkNotice(page(mode, [true, true], { live: l }), 120);
    expect(notice({ kind: 'suspended', stopWanted: false }, live(7.8))).toEqual({ parts: [{ key: 'linkSuspended', params: { s: 7 } }], lost: false });
    expect(notice({ kind: 'suspended', stopWanted: true }, live(130, 10.4))).toEqual({
      parts: [
        { key: 'linkSuspendedLost', params: { max: 120, lost: 10 } },
        { key: 'stopQueued', params: {} },
      ],
      lost: true,
    });
    expect(notice({ kind: 'resuming', stopWanted: false, busyTries: 0 }, live(3)).parts).toEqual([{ key: 'linkResuming', params: {} }]);
    expect(notice({ kind: 'resuming', stopWanted: false, busyTries: 2 }, live(3)).parts).toEqual([{ key: 'resumeBusy', params: {} }]);
    expect(notice({ kind: 'transcribing', confirmed: true }, live(0, 0, 0.04))).toEqual({ parts: [], lost: false });
    expect(notice({ kind: 'transcribing', confirmed: true }, live(0, 0, 1.26))).toEqual({ parts: [{ key: 'lostSoFar', params: { lost: '1.3' } }], lost: true });
    expect(notice({ kind: 'idle' }, null)).toEqual({ parts: [], lost: false });
  });
});
