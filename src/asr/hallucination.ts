/**
 * Whisper's output on non-speech, filtered. Pure: recognition in, text out.
 *
 * Whisper was trained on subtitles, so on silence, noise or music it tends to emit the
 * subtitle credits and sign-offs it saw most ("Thank you.", "Thanks for watching!",
 * "시청해 주셔서 감사합니다."), bracketed sound descriptions ("[BLANK_AUDIO]", "(music)"), or the
 * same phrase over and over.
 *
 * Two signals decide, Whisper's own confidence first:
 * 1. A segment Whisper itself rates as silence (no-speech probability above 0.6 *and* mean
 *    token log-probability below −1, the rule openai/whisper uses to skip a window) is dropped.
 * 2. A well-known silence phrase is dropped only when it is the *whole* output and Whisper was
 *    not confident in it (no-speech probability ≥ 0.2 or mean log-probability ≤ −0.6): a
 *    clearly spoken "Thank you." is kept. Without confidence figures (an engine that does not
 *    report them), the phrase is dropped, the safe reading for a chat transcript.
 * A real answer such as "Yes." or "Thank you very much for coming" is never a phrase match.
 */
import type { AsrResult, AsrSegment } from './types.js';

/** The confidence thresholds; the defaults are described above. */
export interface ConfidenceThresholds {
  /** Rule 1: a segment is silence when its no-speech probability is above this… */
  silenceNoSpeechProb: number;
  /** …and its mean log-probability below this. */
  silenceAvgLogprob: number;
  /** Rule 2: a phrase counts as confidently spoken below this no-speech probability… */
  phraseNoSpeechProb: number;
  /** …and above this mean log-probability. */
  phraseAvgLogprob: number;
}

export const DEFAULT_CONFIDENCE: ConfidenceThresholds = {
  silenceNoSpeechProb: 0.6,
  silenceAvgLogprob: -1,
  phraseNoSpeechProb: 0.2,
  phraseAvgLogprob: -0.6,
};

/** Non-speech annotations: [..], (..), fullwidth （..）, 【..】, *..* and ♪..♪ spans. */
const TAG_PATTERNS: readonly RegExp[] = [
  /\[[^\]]*\]/g,
  /\([^)]*\)/g,
  /（[^）]*）/g,
  /【[^】]*】/g,
  /\*[^*]+\*/g,
  /[♪♫♬]+[^♪♫♬]*[♪♫♬]+/g,
];

/**
 * Phrases Whisper invents on silence, compared after `loose()` (letters and digits only,
 * lower case), so punctuation, spacing and case do not matter.
 */
const SILENCE_PHRASES: ReadonlySet<string> = new Set(
  [
    // English
    'Thank you.',
    'Thank you!',
    'Thanks for watching!',
    'Thank you for watching.',
    'Thank you so much for watching.',
    'Thank you very much for watching.',
    'Thanks for watching and see you next time.',
    'Please subscribe.',
    'Please subscribe to my channel.',
    'Like and subscribe.',
    'Don\'t forget to like and subscribe.',
    'See you in the next video.',
    'you',
    // Korean
    '시청해 주셔서 감사합니다.',
    '시청해주셔서 감사합니다',
    '구독과 좋아요 부탁드립니다.',
    '구독과 좋아요 부탁드려요!',
    '감사합니다.',
    // Japanese
    'ご視聴ありがとうございました',
    'ご清聴ありがとうございました',
    'チャンネル登録よろしくお願いします',
    'ありがとうございました。',
    // Chinese
    '请不吝点赞 订阅 转发 打赏支持明镜与点点栏目',
    '請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目',
    '谢谢观看',
    '謝謝觀看',
    '感谢观看',
    '感謝觀看',
    '谢谢大家',
    '字幕由Amara.org社区提供',
    '小編字幕由Amara.org社區提供',
    // Russian
    'Продолжение следует...',
    'Спасибо за просмотр!',
    'Спасибо за внимание.',
    // German, French, Spanish, Italian, Portuguese
    'Vielen Dank fürs Zuschauen!',
    'Danke fürs Zuschauen.',
    'Merci d\'avoir regardé cette vidéo.',
    'Merci d\'avoir regardé.',
    'Gracias por ver el video.',
    '¡Gracias por ver!',
    'Grazie per la visione.',
    'Obrigado por assistir.',
  ].map(loose),
);

