/**
 * What a note holds: one JSON schema that the engine is constrained to (node-llama-cpp's
 * JSON-schema grammar locally, `response_format: json_schema` remotely) and the zod schema the
 * answer is validated against either way. Pure: no I/O.
 *
 * Every string has a maximum length and every list a maximum count, so the grammar is finite:
 * even a model that rambles (or random weights) must close the JSON within a bounded number of
 * tokens.
 */
import { z } from 'zod';

/** Bounds of a note's fields, in characters and items. */
export interface NoteLimits {
  titleChars: number;
  summaryChars: number;
  itemChars: number;
  /** Items in each list (key points, decisions, action items, questions). */
  maxItems: number;
  sectionChars: number;
}

/** Bounds for real models: a summary of a few paragraphs, a dozen items per list. */
export const DEFAULT_LIMITS: NoteLimits = { titleChars: 120, summaryChars: 2400, itemChars: 300, maxItems: 12, sectionChars: 1500 };

export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export type SentimentLabel = (typeof SENTIMENTS)[number];
/** Confidence is one of these steps: a bounded choice keeps the grammar finite. */
export const CONFIDENCE_STEPS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

/** The JSON schema of a note, for the grammar and `response_format`; `sections` come from the template. */
export function noteJsonSchema(sections: readonly string[], l: NoteLimits = DEFAULT_LIMITS): Record<string, unknown> {
  const s = (max: number) => ({ type: 'string', maxLength: max });
  // Names and times are short; never longer than an item.
  const short = Math.min(80, l.itemChars);
  const list = (item: unknown) => ({ type: 'array', items: item, maxItems: l.maxItems });
  const props: Record<string, unknown> = {
    title: s(l.titleChars),
    summary: s(l.summaryChars),
    key_points: list(s(l.itemChars)),
    decisions: list(s(l.itemChars)),
    action_items: list({
      type: 'object',
      properties: { who: s(short), what: s(l.itemChars), when: s(short) },
      required: ['who', 'what', 'when'],
      additionalProperties: false,
    }),
    open_questions: list(s(l.itemChars)),
    tone: {
      type: 'array',
      items: { type: 'object', properties: { speaker: s(short), tone: s(l.itemChars) }, required: ['speaker', 'tone'], additionalProperties: false },
      maxItems: 2,
    },
  };
  if (sections.length > 0) {
    props.sections = {
      type: 'object',
      properties: Object.fromEntries(sections.map((h) => [h, s(l.sectionChars)])),
      required: [...sections],
      additionalProperties: false,
    };
  }
  return { type: 'object', properties: props, required: Object.keys(props), additionalProperties: false };
}

const Text = z.string().max(20_000);

/** A note's content as validated after generation (looser than the grammar: a remote model's bounds are its own). */
export const NoteContent = z.object({
  title: Text,
  summary: Text,
  key_points: z.array(Text).max(100),
  decisions: z.array(Text).max(100),
  action_items: z.array(z.object({ who: Text, what: Text, when: Text })).max(100),
  open_questions: z.array(Text).max(100),
  tone: z.array(z.object({ speaker: Text, tone: Text })).max(10),
  sections: z.record(Text).optional(),
});
export type NoteContent = z.infer<typeof NoteContent>;

/** The JSON schema of one batch of segment sentiments: exactly `count` items, in segment order. */
export function sentimentJsonSchema(count: number): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          properties: { label: { enum: [...SENTIMENTS] }, confidence: { enum: [...CONFIDENCE_STEPS] } },
          required: ['label', 'confidence'],
          additionalProperties: false,
        },
        minItems: count,
        maxItems: count,
      },
    },
    required: ['items'],
    additionalProperties: false,
  };
}

export const SentimentBatch = z.object({
  items: z.array(z.object({ label: z.enum(SENTIMENTS), confidence: z.number().min(0).max(1) })).max(1000),
});
export type SentimentBatch = z.infer<typeof SentimentBatch>;

/** One segment's sentiment as stored and sent (`sentiment` message). */
export interface SegmentSentiment {
  segment_id: number;
  speaker_id: 0 | 1 | null;
  label: SentimentLabel;
  confidence: number;
}

export type ParsedNote = { ok: true; note: NoteContent } | { ok: false; message: string };

/** Parses a model's answer; never throws. Text around the JSON object (a remote model's preamble) is ignored. */
export function parseNote(text: string): ParsedNote {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0) return { ok: false, message: 'the model did not answer with a JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(end > start ? text.slice(start, end + 1) : text.slice(start));
  } catch {
    return { ok: false, message: 'the model answered with invalid JSON' };
  }
  const parsed = NoteContent.safeParse(value);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { ok: false, message: `the model's JSON does not match the note schema (${i?.path.join('.') || 'note'}: ${i?.message ?? 'invalid'})` };
  }
  return { ok: true, note: parsed.data };
}

/** Parses a sentiment batch of `count` segments; never throws. */
export function parseSentiments(text: string, count: number): SentimentBatch['items'] | null {
  try {
    const p = SentimentBatch.safeParse(JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)));
    return p.success && p.data.items.length === count ? p.data.items : null;
  } catch {
    return null;
  }
}
