/**
 * Shared by the latency and load benchmarks: one simulated client that enrolls both voices and
 * streams a conversation at real-time pace, measuring when each `segment` arrives relative to
 * the moment the audio at its `end` was sent.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ProtocolClient } from '../../../src/testing/client.js';
import type { Conversation } from '../../../src/testing/corpus.js';

export interface RealtimeResult {
  /** Seconds from sending the audio at a segment's `end` to receiving the segment. */
  segmentLatencyS: number[];
  /** Same for the segment's transcription. */
  transcriptionLatencyS: number[];
  segments: number;
  errors: string[];
  /**
   * Per segment that got one: seconds from sending the audio at the segment's `start` (its first
   * spoken word, as the server found it) to receiving its first `partial` with text.
   */
  firstPartialLatencyS: number[];
  /** `partial` messages received. */
  partials: number;
}

/** Streams `seconds` of `conv` (all of it when absent) in 100 ms frames at 1× speed (or `speed`×). */
export async function runRealtimeClient(
  base: { url: string; token: string },
  conv: Conversation,
  seconds?: number,
  { speed = 1, verbose = false, language = 'en' }: { speed?: number; verbose?: boolean; language?: string } = {},
): Promise<RealtimeResult> {
  const client = await ProtocolClient.connect(base);
  try {
    for (const [id, audio] of [[0, conv.enrollA], [1, conv.enrollB]] as const) {
      const r = await client.enroll(id, audio);
      if (r.type !== 'speaker_registration_completed') throw new Error(`enrollment of speaker ${id} failed`);
    }
    const audio = seconds ? conv.audio.subarray(0, Math.round(seconds * 16_000)) : conv.audio;
    const sentAt: number[] = []; // sentAt[k] = time frame k (ending at (k+1)*1600 samples) was sent
    const from = client.messages.length;
    client.send({ type: 'start_transcription', language });
    await client.next((m) => m.type === 'transcription_started', 10_000, from);
    await client.streamAudio(audio, { frameSamples: 1600, realTime: true, speed, onFrame: (_end, at) => sentAt.push(at) });
    client.send({ type: 'stop_transcription' });
    await client.next((m) => m.type === 'transcription_stopped', 600_000, from);
    const stopAt = sentAt[sentAt.length - 1]!;
    const sendTime = (endS: number) => sentAt[Math.min(sentAt.length - 1, Math.max(0, Math.ceil((endS * 16_000) / 1600) - 1))]!;
    const msgs = client.messages.slice(from);
    const segmentLatencyS: number[] = [];
    const transcriptionLatencyS: number[] = [];
    const firstPartialLatencyS: number[] = [];
    const partialSeen = new Set<number>();
    for (const m of msgs) {
      // Segments closed by stop_transcription itself are excluded: their latency is the stop's.
      if (m.type === 'segment' && m.receivedAt <= stopAt + 1) {
        segmentLatencyS.push((m.receivedAt - sendTime(m.end)) / 1000);
        if (verbose) console.log(`  segment ${m.start.toFixed(2)}–${m.end.toFixed(2)} s, speaker ${m.speaker_id}: ${((m.receivedAt - sendTime(m.end)) / 1000).toFixed(3)} s`);
      }
      if (m.type === 'transcription') transcriptionLatencyS.push((m.receivedAt - sendTime(m.end)) / 1000);
      if (m.type === 'partial' && m.text && !partialSeen.has(m.segment_id)) {
        partialSeen.add(m.segment_id);
        firstPartialLatencyS.push((m.receivedAt - sendTime(m.start)) / 1000);
      }
    }
    return {
      segmentLatencyS,
      transcriptionLatencyS,
      segments: msgs.filter((m) => m.type === 'segment').length,
      errors: msgs.filter((m) => m.type === 'error').map((m) => (m as { code: string }).code),
      firstPartialLatencyS,
      partials: msgs.filter((m) => m.type === 'partial').length,
    };
  } finally {
    await client.close();
  }
}

/** p-th percentile (0..100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Samples CPU (% of one core; all of this process's threads, worker threads included), peak RSS
 * (the whole process) and the main thread's event-loop delay p99 while `work` runs.
 */
export async function measureProcess<T>(work: () => Promise<T>): Promise<{ result: T; cpuPercent: number; peakRssMiB: number; wallS: number; loopDelayP99Ms: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
  // 10 ms resolution: the delay that matters here (socket reads, sends) is tens of ms and up.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    const result = await work();
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { result, cpuPercent: ((cpu.user + cpu.system) / 1e6 / wallS) * 100, peakRssMiB: peak / 2 ** 20, wallS, loopDelayP99Ms: loop.percentile(99) / 1e6 };
  } finally {
    loop.disable();
    clearInterval(timer);
  }
}

export const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
