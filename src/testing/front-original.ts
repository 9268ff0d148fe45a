/**
 * The speech front's first design, for the tests written against it: their expectations
 * (onsets, cut points, which frames count as speech) were worked out with these numbers, most
 * of the later rules off. What ships is FRONT_DEFAULTS (src/front/defaults.ts); a test that
 * means the shipped front passes no options.
 */
import type { ChangeWatchOptions } from '../front/change-watcher.js';
import type { SpeechFrontOptions } from '../front/front.js';

/** Segmenter and gate options of the first design. */
export const ORIGINAL_FRONT = {
  negativeThreshold: 0.1,
  onsetEnergyMs: 0,
  onsetAboveFloorDb: 10,
  quietBelowSegmentDb: 0,
  levelSmoothingMs: 160,
  quietBelowConversationDb: 0,
  conversationFloorMarginDb: 0,
  conversationFloorPercentile: 10,
  noisyRoomSnrDb: 0,
} as const satisfies SpeechFrontOptions;

/** The change watch of the first design. */
export const ORIGINAL_WATCH = { marginMin: 0.05, confirmWindows: 2 } as const satisfies ChangeWatchOptions;
