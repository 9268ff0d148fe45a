/**
 * When interim text may be asked for — pure. PARTIALS=`off` never, `on` whenever no final
 * waits, `auto` whenever no final waits and the engine has headroom: it runs on a GPU, or the
 * recent finals both ran fast enough (engine seconds per audio second at most `maxRtf`, so a
 * partial of the open segment comes back before the next is due) and left the engine idle
 * enough (busy with finals at most `maxBusy` of the last 10 s). Under load `auto` sheds them;
 * they come back by themselves when the load falls.
 */
import type { QueueLoad } from './queue.js';

export type PartialsMode = 'auto' | 'on' | 'off';

export interface AutoLimits {
  /** Largest share of the engine's time spent on finals, in [0, 1]. */
  maxBusy: number;
  /** Largest engine seconds per audio second of recent finals. */
  maxRtf: number;
}

/** Why a partial is not asked for now, or null when it may be. */
export type ShedReason = 'off' | 'finals_waiting' | 'busy' | 'slow';

/** Null when a partial may be offered now; else why not. */
export function partialShedReason(mode: PartialsMode, load: QueueLoad, limits: AutoLimits): ShedReason | null {
  if (mode === 'off') return 'off';
  if (load.finalsWaiting > 0) return 'finals_waiting';
  if (mode === 'on') return null;
  if (load.device !== undefined && load.device !== 'cpu') return null;
  if (load.finalRtf !== null && load.finalRtf > limits.maxRtf) return 'slow';
  if (load.finalBusyShare > limits.maxBusy) return 'busy';
  return null;
}
