/**
 * Per-segment speaker assignment, with a split where two people speak without a pause.
 *
 * A closed segment is embedded whole and scored against both profiles. A segment long enough
 * to hold two turns is also scanned with sliding windows; a two-state Viterbi over the
 * enrolled speakers (per-window cost = −similarity, a fixed penalty per switch) finds change
 * points, parts shorter than `minPartS` are merged into a neighbour, and each remaining part
 * is re-embedded whole for its real similarity pair.
 *
 * Short turns ("yes", "right", "mm-hmm": under `shortTurnS`) carry too little voice for their
 * score alone. For them the decision also weighs (see `decideShortTurn`): the neighbouring turn
 * — two people alternate far more often than one speaks twice — and the change scan between
 * the short turn and that neighbour, scored like the profiles but within the conversation's
 * own room and microphone. A short turn that stays uncertain is left null.
 *
 * With {@link FrameEvidence} (the voices' frame models, see `gmm.ts`), every part's score pair
 * also leans by `frameWeight` × its mean per-frame log-likelihood ratio: a second, independent
 * judge of the same audio, from the 10 ms frames instead of one embedding.
 *
 * This class gathers the evidence and keeps the conversation's; `blend()` (blend.ts) alone
 * turns it into a speaker, in its written order of precedence. Each stretch of a segment's
 * audio is embedded once (`SegmentEmbeddings`), however many of these steps look at it.
 */
import { SAMPLE_RATE } from '../audio/constants.js';
import type { AssignedPart, ClosedSegment as SegmentAudio } from '../pipeline-types.js';
import { blend, type BlendInput } from './blend.js';
import { hasWindowedEmbedding } from './builtin.js';
import { clusterOptionsFor, clusterSpeakers } from './cluster.js';
import { adaptProfile, cosine, matchSpeaker, type MatchResult, type SpeakerId } from './matcher.js';
import { SegmentEmbeddings } from './segment-embeddings.js';
import type { SpeakerProfile } from './types.js';
import type { SpeakerEncoder } from './types.js';

export interface AssignerOptions {
  /** Minimum similarity for a speaker id (else null). */
  threshold: number;
  /** Sliding-window length and hop for change detection, seconds. */
  windowS: number;
  hopS: number;
  /** Viterbi cost of one speaker switch, in similarity units summed over windows. */
  switchPenalty: number;
  /** No part shorter than this, seconds; segments under 2× this are never split. */
  minPartS: number;
  /** Slow, margin-gated profile adaptation (off by default). */
  adapt: boolean;
  /** Segments shorter than this, seconds, are decided with their neighbour's help. */
  shortTurnS: number;
  /** The neighbouring part counts only if it ended at most this long before, seconds. */
  contextS: number;
  /** Similarity added to the speaker who did not speak the neighbouring part. */
  alternationBonus: number;
  /** Weight of the change scan (similarity to the neighbouring part, minus the threshold). */
  changeWeight: number;
  /** A short turn's best similarity must reach this, and its decision margin `shortMargin`. */
  shortFloor: number;
  shortMargin: number;
  /**
   * Conversation evidence: confident parts (≥ `sessionMinS`, best ≥ threshold +
   * `sessionAbove`, margin ≥ `sessionMargin`) are kept per speaker (the last `sessionKeep`);
   * once both speakers have some, each score becomes (1 − `sessionWeight`) × the profile score
   * + `sessionWeight` × the best score against that speaker's kept parts — which were heard in
   * this room, through this microphone and codec, unlike the enrollment. 0 turns it off.
   */
  sessionWeight: number;
  /**
   * Both voices registered, best under the threshold: still that speaker when it reaches
   * `marginFloor` (different speakers' median on the normalised scale) and leads the other by
   * `marginAccept`. In a two-person conversation a far, coded segment often scores under the
   * threshold for its true speaker while still clearly nearer to them than to the other.
   */
  marginAccept: number;
  marginFloor: number;
  sessionMinS: number;
  sessionAbove: number;
  sessionMargin: number;
  sessionKeep: number;
  /**
   * Conversation evidence by clustering (0: off): every part of at least `clusterMinS` is kept
   * (its embedding, length and profile scores; the last `clusterKeep`); once there are
   * `clusterMinParts`, they are clustered into two voices (the file path's `clusterSpeakers`)
   * and each cluster is named by its members' summed profile votes, so one part the profiles
   * got wrong cannot name a cluster of many they got right. The evidence term is then the
   * similarity to the cluster centroid of each speaker instead of the best kept part.
   */
  clusterMinParts: number;
  clusterMinS: number;
  clusterKeep: number;
  /**
   * Weight of the frame evidence (0: off): each part's similarity to speaker 1 rises, and to
   * speaker 0 falls, by half this × the mean per-frame log-likelihood ratio of speaker 1 over
   * speaker 0, clipped to ±`frameClip` nats (and the similarities to −1…1).
   */
  frameWeight: number;
  frameClip: number;
}

