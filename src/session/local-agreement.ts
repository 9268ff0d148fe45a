/**
 * LocalAgreement-2 over successive transcriptions of one growing open segment — pure.
 *
 * Each new hypothesis is the whole segment so far, re-transcribed. The words on which the last
 * two hypotheses agree, from the start, are taken as settled: they form the `stable` prefix,
 * which only ever grows (a later hypothesis that disagrees with it does not shrink it). The
 * shown text is the stable prefix followed by the rest of the newest hypothesis, so it always
 * starts with `stable`. Words are compared without case and punctuation, so "Hello," and
 * "hello" agree; the stable words keep the spelling they had when they settled.
 */

/** What a partial shows: the whole text so far, and its prefix that will not change any more. */
export interface AgreedText {
  text: string;
  stable: string;
}

/** The words of a transcription (split on white space). */
export function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/** A word reduced to what the agreement compares: letters and digits, lower case. */
function key(word: string): string {
  return word.toLocaleLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** How many leading words `a` and `b` share (compared by `key`). */
export function commonWordPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && key(a[i]!) === key(b[i]!)) i++;
  return i;
}

/** The agreement state of one open segment; a new segment starts a new one. */
export class LocalAgreement {
  private previous: string[] | null = null;
  private stableWords: string[] = [];

  /** The stable prefix so far. */
  get stable(): string {
    return this.stableWords.join(' ');
  }

  /** Takes the newest hypothesis (the whole segment so far) and returns what to show. */
  update(hypothesis: string): AgreedText {
    const words = wordsOf(hypothesis);
    const settled = this.stableWords.length;
    if (this.previous) {
      const agreed = commonWordPrefix(this.previous, words);
      // Grows only when both hypotheses still carry the stable prefix, so the settled words
      // and the new ones come from one consistent reading.
      if (agreed > settled && commonWordPrefix(this.stableWords, words) === settled) {
        this.stableWords = [...this.stableWords, ...words.slice(settled, agreed)];
      }
    }
    this.previous = words;
    const rest = words.slice(Math.min(words.length, this.stableWords.length));
    return { text: [...this.stableWords, ...rest].join(' '), stable: this.stable };
  }
}
