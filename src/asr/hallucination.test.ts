import { describe, expect, it } from 'vitest';
import { cleanRecognition, cleanTranscript } from './hallucination.js';
import type { AsrSegment } from './types.js';

describe('cleanTranscript', () => {
  it.each([
    [''],
    ['   '],
    ['.'],
    [' ... '],
    ['?!'],
    ['-'],
    ['♪'],
    [' [BLANK_AUDIO]'],
    ['[ Silence ]'],
    ['(music)'],
    ['(upbeat music) [applause]'],
    ['*coughs*'],
    ['♪ la la la ♪'],
    ['（拍手）'],
  ])('drops non-speech output %j', (text) => {
    expect(cleanTranscript(text)).toBe('');
  });

  it.each([
    ['Thank you.'],
    [' thank you'],
    ['Thank you. Thank you. Thank you.'],
    ['Thanks for watching!'],
    ['Thank you for watching.'],
    ['Subtitles by the Amara.org community'],
    ['Sous-titres réalisés par la communauté d\'Amara.org'],
    ['Untertitel im Auftrag des ZDF, 2017'],
    ['시청해 주셔서 감사합니다.'],
    ['시청해주셔서 감사합니다'],
    ['ご視聴ありがとうございました'],
    ['请不吝点赞 订阅 转发 打赏支持明镜与点点栏目'],
    ['Продолжение следует...'],
    ['Редактор субтитров А.Синецкая Корректор А.Кулакова'],
    ['MBC 뉴스 이덕영입니다.'],
    ['字幕由Amara.org社区提供'],
    [' you'],
  ])('drops the silence hallucination %j', (text) => {
    expect(cleanTranscript(text)).toBe('');
  });

  it.each([
    ['Yes.', 'Yes.'],
    [' No.', 'No.'],
    ['OK', 'OK'],
    ['Thank you very much for coming', 'Thank you very much for coming'],
    ['Thank you for watching the kids yesterday.', 'Thank you for watching the kids yesterday.'],
    ['I watched it, thank you.', 'I watched it, thank you.'],
    ['네.', '네.'],
    ['はい、そうです。', 'はい、そうです。'],
    ['好的', '好的'],
    ['Да.', 'Да.'],
    ['42', '42'],
  ])('keeps real speech %j', (text, expected) => {
    expect(cleanTranscript(text)).toBe(expected);
  });

  it('removes tags inside speech and tidies spacing', () => {
    expect(cleanTranscript(' So [laughs] we went  home (inaudible) .')).toBe('So we went home.');
  });

  it('collapses trivially repeated output', () => {
    expect(cleanTranscript('I think so. I think so. I think so.')).toBe('I think so.');
    expect(cleanTranscript('and then and then and then and then and then we left')).toBe('and then we left');
    expect(cleanTranscript('ありがとうありがとうありがとうありがとうありがとう')).toBe('ありがとう');
  });

  it('keeps ordinary repetition short of a loop', () => {
    expect(cleanTranscript('No, no, that is fine.')).toBe('No, no, that is fine.');
    expect(cleanTranscript('very very good')).toBe('very very good');
  });
});

describe('cleanRecognition (Whisper\'s own confidence)', () => {
  const seg = (text: string, noSpeechProb: number, avgLogprob: number): AsrSegment => ({ text, noSpeechProb, avgLogprob });
  const one = (text: string, noSpeechProb: number, avgLogprob: number) => ({ text, segments: [seg(text, noSpeechProb, avgLogprob)] });

  it('keeps a clearly spoken "Thank you." (low no-speech probability, good log-probability)', () => {
    expect(cleanRecognition(one(' Thank you.', 0.02, -0.25))).toBe('Thank you.');
    expect(cleanRecognition(one('감사합니다.', 0.05, -0.3))).toBe('감사합니다.');
    expect(cleanRecognition(one(' you', 0.01, -0.1))).toBe('you');
  });

  it('drops the same phrase when Whisper doubted it was speech, or doubted the words', () => {
    expect(cleanRecognition(one(' Thank you.', 0.45, -0.3))).toBe('');
    expect(cleanRecognition(one(' Thank you.', 0.05, -0.9))).toBe('');
    expect(cleanRecognition(one(' Thanks for watching!', 0.3, -0.7))).toBe('');
  });

  it('drops the phrase when the engine reports no confidence at all (the safe reading)', () => {
    expect(cleanRecognition({ text: ' Thank you.', segments: [] })).toBe('');
  });

  it('drops a segment Whisper itself rates as silence, whatever its text', () => {
    expect(cleanRecognition(one(' I will see you at nine tomorrow.', 0.8, -1.4))).toBe('');
    // One of the two conditions is not enough: a likely no-speech window with confident words is speech.
    expect(cleanRecognition(one(' I will see you at nine tomorrow.', 0.8, -0.3))).toBe('I will see you at nine tomorrow.');
    expect(cleanRecognition(one(' I will see you at nine tomorrow.', 0.1, -1.4))).toBe('I will see you at nine tomorrow.');
  });

  it('keeps the speech segments and drops the silent ones of a multi-segment output', () => {
    const r = {
      text: ' We can meet on Monday. Thanks for watching!',
      segments: [seg(' We can meet on Monday.', 0.01, -0.2), seg(' Thanks for watching!', 0.9, -1.5)],
    };
    expect(cleanRecognition(r)).toBe('We can meet on Monday.');
  });

  it('still removes tags, loops and non-speech output from confident text', () => {
    expect(cleanRecognition(one(' [BLANK_AUDIO]', 0.01, -0.1))).toBe('');
    expect(cleanRecognition(one(' So [laughs] we went home.', 0.01, -0.2))).toBe('So we went home.');
    expect(cleanRecognition(one('ha ha ha ha ha ha', 0.01, -0.2))).toBe('ha');
  });
});
