/**
 * Interim text for one conversation: while a segment is open and has run for a while, its
 * audio so far is re-transcribed at a steady cadence (in audio time) through the recognizer's
 * lowest class, and each answer goes out as a `partial` with its LocalAgreement-2 stable
 * prefix. The session calls {@link PartialRunner.afterPush} after each push of audio (once the
 * segments that push closed have been emitted) and {@link PartialRunner.endSeries} before it
 * emits a closed segment, so a partial never follows its segment's `segment` message.
 *
 * No partials when they would be stale or cost a final anything: for a client sending audio
 * faster than real time (a replayed file), while the session's own audio backlog is more than
 * `MAX_BACKLOG_MS` behind, beyond `maxPerSegment` per segment, while one of this session is in
 * flight, and whenever the recognizer says no (PARTIALS and the engine's load).
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import { samplesToSeconds, type SpeakerId } from '../protocol/messages.js';
import { LocalAgreement } from './local-agreement.js';
import type { OpenSegmentView, Recognizer } from './ports.js';

/** The `partial` message, less the segment id the session fills in when sending. */
export interface PartialPayload {
  speaker_id: SpeakerId | null;
  /** Start of the open segment, wire seconds. */
  start: number;
  text: string;
  stable: string;
}

export interface PartialRunnerOptions {
  recognizer: Recognizer;
  /** Audio between two partials of one segment, samples. */
  intervalSamples: number;
  /** Speech a segment needs before its first partial, samples. */
  minSpeechSamples: number;
  maxPerSegment: number;
  /** Token cap per second of partial audio (plus `TOKEN_CAP_BASE`). */
  tokensPerS: number;
  /**
   * Sends one partial if the session can say now which segment id the open segment will get
   * (returns false while a closed segment is being assigned: the partial is dropped).
   */
  send(payload: PartialPayload): boolean;
  /** Wall clock, ms (replaceable in tests). */
  nowMs?: () => number;
}

/** The pace check looks at this much wall time of recent audio arrivals. */
const PACE_WINDOW_MS = 4000;
/** Audio may run ahead of wall time by this much (network jitter, a client's batching)… */
const PACE_SLACK_MS = 500;
/** …plus this share of the window: beyond it the client sends faster than real time. */
const PACE_SLACK_SHARE = 0.25;
/** A session whose own unprocessed audio exceeds this gets no partials (they would be stale). */
const MAX_BACKLOG_MS = 500;
/** Tokens every partial may decode on top of its per-second allowance. */
const TOKEN_CAP_BASE = 4;
/** Encoder frames per second of audio (whisper: 100 mel frames/s, halved by its convolution). */
const AUDIO_CTX_PER_S = 50;
/** Encoder frames added to a partial's own length (whisper sees a little silence after it). */
const AUDIO_CTX_MARGIN = 16;
/** whisper's full context: 30 s. */
const AUDIO_CTX_MAX = 1500;

interface Series {
  startSample: number;
  agreement: LocalAgreement;
  /** The next partial is due once this many samples are received. */
  dueSample: number;
  offered: number;
  inFlight: AbortController | null;
  lastText: string;
}

/** Counters for logs and benchmarks. */
export interface PartialRunnerCounts {
  offered: number;
  sent: number;
  /** Not offered: a replay, a backlog, the recognizer's no (PARTIALS, load), the per-segment cap. */
  skipped: number;
  /** Offered and then lost (dropped by the queue, superseded, failed, the segment closed). */
  lost: number;
}

/** One conversation's partials. */
export class PartialRunner {
  private series: Series | null = null;
  /** Recent arrivals: wall time and the received total before and after each. */
  private readonly arrivals: Array<{ wallMs: number; before: number; after: number }> = [];
  /** The open segment's speaker guess at the latest push. */
  private guess: SpeakerId | null = null;
  private receivedTotal = 0;
  private closed = false;
  private readonly nowMs: () => number;
  readonly counts: PartialRunnerCounts = { offered: 0, sent: 0, skipped: 0, lost: 0 };

  constructor(private readonly o: PartialRunnerOptions) {
    this.nowMs = o.nowMs ?? Date.now;
  }

