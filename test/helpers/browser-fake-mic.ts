/**
 * Builds the WAV that Chromium's fake microphone plays (`--use-file-for-fake-audio-capture`)
 * and the timeline the browser test follows.
 *
 * Chromium starts the file when the page opens the microphone and loops it. The page opens the
 * microphone once (on the first "Record voice") and keeps it, so file time = audio captured
 * since then; the page reports that as `data-captured-s` and the test waits on it. Silences
 * around each part leave room for click and pipeline delays of a few hundred milliseconds.
 */
import { writeFileSync } from 'node:fs';
import { encodeWav } from '../../src/audio/wav.js';
import { loadConversation, type ReferenceTurn } from '../../src/testing/corpus.js';

const RATE_HZ = 16_000;

/** Where each part sits in the fake microphone's file, in seconds from its start. */
export interface FakeMicTimeline {
  enrollA: { startS: number; endS: number };
  enrollB: { startS: number; endS: number };
  /** Conversation audio (the first `conversationS` seconds of conv.wav) starts here. */
  conversationStartS: number;
  conversationS: number;
  totalS: number;
  /** Reference turns (conv.rttm) cut to the part that is played; times are conv.wav seconds. */
  reference: ReferenceTurn[];
  /** speaker label (A/B) → speaker_id */
  speakerId: Record<string, 0 | 1>;
}

export interface FakeMicOptions {
  conversation: string;
  /** Seconds of conv.wav to play. */
  conversationS: number;
  leadS?: number;
  gapS?: number;
  /** Silence after the conversation, long enough that the loop never comes back during the test. */
  tailS?: number;
}

/** Writes the fake-microphone WAV to `path` and returns its timeline. */
export function buildFakeMicWav(path: string, opts: FakeMicOptions): FakeMicTimeline {
  const conv = loadConversation(opts.conversation);
  const leadS = opts.leadS ?? 1;
  const gapS = opts.gapS ?? 2;
  const tailS = opts.tailS ?? 90;
  const convSamples = conv.audio.subarray(0, Math.round(opts.conversationS * RATE_HZ));
  const parts: Float32Array[] = [
    new Float32Array(Math.round(leadS * RATE_HZ)),
    conv.enrollA,
    new Float32Array(Math.round(gapS * RATE_HZ)),
    conv.enrollB,
    new Float32Array(Math.round(gapS * RATE_HZ)),
    convSamples,
    new Float32Array(Math.round(tailS * RATE_HZ)),
  ];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  writeFileSync(path, encodeWav(all, RATE_HZ));

  const enrollAStart = leadS;
  const enrollAEnd = enrollAStart + conv.enrollA.length / RATE_HZ;
  const enrollBStart = enrollAEnd + gapS;
  const enrollBEnd = enrollBStart + conv.enrollB.length / RATE_HZ;
  const conversationStartS = enrollBEnd + gapS;
  const conversationS = convSamples.length / RATE_HZ;
  const reference = conv.reference
    .filter((r) => r.startS < conversationS)
    .map((r) => ({ ...r, endS: Math.min(r.endS, conversationS) }));
  return {
    enrollA: { startS: enrollAStart, endS: enrollAEnd },
    enrollB: { startS: enrollBStart, endS: enrollBEnd },
    conversationStartS,
    conversationS,
    totalS: total / RATE_HZ,
    reference,
    speakerId: conv.speakerId,
  };
}