/**
 * The mean per-frame log-likelihood ratio of speaker 1 over speaker 0 for some audio, by the
 * voices' frame models; null when either has none or the audio has too little speech.
 */
export type FrameEvidence = (samples: Float32Array) => number | null;

export const DEFAULT_ASSIGNER: Readonly<AssignerOptions> = Object.freeze({
  threshold: 0.6,
  windowS: 1.5,
  hopS: 0.25,
  switchPenalty: 1.0,
  minPartS: 1.0,
  adapt: false,
  shortTurnS: 1.2,
  contextS: 6,
  alternationBonus: 0.15,
  changeWeight: 0.5,
  shortFloor: 0.1,
  shortMargin: 0.1,
  sessionWeight: 0.7,
  marginAccept: 0.3,
  marginFloor: 0,
  sessionMinS: 1.5,
  sessionAbove: 0.1,
  sessionMargin: 0.3,
  sessionKeep: 8,
  clusterMinParts: 6,
  clusterMinS: 1,
  clusterKeep: 120,
  frameWeight: 0,
  frameClip: 1.5,
});

export { decideByMargin, decideShortTurn, type ShortTurnEvidence } from './blend.js';

/** Embeds a view into the segment being assigned (through the segment's memo). */
type Embed = (samples: Float32Array) => Promise<Float32Array>;

export type { AssignedPart, SegmentAudio };

export class SpeakerAssigner {
  private readonly encoder: SpeakerEncoder;
  private readonly opts: AssignerOptions;
  private readonly profiles: [SpeakerProfile | null, SpeakerProfile | null] = [null, null];
  /** The last attributed part (its embedding stays in memory only, never logged). */
  private last: { speakerId: SpeakerId; endSample: number; embedding: Float32Array } | null = null;
  /** Confident parts of this conversation per speaker (embeddings only, in memory). */
  private readonly session: [Float32Array[], Float32Array[]] = [[], []];
  /** Every long enough part, for the clustering evidence (embeddings and scores only, in memory). */
  private history: Array<{ embedding: Float32Array; weightS: number; vote: number }> = [];
  /** Each speaker's cluster centroid, once the clustering evidence has them. */
  private centroids: [Float32Array, Float32Array] | null = null;
  private readonly frameEvidence: FrameEvidence | null;
  /** Embeddings of the segments' audio, each stretch once (see `SegmentEmbeddings`). */
  private readonly embeddings: SegmentEmbeddings;

  constructor(encoder: SpeakerEncoder, opts: Partial<AssignerOptions> = {}, frameEvidence: FrameEvidence | null = null) {
    this.encoder = encoder;
    this.embeddings = new SegmentEmbeddings(encoder);
    this.opts = { ...DEFAULT_ASSIGNER, ...opts };
    this.frameEvidence = frameEvidence;
  }

  /** Sets (or with null clears) a speaker's profile; re-registering replaces it. */
  setProfile(id: SpeakerId, profile: SpeakerProfile | null): void {
    this.profiles[id] = profile;
    this.last = null;
    this.session[0] = [];
    this.session[1] = [];
    this.history = [];
    this.centroids = null;
  }

  getProfile(id: SpeakerId): SpeakerProfile | null {
    return this.profiles[id];
  }

  /**
   * Parts of one closed segment: contiguous, non-overlapping, covering
   * [startSample, endSample], each with its speaker (or null) and similarity pair.
   */
  async assign(seg: SegmentAudio): Promise<AssignedPart[]> {
    const from = Math.max(0, seg.startSample - seg.audioStartSample);
    const to = Math.min(seg.audio.length, seg.endSample - seg.audioStartSample);
    const speech = seg.audio.subarray(from, Math.max(from, to));
    const embed: Embed = (samples) => this.embeddings.embed(seg.audio, samples);
    const whole = await this.score(speech, embed);
    const parts = await this.split(speech, seg.startSample, seg.endSample, embed);
    if (parts.length < 2) {
      const match = this.shortTurn(seg, whole.embedding, whole.input, whole.match);
      const result = [{ startSample: seg.startSample, endSample: seg.endSample, ...match }];
      this.maybeAdapt(whole.embedding, whole.match);
      this.remember(match.speakerId, seg.endSample, whole.embedding);
      this.collect(whole.embedding, whole.match, seg.endSample - seg.startSample);
      return result;
    }
    const tail = parts[parts.length - 1]!;
    if (tail.speakerId !== null) {
      const from = Math.max(0, tail.startSample - seg.audioStartSample);
      this.remember(tail.speakerId, tail.endSample, await embed(seg.audio.subarray(from, Math.max(from + 1, tail.endSample - seg.audioStartSample))));
    }
    return parts;
  }

