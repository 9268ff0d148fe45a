import { describe, expect, it } from 'vitest';
import { cleanTranscript } from './hallucination.js';

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
