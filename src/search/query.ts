/**
 * Search queries — pure parsing and matching. A query is words and "quoted phrases"; every one
 * must occur in a conversation (title, a speaker's name or its text) for it to match. The last
 * word, when the query does not end in a space, is matched as a prefix (it is still being typed).
 * Nothing of the query is ever used as a regular expression.
 */
import { isNgramChar, isWordChar, normalForm, words } from './text.js';

/** Longest query accepted, in UTF-16 units (before normalization). */
export const MAX_QUERY_CHARS = 500;
/** Terms kept from one query. */
export const MAX_TERMS = 12;

export interface Term {
  /** The normalized text matched: a word, or a phrase's words joined by single spaces. */
  text: string;
  /** The words (one for a word term). */
  words: string[];
  /** Match as a prefix (the last, unfinished word). */
  prefix: boolean;
  phrase: boolean;
}

/** The terms of a query; [] when it has no words at all. */
export function parseQuery(q: string): Term[] {
  const norm = normalForm(q.slice(0, MAX_QUERY_CHARS));
  const terms: Term[] = [];
  const parts = norm.split('"');
  parts.forEach((part, i) => {
    const quoted = i % 2 === 1 && i < parts.length - 1;
    const ws = words(part);
    if (ws.length === 0) return;
    if (quoted) terms.push({ text: ws.join(' '), words: ws, prefix: false, phrase: ws.length > 1 });
    else for (const w of ws) terms.push({ text: w, words: [w], prefix: false, phrase: false });
  });
  const last = terms[terms.length - 1];
  // The word being typed: the query ends inside it (no space, no closing quote after it).
  if (last && !last.phrase && norm.length > 0 && isWordChar(norm[norm.length - 1]!) && !isNgramChar(last.text[0]!)) last.prefix = true;
  const seen = new Set<string>();
  return terms.filter((t) => (seen.has(t.text + t.prefix) ? false : (seen.add(t.text + t.prefix), true))).slice(0, MAX_TERMS);
}

/**
 * Where `term` occurs in normalized text `norm`: [start, end) ranges. Latin-like words must be
 * whole words (a prefix term: the start of one); n-gram words match anywhere (particles). A
 * phrase's words may stand apart by any run of spaces and punctuation within one segment
 * ("blood  pressure", "blood, pressure"), as its query may ("blood   pressure").
 */
export function findTerm(norm: string, term: Term): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const needle = term.phrase ? term.words[0]! : term.text;
  if (needle === '') return out;
  const last = term.words[term.words.length - 1]!;
  const startsLatin = !isNgramChar(needle[0]!);
  const endsLatin = !isNgramChar(last[last.length - 1]!);
  let at = norm.indexOf(needle);
  while (at >= 0 && out.length < 1000) {
    const before = at > 0 ? norm[at - 1]! : '';
    const end = term.phrase ? phraseEnd(norm, at + needle.length, term.words) : at + needle.length;
    if (end >= 0) {
      const after = norm[end] ?? '';
      const startOk = !startsLatin || !isWordChar(before) || isNgramChar(before);
      const endOk = term.prefix || !endsLatin || !isWordChar(after) || isNgramChar(after);
      if (startOk && endOk) out.push([at, end]);
    }
    at = norm.indexOf(needle, at + 1);
  }
  return out;
}

/** Longest gap between two words of a phrase, in UTF-16 units: a phrase is words close together. */
const MAX_PHRASE_GAP = 16;

/**
 * Where a phrase that matched its first word up to `from` ends, or -1: each further word must
 * follow after a gap of spaces and punctuation (never a newline: segments are apart), or right
 * away where n-gram script meets other script (the query split 약abc in two words).
 */
function phraseEnd(norm: string, from: number, ws: readonly string[]): number {
  let at = from;
  for (let i = 1; i < ws.length; i++) {
    const prev = ws[i - 1]!;
    const word = ws[i]!;
    let gap = 0;
    while (gap <= MAX_PHRASE_GAP && at + gap < norm.length && norm[at + gap] !== '\n' && !isWordChar(norm[at + gap]!)) gap++;
    const joined = isNgramChar(prev[prev.length - 1]!) !== isNgramChar(word[0]!);
    if (gap > MAX_PHRASE_GAP || (gap === 0 && !joined) || !norm.startsWith(word, at + gap)) return -1;
    // A Latin-like word inside the phrase is whole: "the medication" is not "the medications helps".
    const after = norm[at + gap + word.length] ?? '';
    if (i < ws.length - 1 && !isNgramChar(word[word.length - 1]!) && isWordChar(after) && !isNgramChar(after)) return -1;
    at += gap + word.length;
  }
  return at;
}
