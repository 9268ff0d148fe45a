import { describe, expect, it } from 'vitest';
import { partialShedReason } from './partial-policy.js';
import type { QueueLoad } from './queue.js';

const limits = { maxBusy: 0.5, maxRtf: 0.5 };
const idle: QueueLoad = { finalsWaiting: 0, finalBusyShare: 0, partialBusyShare: 0, finalRtf: null, device: 'cpu' };

describe('partialShedReason', () => {
  it('off never, on whenever no final waits', () => {
    expect(partialShedReason('off', idle, limits)).toBe('off');
    expect(partialShedReason('on', { ...idle, finalBusyShare: 1, finalRtf: 3 }, limits)).toBeNull();
    expect(partialShedReason('on', { ...idle, finalsWaiting: 1 }, limits)).toBe('finals_waiting');
  });

  it('auto: on with headroom, shed when finals are slow or keep the engine busy', () => {
    expect(partialShedReason('auto', idle, limits)).toBeNull();
    expect(partialShedReason('auto', { ...idle, finalRtf: 0.2, finalBusyShare: 0.3 }, limits)).toBeNull();
    expect(partialShedReason('auto', { ...idle, finalRtf: 0.8 }, limits)).toBe('slow');
    expect(partialShedReason('auto', { ...idle, finalRtf: 0.2, finalBusyShare: 0.6 }, limits)).toBe('busy');
    expect(partialShedReason('auto', { ...idle, finalsWaiting: 2 }, limits)).toBe('finals_waiting');
  });

  it('auto trusts a GPU without measuring, but never starts a partial while a final waits', () => {
    const gpu = { ...idle, device: 'cuda', finalRtf: 0.9, finalBusyShare: 0.9 };
    expect(partialShedReason('auto', gpu, limits)).toBeNull();
    expect(partialShedReason('auto', { ...gpu, finalsWaiting: 1 }, limits)).toBe('finals_waiting');
  });
});