/**
 * Whole-output patterns (on the `loose()` form) for families with variable names or dates:
 * subtitle credits, Amara.org notices, broadcaster sign-offs.
 */
const SILENCE_PATTERNS: readonly RegExp[] = [
  /amaraorg/u, // "Subtitles by the Amara.org community", in every language
  /^(subtitles|captions|subtitled|transcribed|transcription) by\b/u,
  /^(english )?subtitles? (by|from)/u,
  /^untertitel(ung)? (im auftrag|der|von|des)/u,
  /^sous ?titr(es|age)( réalisés)? (par|de)/u,
  /^subt[ií]tulos (realizados|por|de)/u,
  /^sottotitoli (creati|a cura|di)/u,
  /^(редактор )?субтитр/u,
  /^(корректор|субтитры) /u,
  /^mbc ?뉴스/u,
  /^(中文)?字幕(由|志愿者|志願者|製作|制作|提供)/u,
];

/** Lower-cased letters and digits only: the form phrases are compared in. */
function loose(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function stripTags(text: string): string {
  let out = text;
  for (const pattern of TAG_PATTERNS) out = out.replace(pattern, ' ');
  return out;
}

/**
 * Collapses loops: a unit of 2–60 characters repeated 4+ times in a row keeps one copy
 * ("ha ha ha ha ha" → "ha", "ありがとうありがとうありがとうありがとう" → "ありがとう"), and an
 * output made only of the same sentence 2+ times keeps one ("Thank you. Thank you.").
 */
function collapseRepeats(text: string): string {
  let out = text.replace(/(\S.{0,58}?\S)(?:[\s,.!?。、！？]*\1){3,}/gu, '$1');
  const sentences = out.split(/(?<=[.!?。！？])\s*/u).map((s) => s.trim()).filter(Boolean);
  if (sentences.length >= 2) {
    const first = loose(sentences[0]!);
    if (first && sentences.every((s) => loose(s) === first)) out = sentences[0]!;
  }
  return out;
}

function isSilencePhrase(text: string): boolean {
  const l = loose(text);
  if (SILENCE_PHRASES.has(l)) return true;
  // Long credit lines are the hallucination; a long utterance that mentions them is speech.
  if (l.split(' ').length > 16) return false;
  return SILENCE_PATTERNS.some((p) => p.test(l));
}

/**
 * Cleans one Whisper text: '' when it holds no speech (empty, punctuation only, non-speech
 * tags only, or — unless `confident` — a well-known silence hallucination as the whole
 * output); otherwise the text with tags removed, loops collapsed and whitespace tidied.
 */
export function cleanTranscript(text: string, confident = false): string {
  const untagged = stripTags(text).replace(/\s+/gu, ' ').trim();
  if (!/[\p{L}\p{N}]/u.test(untagged)) return '';
  const collapsed = collapseRepeats(untagged).replace(/\s+([,.!?])/gu, '$1').trim();
  if (!confident && isSilencePhrase(collapsed)) return '';
  return collapsed;
}

/**
 * Cleans one recognition using Whisper's confidence (see the file comment): drops the
 * segments Whisper rates as silence, then applies `cleanTranscript`, keeping a silence phrase
 * only when every remaining segment was confidently recognised.
 */
export function cleanRecognition(result: AsrResult, thresholds: ConfidenceThresholds = DEFAULT_CONFIDENCE): string {
  if (result.segments.length === 0) return cleanTranscript(result.text);
  const kept = result.segments.filter((s) => !isSilence(s, thresholds));
  if (kept.length === 0) return '';
  const confident = kept.every((s) => s.noSpeechProb < thresholds.phraseNoSpeechProb && s.avgLogprob > thresholds.phraseAvgLogprob);
  return cleanTranscript(kept.map((s) => s.text.trim()).join(' '), confident);
}

function isSilence(s: AsrSegment, t: ConfidenceThresholds): boolean {
  return s.noSpeechProb > t.silenceNoSpeechProb && s.avgLogprob < t.silenceAvgLogprob;
}
