/**
 * The speech front's numbers, as they ship: one table. The server's settings (src/config.ts)
 * take their defaults from here, and every stage (gates, room levels, segmenter, change watch)
 * falls back to these same values for an option it is not given, so the front a test builds
 * with no options is the front a user runs. The first design's values, which some tests are
 * written against, live in those tests (src/testing/front-original.ts), not here.
 *
 * Units are in the names: dBFS (level against full scale), dB (a difference of levels), dB²
 * (the spectral variance of gates.ts), ms, s, a probability in [0, 1], a percentile in
 * [0, 100].
 */
export const FRONT_DEFAULTS = {
  // ── Frame gates (gates.ts) ─────────────────────────────────────────────────────────────
  /** Absolute floor: quieter frames are digital silence (RMS_GATE_DBFS). */
  silenceFloorDbfs: -80,
  /** A frame must be this far above the tracked noise floor (NOISE_MARGIN_DB). */
  noiseMarginDb: 5,
  /** Frames this far below the tracked speech level are far voices; 0 = off (FAR_BELOW_SPEECH_DB). */
  farBelowSpeechDb: 0,
  /** Frames flatter than this are broadband noise (VARIANCE_GATE). */
  varianceGateDb2: 8,
  /** VAD probability from which a passed frame updates the gates' speech level. */
  confidentProbability: 0.9,
  /** The noise floor is the quietest frame of this much recent audio. */
  noiseFloorWindowMs: 3000,
  /** Time constant of the gates' speech-level tracker. */
  speechLevelTimeS: 3,

  // ── Voice activity (Silero's probability) ──────────────────────────────────────────────
  /** Probability that opens a segment (VAD_THRESHOLD). */
  threshold: 0.5,
  /** Probability that keeps an open segment's frames speech (VAD_NEGATIVE_THRESHOLD). */
  negativeThreshold: 0.06,

  // ── Segment timing (segmenter.ts) ──────────────────────────────────────────────────────
  /** Non-speech after the last speech frame that closes a segment (SILENCE_MS). */
  silenceMs: 500,
  /** Longest segment (MAX_SEGMENT_MS). */
  maxSegmentMs: 7000,
  /** End window of a too-long segment searched for the quietest cut point. */
  cutSearchMs: 500,
  /** The last stretch before the limit in which a pause cuts at once. */
  earlyCutWindowMs: 1000,
  /** A pause this long inside that stretch cuts there. */
  earlyCutPauseMs: 96,
  /** Frames before an opening frame that may join it by the backward hysteresis. */
  onsetLookBackMs: 300,
  /** Energy onset: how far the start may move back over loud-enough frames; 0 = off (ONSET_ENERGY_MS). */
  onsetEnergyMs: 300,
  /** Level over the room's floor that an energy-onset frame needs (ONSET_ABOVE_FLOOR_DB). */
  onsetAboveFloorDb: 8,
  /** Audio kept before the first speech frame (PRE_ROLL_MS). */
  preRollMs: 200,
  /** Audio kept after the last speech frame. */
  tailMs: 100,
  /** Segments with less speech are dropped (MIN_SPEECH_MS). */
  minSpeechMs: 96,

  // ── Room levels (the segment and conversation level rules) ─────────────────────────────
  /** A speech frame this far below the open segment's reference level does not extend it; 0 = off (QUIET_BELOW_SEGMENT_DB). */
  quietBelowSegmentDb: 25,
  /** Decay of that reference level while the speech is quieter. */
  quietReleaseDbPerS: 10,
  /** Window of the smoothed level the segment rule judges. */
  levelSmoothingMs: 320,
  /** Noisy-room rule: a frame this far below the conversation's speech level (and near the floor) is babble; 0 = off (QUIET_BELOW_CONVERSATION_DB). */
  quietBelowConversationDb: 12,
  /** The floor condition of that rule, dB over the floor; 0 = none (CONVERSATION_FLOOR_MARGIN_DB). */
  conversationFloorMarginDb: 7,
  /** Speech over floor under which a room is noisy and the floor margin widens; 0 = off (NOISY_ROOM_SNR_DB). */
  noisyRoomSnrDb: 32,
  /** Widening of the floor margin per dB under `noisyRoomSnrDb`. */
  noisyRoomMarginPerDb: 2,
  /** Confident speech heard before the noisy-room widening acts. */
  noisyRoomMinSpeechMs: 10_000,
  /** Percentile of all recent frames' smoothed levels that is the room's floor. */
  conversationFloorPercentile: 2,
  /** Window of the smoothed level the conversation rule judges. */
  conversationSmoothingMs: 320,
  /** History of the conversation's levels. */
  conversationWindowMs: 30_000,
  /** Percentile of the confident frames' levels that is the conversation's speech level. */
  conversationPercentile: 90,
  /** Confident speech heard before the conversation rule acts. */
  conversationMinSpeechMs: 2000,

  // ── Speaker-change watch (change-watcher.ts), the embedding watch ──────────────────────
  /** Window scored, ending at the newest audio (CHANGE_WATCH_WINDOW_MS). */
  watchWindowMs: 1000,
  /** Audio between two scorings (CHANGE_WATCH_HOP_MS). */
  watchHopMs: 250,
  /** Similarity margin that makes a window decisive (CHANGE_WATCH_MARGIN). */
  watchMargin: 0.3,
  /** Decisive windows of the other voice that confirm a change (CHANGE_WATCH_CONFIRM). */
  watchConfirm: 3,
  /** No part shorter than this is cut off. */
  watchMinPartMs: 600,
  /** Half-width of the window in which a watch cut looks for the quietest frame. */
  watchCutRadiusMs: 160,

  // ── The frame-model watch (CHANGE_WATCH_FRAMES) ────────────────────────────────────────
  /** Its window (CHANGE_WATCH_FRAMES_WINDOW_MS). */
  frameWatchWindowMs: 400,
  /** Its hop (CHANGE_WATCH_FRAMES_HOP_MS). */
  frameWatchHopMs: 100,
  /** Its margin, mean log-likelihood ratio per frame in nats (CHANGE_WATCH_FRAMES_MARGIN). */
  frameWatchMargin: 0.3,
  /** Its confirmations (CHANGE_WATCH_FRAMES_CONFIRM). */
  frameWatchConfirm: 4,
} as const;