  /**
   * `encoder` as the assigner embeds `seg`: a stretch of its audio embedded here (to enroll a
   * voice from it, say) is not embedded again when the segment is assigned, nor the reverse.
   */
  encoderFor(seg: Pick<SegmentAudio, 'audio'>): SpeakerEncoder {
    return this.embeddings.encoderFor(seg.audio);
  }

  /**
   * Similarity of a stretch of audio to speaker 0 and 1 as `assign` would score it (profile
   * scores blended with this conversation's evidence), or null until both are registered. For
   * online change detection outside the assigner.
   */
  async scoreWindow(samples: Float32Array): Promise<[number, number] | null> {
    if (!this.profiles[0] || !this.profiles[1]) return null;
    // Live audio from the change watch, not a closed segment: nothing to share it with.
    return blend(this.evidence(await this.encoder.embed(samples)), this.opts).similarity;
  }

  /** A short segment's match, decided with the neighbouring part's help (blend's short-turn rule). */
  private shortTurn(seg: SegmentAudio, embedding: Float32Array, input: BlendInput, match: MatchResult): MatchResult {
    const o = this.opts;
    if ((seg.endSample - seg.startSample) / SAMPLE_RATE >= o.shortTurnS || !this.profiles[0] || !this.profiles[1]) return match;
    const last = this.last && seg.startSample - this.last.endSample <= o.contextS * SAMPLE_RATE ? this.last : null;
    const norm = this.encoder.scoreNorm;
    const previous = last ? { speakerId: last.speakerId, similarity: norm ? norm.similarity(embedding, last.embedding) : cosine(embedding, last.embedding) } : null;
    return blend({ ...input, shortTurn: { previous } }, o);
  }

  private remember(speakerId: SpeakerId | null, endSample: number, embedding: Float32Array): void {
    if (speakerId !== null) this.last = { speakerId, endSample, embedding };
  }

  /**
   * A part's embedding, what each source says about it, and their blend: the profile scores,
   * the conversation's evidence and the frame evidence (the frame models are asked only when
   * their weight is on and both voices are registered).
   */
  private async score(samples: Float32Array, embed: Embed): Promise<{ embedding: Float32Array; input: BlendInput; match: MatchResult }> {
    const embedding = await embed(samples);
    const o = this.opts;
    const both = this.profiles[0] !== null && this.profiles[1] !== null;
    const frameLlr = o.frameWeight > 0 && this.frameEvidence && both ? this.frameEvidence(samples) : null;
    const input: BlendInput = { ...this.evidence(embedding), frameLlr };
    return { embedding, input, match: blend(input, o) };
  }

  /**
   * What the profiles and this conversation's evidence say about an embedding (no frame
   * evidence: that judges audio, not embeddings). Which of them counts is `blend()`'s rule.
   */
  private evidence(embedding: Float32Array): BlendInput {
    const o = this.opts;
    const norm = this.encoder.scoreNorm;
    const profile = matchSpeaker(embedding, this.profiles, o.threshold, norm);
    const bothRegistered = this.profiles[0] !== null && this.profiles[1] !== null;
    if (!bothRegistered) return { profile, bothRegistered, clusters: null, sessionParts: null, frameLlr: null };
    const sim = (a: Float32Array, b: Float32Array) => (norm ? norm.similarity(a, b) : cosine(a, b));
    // Only what blend() will weigh: nothing with sessionWeight 0, and clusters replace kept parts.
    if (o.sessionWeight <= 0) return { profile, bothRegistered, clusters: null, sessionParts: null, frameLlr: null };
    const c = this.centroids;
    const clusters: [number, number] | null = c ? [sim(embedding, c[0]), sim(embedding, c[1])] : null;
    if (clusters) return { profile, bothRegistered, clusters, sessionParts: null, frameLlr: null };
    const best = (k: SpeakerId) => {
      let b = -1;
      for (const e of this.session[k]) b = Math.max(b, sim(embedding, e));
      return b;
    };
    const sessionParts: [number, number] | null = this.session[0].length && this.session[1].length ? [best(0), best(1)] : null;
    return { profile, bothRegistered, clusters, sessionParts, frameLlr: null };
  }

