import { describe, expect, it } from 'vitest';
import { noteJsonSchema, parseNote, parseSentiments, sentimentJsonSchema } from './schema.js';

const note = { title: 't', summary: 's', key_points: [], decisions: [], action_items: [{ who: 'Ben', what: 'send', when: '' }], open_questions: [], tone: [] };

describe('note schema', () => {
  it('every object is closed and every field required (OpenAI strict mode, finite grammar)', () => {
    const walk = (s: Record<string, unknown>): void => {
      if (s.type === 'object') {
        expect(s.additionalProperties).toBe(false);
        expect((s.required as string[]).sort()).toEqual(Object.keys(s.properties as object).sort());
        for (const p of Object.values(s.properties as Record<string, Record<string, unknown>>)) walk(p);
      }
      if (s.type === 'array') {
        expect(typeof s.maxItems).toBe('number');
        walk(s.items as Record<string, unknown>);
      }
      if (s.type === 'string') expect(typeof s.maxLength).toBe('number');
    };
    walk(noteJsonSchema(['Subjective', 'Plan']));
    walk(sentimentJsonSchema(3));
  });

  it('parses a note, ignoring a preamble; rejects invalid JSON and the wrong shape with a reason', () => {
    expect(parseNote(`Here you go: ${JSON.stringify(note)}`)).toMatchObject({ ok: true, note: { action_items: [{ who: 'Ben' }] } });
    expect(parseNote('{"title": "x", "summ')).toMatchObject({ ok: false, message: expect.stringMatching(/invalid JSON/) });
    expect(parseNote('a poem, not JSON')).toMatchObject({ ok: false, message: expect.stringMatching(/JSON object/) });
    expect(parseNote(JSON.stringify({ poem: 'roses' }))).toMatchObject({ ok: false, message: expect.stringMatching(/schema/) });
  });

  it('parses a sentiment batch only with the right count', () => {
    const text = JSON.stringify({ items: [{ label: 'positive', confidence: 0.8 }, { label: 'negative', confidence: 0.5 }] });
    expect(parseSentiments(text, 2)).toHaveLength(2);
    expect(parseSentiments(text, 3)).toBeNull();
    expect(parseSentiments('{"items": [{"label": "happy", "confidence": 1}]}', 1)).toBeNull();
    expect(parseSentiments('nope', 1)).toBeNull();
  });
});