  /** Notes `samples` of audio arriving from the client now (before it is processed). */
  arrived(samples: number): void {
    const now = this.nowMs();
    const before = this.receivedTotal;
    this.receivedTotal += samples;
    this.arrivals.push({ wallMs: now, before, after: this.receivedTotal });
    while (this.arrivals.length > 2 && now - this.arrivals[1]!.wallMs >= PACE_WINDOW_MS) this.arrivals.shift();
  }

  /**
   * True when the client sends faster than real time: over the recent window more audio came
   * than wall time passed, beyond the slack.
   */
  get replaying(): boolean {
    const first = this.arrivals[0];
    const last = this.arrivals[this.arrivals.length - 1];
    if (!first || !last) return false;
    // The first arrival's audio counts too: a live client cannot have recorded it before the
    // window began, less one chunk, which the slack covers.
    const audioMs = ((last.after - first.before) * 1000) / SAMPLE_RATE;
    const wallMs = last.wallMs - first.wallMs;
    return audioMs - wallMs > PACE_SLACK_MS + PACE_SLACK_SHARE * wallMs;
  }

  /** The open segment ended (closed, cut, or the conversation stops): its partials end too. */
  endSeries(): void {
    const s = this.series;
    this.series = null;
    s?.inFlight?.abort();
  }

  /** Stops everything; idempotent. */
  close(): void {
    this.closed = true;
    this.endSeries();
  }

  /**
   * After a push: starts a partial of the open segment when one is due. `backlogSamples` is the
   * session's audio received but not yet processed.
   */
  afterPush(view: OpenSegmentView | null, backlogSamples: number, language: string, conversation: string | undefined): void {
    if (this.closed) return;
    if (!view) return this.endSeries();
    this.guess = view.speakerGuess;
    if (!this.series || this.series.startSample !== view.startSample) {
      this.endSeries();
      this.series = {
        startSample: view.startSample,
        agreement: new LocalAgreement(),
        dueSample: view.startSample + this.o.minSpeechSamples,
        offered: 0,
        inFlight: null,
        lastText: '',
      };
    }
    const s = this.series;
    if (view.receivedSamples < s.dueSample || s.inFlight) return;
    const recognizer = this.o.recognizer;
    if (
      !recognizer.partial ||
      s.offered >= this.o.maxPerSegment ||
      backlogSamples * 1000 > MAX_BACKLOG_MS * SAMPLE_RATE ||
      this.replaying ||
      !(recognizer.partialsAllowed?.() ?? true)
    ) {
      this.counts.skipped++;
      // Asked again a hop later, not on every frame.
      s.dueSample = view.receivedSamples + Math.round(this.o.intervalSamples / 4);
      return;
    }
    const audio = view.audio();
    const seconds = audio.length / SAMPLE_RATE;
    s.offered++;
    this.counts.offered++;
    s.dueSample = view.receivedSamples + this.o.intervalSamples;
    const ac = new AbortController();
    s.inFlight = ac;
    void recognizer
      .partial(audio, {
        language,
        signal: ac.signal,
        ...(conversation !== undefined ? { conversation } : {}),
        ...(s.lastText ? { prompt: s.lastText } : {}),
        audioCtx: Math.min(AUDIO_CTX_MAX, Math.ceil(seconds * AUDIO_CTX_PER_S) + AUDIO_CTX_MARGIN),
        maxTokens: Math.ceil(seconds * this.o.tokensPerS) + TOKEN_CAP_BASE,
      })
      .then(
        (text) => this.answer(s, ac, text),
        () => {
          // Dropped, superseded, aborted or failed: a partial is never retried or reported.
          if (s.inFlight === ac) s.inFlight = null;
          this.counts.lost++;
        },
      );
  }

  private answer(s: Series, ac: AbortController, text: string | null): void {
    if (s.inFlight === ac) s.inFlight = null;
    if (this.closed || this.series !== s || ac.signal.aborted || text === null) {
      this.counts.lost++;
      return;
    }
    const agreed = s.agreement.update(text);
    if (agreed.text === '' || agreed.text === s.lastText) return;
    const sent = this.o.send({
      // The guess as of the latest push (it may have been decided while the partial ran).
      speaker_id: this.guess,
      start: samplesToSeconds(s.startSample),
      text: agreed.text,
      stable: agreed.stable,
    });
    if (!sent) {
      this.counts.lost++;
      return;
    }
    s.lastText = agreed.text;
    this.counts.sent++;
  }
}