  /**
   * Keeps a long enough part as conversation evidence: in the clustering history, and, when it
   * is confident, in its speaker's kept parts. Both are judged on the enrolled profiles' scores
   * alone, never on the blended ones the part was assigned with: blended scores lean on the
   * evidence already kept, so one mistaken part would vouch for the next and the evidence would
   * drift to the wrong voice.
   */
  private collect(embedding: Float32Array, blended: MatchResult, samples: number): void {
    const o = this.opts;
    const toHistory = o.clusterMinParts > 0 && samples >= o.clusterMinS * SAMPLE_RATE;
    const toSession = o.sessionWeight > 0 && samples >= o.sessionMinS * SAMPLE_RATE;
    if ((!toHistory && !toSession) || !this.profiles[0] || !this.profiles[1]) return;
    const profile = matchSpeaker(embedding, this.profiles, o.threshold, this.encoder.scoreNorm).similarity;
    if (toHistory) this.addToHistory(embedding, samples, profile[0] - profile[1]);
    if (!toSession) return;
    const id = profile[1] > profile[0] ? 1 : 0;
    if (blended.speakerId !== id) return;
    const best = profile[id];
    if (best < o.threshold + o.sessionAbove || best - profile[id === 0 ? 1 : 0] < o.sessionMargin) return;
    const kept = this.session[id];
    kept.push(embedding);
    if (kept.length > o.sessionKeep) kept.shift();
  }

  /**
   * Keeps a part for the clustering evidence, with its profile vote (score for speaker 0 minus
   * score for 1), and re-clusters (see `clusterMinParts`).
   */
  private addToHistory(embedding: Float32Array, samples: number, vote: number): void {
    const o = this.opts;
    this.history.push({ embedding, weightS: samples / SAMPLE_RATE, vote });
    if (this.history.length > o.clusterKeep) this.history.shift();
    this.centroids = null;
    if (this.history.length < o.clusterMinParts) return;
    const r = clusterSpeakers(this.history.map((h, i) => ({ embedding: h.embedding, start: i, weightS: h.weightS })), clusterOptionsFor(this.encoder.scoreNorm));
    if (r.speakers !== 2) return;
    // Name the clusters by their members' summed votes (speech-weighted); only when the two
    // clusters vote for different voices.
    const votes = [0, 0];
    r.labels.forEach((l, i) => (votes[l]! += this.history[i]!.weightS * this.history[i]!.vote));
    if (votes[0]! > 0 && votes[1]! < 0) this.centroids = [r.centroids[0]!, r.centroids[1]!];
    else if (votes[0]! < 0 && votes[1]! > 0) this.centroids = [r.centroids[1]!, r.centroids[0]!];
  }

  private maybeAdapt(embedding: Float32Array, match: MatchResult): void {
    if (!this.opts.adapt || match.speakerId === null) return;
    const id = match.speakerId;
    const p = this.profiles[id];
    if (p) this.profiles[id] = adaptProfile(p, embedding, match, id, this.opts.threshold);
  }

