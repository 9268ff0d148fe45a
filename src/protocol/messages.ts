/**
 * Wire protocol (see docs/protocol.md): one zod schema per client message, typed server
 * messages, and a parser that never throws. No I/O here.
 */
import { z } from 'zod';

/** Largest text frame we parse; anything longer is refused before JSON.parse. */
export const MAX_TEXT_FRAME_BYTES = 4096;
/** JSON nesting deeper than this is refused (a control message is one flat object). */
export const MAX_JSON_DEPTH = 4;

const speakerId = z.union([z.literal(0), z.literal(1)]);

export const StartSpeakerRegistration = z
  .object({
    type: z.literal('start_speaker_registration'),
    speaker_id: speakerId,
    name: z.string().max(40).optional(),
  })
  .strict();

export const CompleteSpeakerRegistration = z
  .object({
    type: z.literal('complete_speaker_registration'),
    speaker_id: speakerId,
  })
  .strict();

/** `auto` or an ISO 639-1 code (two lowercase letters). */
export const Language = z.union([z.literal('auto'), z.string().regex(/^[a-z]{2}$/)]);

/** Conversation and saved-voice ids: 128 random bits in base64url. */
export const StoredId = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be a 22-character id');

export const StartTranscription = z
  .object({
    type: z.literal('start_transcription'),
    language: Language.optional(),
    /** Resume this conversation instead of starting a new one. */
    conversation_id: StoredId.optional(),
    /** Highest segment_id the client has shown; -1 = none. */
    last_segment_id: z.number().int().min(-1).optional(),
  })
  .strict();

export const StopTranscription = z.object({ type: z.literal('stop_transcription') }).strict();

/** Saves a registered voice's embeddings under a name, for later conversations. */
export const SaveVoice = z
  .object({
    type: z.literal('save_voice'),
    speaker_id: speakerId,
    name: z.string().max(40).optional(),
  })
  .strict();

/** Takes a saved voice as speaker `speaker_id` instead of registering again. */
export const UseSavedVoice = z
  .object({
    type: z.literal('use_saved_voice'),
    speaker_id: speakerId,
    voice_id: StoredId,
  })
  .strict();

export const ClientMessage = z.discriminatedUnion('type', [
  StartSpeakerRegistration,
  CompleteSpeakerRegistration,
  StartTranscription,
  StopTranscription,
  SaveVoice,
  UseSavedVoice,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export const CLIENT_MESSAGE_TYPES: readonly string[] = ClientMessage.options.map((o) => o.shape.type.value);

/** Stable error codes sent in `error.code`. */
export type ErrorCode =
  | 'bad_json'
  | 'unknown_type'
  | 'bad_message'
  | 'frame_too_large'
  | 'odd_length_audio'
  | 'unexpected_audio'
  | 'wrong_state'
  | 'registration_too_long'
  | 'conversation_too_long'
  | 'not_registered'
  | 'overloaded'
  | 'asr_failed'
  | 'server_busy'
  | 'unknown_conversation'
  | 'conversation_busy'
  | 'storage_failed'
  | 'front_crashed'
  | 'internal';

export type SpeakerId = 0 | 1;

export type ServerMessage =
  | { type: 'model_loaded'; message: string; models: { asr: string | null; speaker: string; vad: string } }
  | { type: 'speaker_registration_started'; speaker_id: SpeakerId; message: string }
  | {
      type: 'speaker_registration_completed';
      speaker_id: SpeakerId;
      message: string;
      speech_seconds: number;
      /** Set when the voice came from `use_saved_voice`. */
      voice_id?: string;
      name?: string;
    }
  | {
      type: 'speaker_registration_failed';
      speaker_id: SpeakerId;
      message: string;
      reason: 'too_short' | 'too_quiet' | 'too_similar' | 'unknown_voice' | 'voice_incompatible' | (string & {});
    }
  | { type: 'voice_saved'; speaker_id: SpeakerId; voice_id: string; name: string }
  | {
      type: 'transcription_started';
      language: string;
      conversation_id?: string;
      resumed?: boolean;
      next_segment_id?: number;
      /** Seconds of conversation audio the server already has; the client resends from there. */
      resume_from?: number;
    }
  | {
      type: 'segment';
      conversation_id?: string;
      segment_id: number;
      speaker_id: SpeakerId | null;
      start: number;
      end: number;
      similarity: [number, number];
    }
  | {
      type: 'transcription';
      conversation_id?: string;
      segment_id: number;
      speaker_id: SpeakerId | null;
      text: string | null;
      timestamp: string;
      start: number;
      end: number;
    }
  | {
      /**
       * Interim text of the segment still open (docs/partials.md): the id its `segment` will
       * carry, the change watch's speaker guess (null = undecided), its start (s), the whole text
       * so far and `stable`, the prefix of `text` that will not change any more. Every partial of
       * a segment comes before its `segment`; the final text may differ.
       */
      type: 'partial';
      conversation_id?: string;
      segment_id: number;
      speaker_id: SpeakerId | null;
      start: number;
      text: string;
      stable: string;
    }
  | { type: 'transcription_stopped'; segments: number }
  /** A live segment's sentiment (NOTES_LIVE_SENTIMENT; docs/notes.md). */
  | {
      type: 'sentiment';
      conversation_id?: string;
      segment_id: number;
      speaker_id: SpeakerId | null;
      label: 'positive' | 'neutral' | 'negative';
      /** 0.1 … 1. */
      confidence: number;
    }
  | { type: 'error'; code: ErrorCode; message: string };

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; message: string };

/** Depth of nested objects/arrays in a parsed JSON value, without recursion limits of its own. */
function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth]);
  }
  return max;
}

/**
 * Parses one text frame into a client message. Never throws: a bad frame yields a coded
 * error suitable for an `error` reply.
 */
export function parseClientMessage(text: string): ParseResult {
  if (Buffer.byteLength(text, 'utf8') > MAX_TEXT_FRAME_BYTES) {
    return { ok: false, code: 'frame_too_large', message: `text frames are limited to ${MAX_TEXT_FRAME_BYTES} bytes` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_json', message: 'text frames must be JSON objects' };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, code: 'bad_json', message: 'text frames must be JSON objects' };
  }
  if (jsonDepth(raw) > MAX_JSON_DEPTH) {
    return { ok: false, code: 'bad_message', message: 'message is nested too deeply' };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !CLIENT_MESSAGE_TYPES.includes(type)) {
    return { ok: false, code: 'unknown_type', message: `unknown message type: ${String(type).slice(0, 40)}` };
  }
  const parsed = ClientMessage.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || type;
    return { ok: false, code: 'bad_message', message: `invalid ${type}: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, message: parsed.data };
}

/** Rounds a sample index to wire seconds with millisecond precision. */
export function samplesToSeconds(sample: number, sampleRate = 16_000): number {
  return Math.round((sample / sampleRate) * 1000) / 1000;
}
