import { describe, expect, it } from 'vitest';
import { commonWordPrefix, LocalAgreement, wordsOf } from './local-agreement.js';

describe('LocalAgreement (LocalAgreement-2)', () => {
  it('finds the common word prefix without case or punctuation', () => {
    expect(commonWordPrefix(wordsOf('Hello, world how'), wordsOf('hello world who'))).toBe(2);
    expect(commonWordPrefix([], wordsOf('a b'))).toBe(0);
    expect(commonWordPrefix(wordsOf('I went'), wordsOf('I want'))).toBe(1);
  });

  it('settles nothing on the first hypothesis, then the prefix two hypotheses share', () => {
    const la = new LocalAgreement();
    expect(la.update('I went to')).toEqual({ text: 'I went to', stable: '' });
    expect(la.update('I went to the sto')).toEqual({ text: 'I went to the sto', stable: 'I went to' });
    expect(la.update('I went to the store and')).toEqual({ text: 'I went to the store and', stable: 'I went to the' });
  });

  it('is word-aligned: a word cut mid-way is not stable until it agrees whole', () => {
    const la = new LocalAgreement();
    la.update('the weath');
    expect(la.update('the weather is').stable).toBe('the');
    expect(la.update('the weather is fine').stable).toBe('the weather is');
  });

  it('only grows: a later hypothesis that disagrees keeps the stable words and shows them first', () => {
    const la = new LocalAgreement();
    la.update('we need more time');
    expect(la.update('we need more tea').stable).toBe('we need more');
    const r = la.update('she needs more tea please');
    expect(r.stable).toBe('we need more');
    expect(r.text.startsWith(r.stable)).toBe(true);
    expect(r.text).toBe('we need more tea please');
    // Agreement resumes once hypotheses carry the stable prefix again.
    la.update('we need more tea please now');
    expect(la.update('we need more tea please now ok').stable).toBe('we need more tea please now');
  });

  it('keeps the spelling a word had when it settled', () => {
    const la = new LocalAgreement();
    la.update('Hello, there');
    expect(la.update('hello there friend')).toEqual({ text: 'hello there friend', stable: 'hello there' });
    expect(la.update('Hello there, friend!')).toEqual({ text: 'hello there friend!', stable: 'hello there friend!' });
  });

  it('handles empty hypotheses', () => {
    const la = new LocalAgreement();
    expect(la.update('')).toEqual({ text: '', stable: '' });
    expect(la.update('  ')).toEqual({ text: '', stable: '' });
    expect(la.update('yes')).toEqual({ text: 'yes', stable: '' });
  });
});
