/**
 * Text analysis for search — pure. One normal form for stored text and queries: NFKC (full-width
 * ＡＢＣ and half-width ｶﾅ fold to their usual forms) and lower case, control characters as spaces.
 *
 * Words are runs of letters, marks and digits. Latin-like words are matched whole (or by prefix,
 * for the word being typed). Hangul (and Han / kana) runs are indexed as character unigrams and
 * bigrams and matched as substrings, because Korean attaches particles and endings to the word
 * (약을, 약이, 약은) and writes compounds without spaces (감기약): whitespace tokens would find none
 * of those for 약.
 */

/** Characters indexed as n-grams: Hangul syllables and jamo, CJK ideographs, kana. */
const NGRAM_CHAR = /[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const NGRAM_ANY = new RegExp(NGRAM_CHAR.source);
const NGRAM_ALL = new RegExp(`^${NGRAM_CHAR.source}+$`);
const WORD_RUN = /[\p{L}\p{M}\p{N}]+/gu;
/** Text whose normal form is its lower case, one UTF-16 unit for one: ASCII and precomposed Hangul. */
const FAST = /^[\x20-\x7e\n\uac00-\ud7a3]*$/;
const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
/** Splits text into plain runs (as {@link FAST}) and the runs between them, both kept. */
const OTHER_RUN = /([^\x20-\x7e\n\uac00-\ud7a3]+)/;

export function isNgramChar(c: string): boolean {
  return NGRAM_CHAR.test(c);
}

export function isWordChar(c: string): boolean {
  return c !== '' && WORD_CHAR.test(c);
}

/**
 * The normal form of `text`, and where each of its UTF-16 units came from in `text` (null when
 * the two line up one for one). `\n` is kept (it separates segments in a joined text).
 */
export function normalize(text: string): { norm: string; map: Int32Array | null } {
  if (FAST.test(text)) return { norm: text.toLowerCase(), map: null };
  const out: string[] = [];
  const map: number[] = [];
  let i = 0;
  // Runs of plain characters are lower-cased whole; only the others go one code point at a time.
  for (const part of text.split(OTHER_RUN)) {
    if (part === '') continue;
    if (FAST.test(part)) {
      out.push(part.toLowerCase());
      for (let k = 0; k < part.length; k++) map.push(i + k);
      i += part.length;
      continue;
    }
    for (const cp of part) {
      const n = CONTROL.test(cp) ? ' ' : cp.normalize('NFKC').toLowerCase();
      out.push(n);
      for (let k = 0; k < n.length; k++) map.push(i);
      i += cp.length;
    }
  }
  const norm = out.join('');
  if (norm.length === text.length && map.every((v, k) => v === k)) return { norm, map: null };
  return { norm, map: Int32Array.from(map) };
}

/** Just the normal form. */
export function normalForm(text: string): string {
  return normalize(text).norm;
}

/** Words of normalized text, split where n-gram script meets other script. */
export function words(norm: string): string[] {
  const out: string[] = [];
  for (const m of norm.matchAll(WORD_RUN)) {
    const run = m[0];
    // Most runs are all of one kind: test once, not per character.
    if (!NGRAM_ANY.test(run) || NGRAM_ALL.test(run)) {
      out.push(run);
      continue;
    }
    let from = 0;
    for (let i = 1; i <= run.length; i++) {
      if (i === run.length || isNgramChar(run[i]!) !== isNgramChar(run[i - 1]!)) {
        out.push(run.slice(from, i));
        from = i;
      }
    }
  }
  return out;
}

/** Index keys of one word: itself, or for an n-gram word its characters and character pairs. */
export function keysOfWord(word: string): string[] {
  if (!isNgramChar(word[0]!)) return [word];
  const chars = Array.from(word);
  const keys = [...chars];
  for (let i = 0; i + 1 < chars.length; i++) keys.push(chars[i]! + chars[i + 1]!);
  return keys;
}

/**
 * Keys that every text containing `word` has (for an n-gram word: its bigrams, or the one
 * character), so that intersecting their postings gives the candidates.
 */
export function requiredKeys(word: string): string[] {
  if (!isNgramChar(word[0]!)) return [word];
  const chars = Array.from(word);
  if (chars.length === 1) return chars;
  const keys: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) keys.push(chars[i]! + chars[i + 1]!);
  return [...new Set(keys)];
}

/** How often each index key occurs in `norm`, times `weight`, added into `into`. */
export function countKeys(norm: string, into: Map<string, number>, weight = 1): void {
  // The hot loop of an index build: one regex pass, no arrays for the common all-Latin word.
  // Text that is ASCII and Hangul syllables only (most of it) has simpler words: a byte-class
  // regex finds the same runs as the Unicode one, several times faster.
  const fast = FAST.test(norm);
  const runs = fast ? /[a-z0-9]+|[\uac00-\ud7a3]+/g : new RegExp(WORD_RUN.source, 'gu');
  let m: RegExpExecArray | null;
  while ((m = runs.exec(norm)) !== null) {
    const run = m[0];
    const c0 = run.charCodeAt(0);
    if (fast && c0 >= 0xac00) {
      // A run of Hangul syllables (one UTF-16 unit each): its characters and character pairs.
      for (let i = 0; i < run.length; i++) {
        const one = run[i]!;
        into.set(one, (into.get(one) ?? 0) + weight);
        if (i + 1 < run.length) {
          const two = run.slice(i, i + 2);
          into.set(two, (into.get(two) ?? 0) + weight);
        }
      }
      continue;
    }
    if (fast || !NGRAM_ANY.test(run)) {
      into.set(run, (into.get(run) ?? 0) + weight);
      continue;
    }
    for (const w of words(run)) for (const k of keysOfWord(w)) into.set(k, (into.get(k) ?? 0) + weight);
  }
}
