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
 * whole words (a prefix term: the start of one); n-gram words match anywhere (particles).
 */
export function findTerm(norm: string, term: Term): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const needle = term.text;
  if (needle === '') return out;
  const startsLatin = !isNgramChar(needle[0]!);
  const endsLatin = !isNgramChar(needle[needle.length - 1]!);
  let at = norm.indexOf(needle);
  while (at >= 0 && out.length < 1000) {
    const before = at > 0 ? norm[at - 1]! : '';
    const after = norm[at + needle.length] ?? '';
    const startOk = !startsLatin || !isWordChar(before) || isNgramChar(before);
    const endOk = term.prefix || !endsLatin || !isWordChar(after) || isNgramChar(after);
    if (startOk && endOk) out.push([at, at + needle.length]);
    at = norm.indexOf(needle, at + 1);
  }
  return out;
}
