/**
 * One place where a part's evidence becomes its speaker — pure.
 *
 * The assigner gathers, per part, what each source says: the enrolled profiles' scores, the
 * conversation's own evidence (the two voices' clusters, or the confident parts kept per
 * voice), the voices' frame models, and for a short turn the neighbouring part. `blend()`
 * weighs them in a fixed, written-down order (see its TSDoc) and returns the speaker and the
 * similarity pair that reaches the wire. Nothing here embeds, keeps or learns anything.
 */
import type { MatchResult, SpeakerId } from './matcher.js';

/** The assigner's settings `blend()` reads (see `AssignerOptions` for each one's meaning). */
export interface BlendOptions {
  /** Similarity at which the best voice is taken outright. */
  threshold: number;
  /** Under the threshold: the best must reach `marginFloor` and lead the other by `marginAccept`. */
  marginAccept: number;
  marginFloor: number;
  /** Weight of the conversation's evidence against the profile scores, 0…1 (0: off). */
  sessionWeight: number;
  /** Similarity per nat of the frame models' log-likelihood ratio (0: off), clipped to ±`frameClip` nats. */
  frameWeight: number;
  frameClip: number;
  /** Short turns: see `decideShortTurn`. */
  alternationBonus: number;
  changeWeight: number;
  shortFloor: number;
  shortMargin: number;
}

/** The neighbouring part a short turn is decided with: its speaker and the turn's similarity to it. */
export interface Neighbour {
  speakerId: SpeakerId;
  similarity: number;
}

/** What each source says about one part (all similarities on the matcher's −1…1 scale). */
export interface BlendInput {
  /** The enrolled profiles' scores and their threshold verdict (`matchSpeaker`). */
  profile: MatchResult;
  /** Whether both voices are registered; with one (or none) the profiles alone decide. */
  bothRegistered: boolean;
  /** Similarity to each voice's cluster centroid, once the clustering has named both; else null. */
  clusters: readonly [number, number] | null;
  /** Best similarity to each voice's kept confident parts, once both voices have some; else null. */
  sessionParts: readonly [number, number] | null;
  /** The frame models' mean log-likelihood ratio of speaker 1 over 0, nats; null: no judgement. */
  frameLlr: number | null;
  /**
   * Present only for a short turn (shorter than `shortTurnS`): the neighbouring part, or null
   * when there is none close enough. Absent: the part is decided by its scores alone.
   */
  shortTurn?: { previous: Neighbour | null };
}

/**
 * The speaker for a similarity pair when both voices are registered: the best one at or above
 * `threshold`, or under it when it reaches `marginFloor` and leads by `marginAccept`; else null.
 * Pure.
 */
export function decideByMargin(similarity: readonly [number, number], o: Pick<BlendOptions, 'threshold' | 'marginAccept' | 'marginFloor'>): SpeakerId | null {
  const best: SpeakerId = similarity[1] > similarity[0] ? 1 : 0;
  const s = similarity[best];
  if (s >= o.threshold) return best;
  return s >= o.marginFloor && s - similarity[best === 0 ? 1 : 0] >= o.marginAccept ? best : null;
}

/** What a short turn is decided from (all similarities on the matcher's scale). */
export interface ShortTurnEvidence {
  /** The short turn's similarity to speaker 0 and 1. */
  similarity: [number, number];
  /** The neighbouring part's speaker and the short turn's similarity to that part, if any. */
  previous: Neighbour | null;
}

/**
 * Speaker of a short turn, or null: each speaker's score is its similarity, plus
 * `alternationBonus` for the one who did not speak the neighbouring part, plus
 * ±`changeWeight` × (similarity to that part − threshold) — alike → the same speaker again,
 * unlike → the other. The best must reach `shortFloor` and lead by `shortMargin`. Pure.
 */
export function decideShortTurn(e: ShortTurnEvidence, o: Pick<BlendOptions, 'threshold' | 'alternationBonus' | 'changeWeight' | 'shortFloor' | 'shortMargin'>): SpeakerId | null {
  const d: [number, number] = [e.similarity[0], e.similarity[1]];
  if (e.previous) {
    const prev = e.previous.speakerId;
    const other = prev === 0 ? 1 : 0;
    d[other] += o.alternationBonus;
    const change = o.changeWeight * (e.previous.similarity - o.threshold);
    d[prev] += change;
    d[other] -= change;
  }
  const best: SpeakerId = d[1] > d[0] ? 1 : 0;
  if (e.similarity[best] < o.shortFloor || Math.abs(d[0] - d[1]) < o.shortMargin) return null;
  return best;
}

/** Keeps a similarity on the protocol's −1…1 scale. */
const clamp = (x: number) => Math.max(-1, Math.min(1, x));

/**
 * A part's speaker and similarity pair from every source's say, in this order of precedence:
 *
 * 1. **Fewer than two voices registered: the profiles alone.** Their scores and threshold
 *    verdict are returned as they are (an unregistered voice scores 0); no other source weighs
 *    in, since none of them can compare two voices.
 * 2. **Conversation evidence, clusters before kept parts.** With `sessionWeight` > 0, each
 *    score becomes (1 − `sessionWeight`) × the profile score + `sessionWeight` × the
 *    conversation's: the similarity to that voice's cluster centroid when the clustering has
 *    named both voices, else the best similarity to that voice's kept confident parts when both
 *    have some, else nothing (the profile scores stay). Never both: clusters replace kept parts.
 * 3. **Frame evidence leans the result of 2.** With `frameWeight` > 0 and a finite ratio, the
 *    pair moves by ½ × `frameWeight` × the ratio clipped to ±`frameClip` nats (toward speaker
 *    1 when positive, away from speaker 0), each kept within −1…1.
 * 4. **The decision, on the pair from 3.** A short turn (`shortTurn` present) is decided with
 *    its neighbouring part (`decideShortTurn`); any other part by `decideByMargin`. The pair
 *    from 3 is what reaches the wire either way.
 *
 * Pure.
 */
export function blend(input: BlendInput, o: BlendOptions): MatchResult {
  const p = input.profile;
  // 1.
  if (!input.bothRegistered) return { speakerId: p.speakerId, similarity: [p.similarity[0], p.similarity[1]] };
  // 2.
  let similarity: [number, number] = [p.similarity[0], p.similarity[1]];
  const conversation = o.sessionWeight > 0 ? (input.clusters ?? input.sessionParts) : null;
  if (conversation) {
    const w = o.sessionWeight;
    similarity = [(1 - w) * p.similarity[0] + w * conversation[0], (1 - w) * p.similarity[1] + w * conversation[1]];
  }
  // 3.
  const llr = input.frameLlr;
  if (o.frameWeight > 0 && llr !== null && Number.isFinite(llr)) {
    const lean = (o.frameWeight * Math.max(-o.frameClip, Math.min(o.frameClip, llr))) / 2;
    similarity = [clamp(similarity[0] - lean), clamp(similarity[1] + lean)];
  }
  // 4.
  const speakerId = input.shortTurn ? decideShortTurn({ similarity, previous: input.shortTurn.previous }, o) : decideByMargin(similarity, o);
  return { speakerId, similarity };
}
