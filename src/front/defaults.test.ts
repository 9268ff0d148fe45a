import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { floatToPcm16 } from '../audio/wav.js';
import { FakeVad } from '../testing/fake-vad.js';
import { concat, mix, silence, tone, whiteNoise } from '../testing/signals.js';
import { FRONT_DEFAULTS } from './defaults.js';
import { SpeechFront, speechFrontOptionsFromConfig } from './front.js';

describe('one table of defaults', () => {
  it('the server settings default to the table', () => {
    const c = loadConfig();
    const F = FRONT_DEFAULTS;
    expect([c.RMS_GATE_DBFS, c.VARIANCE_GATE, c.NOISE_MARGIN_DB, c.FAR_BELOW_SPEECH_DB]).toEqual([F.silenceFloorDbfs, F.varianceGateDb2, F.noiseMarginDb, F.farBelowSpeechDb]);
    expect([c.QUIET_BELOW_SEGMENT_DB, c.QUIET_BELOW_CONVERSATION_DB, c.CONVERSATION_FLOOR_MARGIN_DB, c.NOISY_ROOM_SNR_DB]).toEqual([
      F.quietBelowSegmentDb,
      F.quietBelowConversationDb,
      F.conversationFloorMarginDb,
      F.noisyRoomSnrDb,
    ]);
    expect([c.VAD_THRESHOLD, c.VAD_NEGATIVE_THRESHOLD, c.SILENCE_MS, c.MAX_SEGMENT_MS, c.PRE_ROLL_MS, c.ONSET_ENERGY_MS, c.ONSET_ABOVE_FLOOR_DB, c.MIN_SPEECH_MS]).toEqual([
      F.threshold,
      F.negativeThreshold,
      F.silenceMs,
      F.maxSegmentMs,
      F.preRollMs,
      F.onsetEnergyMs,
      F.onsetAboveFloorDb,
      F.minSpeechMs,
    ]);
    expect([c.CHANGE_WATCH_WINDOW_MS, c.CHANGE_WATCH_HOP_MS, c.CHANGE_WATCH_MARGIN, c.CHANGE_WATCH_CONFIRM]).toEqual([F.watchWindowMs, F.watchHopMs, F.watchMargin, F.watchConfirm]);
    expect([c.CHANGE_WATCH_FRAMES_WINDOW_MS, c.CHANGE_WATCH_FRAMES_HOP_MS, c.CHANGE_WATCH_FRAMES_MARGIN, c.CHANGE_WATCH_FRAMES_CONFIRM]).toEqual([
      F.frameWatchWindowMs,
      F.frameWatchHopMs,
      F.frameWatchMargin,
      F.frameWatchConfirm,
    ]);
  });

  it('a front built with no options is the front the server runs', async () => {
    // Soft lead-ins, a noise bed and a quiet second voice exercise the onset, floor and level rules.
    const x = mix(
      concat(silence(1), tone({ durationS: 0.3, dbfs: -50 }), tone({ durationS: 2 }), silence(0.4), tone({ durationS: 1.5, dbfs: -30, frequencyHz: 220 }), silence(1.2), tone({ durationS: 8 }), silence(1)),
      whiteNoise({ durationS: 15.4, dbfs: -70, seed: 5 }),
    );
    const run = async (front: SpeechFront) => {
      const pcm = floatToPcm16(x);
      const events = [...(await front.push(pcm)), ...(await front.flush())];
      return events.map((e) => (e.kind === 'segment' ? { ...e, audio: e.audio.length } : e));
    };
    const plain = await run(new SpeechFront(new FakeVad().createStream()));
    const shipped = await run(new SpeechFront(new FakeVad().createStream(), speechFrontOptionsFromConfig(loadConfig())));
    expect(plain.filter((e) => e.kind === 'segment').length).toBeGreaterThanOrEqual(2);
    expect(plain).toEqual(shipped);
  });
});