  /** Change points by sliding windows + Viterbi; returns [] when the segment stays whole. */
  private async split(speech: Float32Array, startSample: number, endSample: number, embed: Embed): Promise<AssignedPart[]> {
    const o = this.opts;
    const [p0, p1] = this.profiles;
    const minPart = Math.round(o.minPartS * SAMPLE_RATE);
    if (!p0 || !p1 || speech.length < 2 * minPart) return [];
    const win = Math.round(o.windowS * SAMPLE_RATE);
    const hop = Math.round(o.hopS * SAMPLE_RATE);
    const windows = await this.windows(speech, win, hop, embed);
    if (windows.length < 2) return [];
    const scores = windows.map((w) => blend(this.evidence(w.embedding), o).similarity);
    const labels = viterbi2(scores, o.switchPenalty);
    // Change point between windows i-1 and i: midway between their centres.
    let bounds: Array<{ start: number; label: number }> = [{ start: 0, label: labels[0]! }];
    for (let i = 1; i < labels.length; i++) {
      if (labels[i] === labels[i - 1]) continue;
      const c0 = (windows[i - 1]!.startSample + windows[i - 1]!.endSample) / 2;
      const c1 = (windows[i]!.startSample + windows[i]!.endSample) / 2;
      bounds.push({ start: Math.round((c0 + c1) / 2), label: labels[i]! });
    }
    bounds = enforceMinLength(bounds, speech.length, minPart);
    if (bounds.length < 2) return [];
    const parts: AssignedPart[] = [];
    for (let i = 0; i < bounds.length; i++) {
      const a = bounds[i]!.start;
      const b = i + 1 < bounds.length ? bounds[i + 1]!.start : speech.length;
      const { match, embedding } = await this.score(speech.subarray(a, b), embed);
      this.collect(embedding, match, b - a);
      parts.push({ startSample: startSample + a, endSample: i + 1 < bounds.length ? startSample + b : endSample, ...match });
    }
    // A re-embedded part may disagree with the window labels; neighbours with one speaker merge.
    const merged: AssignedPart[] = [];
    for (const p of parts) {
      const last = merged[merged.length - 1];
      if (last && last.speakerId === p.speakerId) {
        const m = await this.score(speech.subarray(last.startSample - startSample, p.endSample - startSample), embed);
        merged[merged.length - 1] = { startSample: last.startSample, endSample: p.endSample, ...m.match };
      } else merged.push(p);
    }
    return merged.length < 2 ? [] : merged;
  }

  private async windows(speech: Float32Array, win: number, hop: number, embed: Embed) {
    if (hasWindowedEmbedding(this.encoder)) return this.encoder.embedWindows(speech, win, hop);
    const out: Array<{ startSample: number; endSample: number; embedding: Float32Array }> = [];
    const starts: number[] = [];
    for (let s = 0; s + win <= speech.length; s += hop) starts.push(s);
    if (!starts.length || starts[starts.length - 1]! + win < speech.length) starts.push(Math.max(0, speech.length - win));
    for (const s of starts) {
      const e = Math.min(speech.length, s + win);
      out.push({ startSample: s, endSample: e, embedding: await embed(speech.subarray(s, e)) });
    }
    return out;
  }
}

/**
 * Best label sequence over two states maximising Σ score[t][label] − penalty × switches.
 * Pure; exported for tests.
 */
export function viterbi2(scores: ReadonlyArray<readonly [number, number]>, penalty: number): number[] {
  const n = scores.length;
  if (n === 0) return [];
  const back: Array<[number, number]> = [];
  let v: [number, number] = [scores[0]![0], scores[0]![1]];
  for (let t = 1; t < n; t++) {
    const next: [number, number] = [0, 0];
    const bp: [number, number] = [0, 0];
    for (let k = 0; k < 2; k++) {
      const stay = v[k]!;
      const move = v[1 - k]! - penalty;
      bp[k] = stay >= move ? k : 1 - k;
      next[k] = Math.max(stay, move) + scores[t]![k]!;
    }
    back.push(bp);
    v = next;
  }
  const labels = new Array<number>(n);
  labels[n - 1] = v[0] >= v[1] ? 0 : 1;
  for (let t = n - 1; t > 0; t--) labels[t - 1] = back[t - 1]![labels[t]!]!;
  return labels;
}

/**
 * Merges runs shorter than `minLen` samples into a neighbour (shortest first; the neighbour
 * on the longer side absorbs it), then joins equal neighbours.
 */
export function enforceMinLength(bounds: Array<{ start: number; label: number }>, total: number, minLen: number): Array<{ start: number; label: number }> {
  let b = bounds.map((x) => ({ ...x }));
  const len = (i: number) => (i + 1 < b.length ? b[i + 1]!.start : total) - b[i]!.start;
  for (;;) {
    if (b.length < 2) return b;
    let shortest = -1;
    for (let i = 0; i < b.length; i++) if (len(i) < minLen && (shortest < 0 || len(i) < len(shortest))) shortest = i;
    if (shortest < 0) return b;
    const i = shortest;
    // Removing run i extends the previous run over it; moving the next run's start back
    // gives it to the next run instead (always so for the first run).
    if (i === 0 || (i < b.length - 1 && len(i + 1) > len(i - 1))) b[i + 1]!.start = b[i]!.start;
    b.splice(i, 1);
    const joined: Array<{ start: number; label: number }> = [];
    for (const x of b) if (!joined.length || joined[joined.length - 1]!.label !== x.label) joined.push(x);
    b = joined;
  }
}
