/**
 * Live sentiment: as each `transcription` of a live conversation arrives, its segment is
 * labelled positive / neutral / negative and a `sentiment` message goes to the client — only
 * when the user turned it on (NOTES_LIVE_SENTIMENT) and the engine has headroom: no note is
 * being written and no other live label is in flight. A segment that finds the engine busy is
 * skipped (its label comes with the next note's batch), so live sessions never queue behind
 * the model and memory never grows.
 */
import type { Logger } from '../log.js';
import type { ServerMessage } from '../protocol/messages.js';
import type { NoteEngine } from './engine.js';
import { sentimentMessages } from './prompt.js';
import { parseSentiments, sentimentJsonSchema } from './schema.js';

/** The `sentiment` server message (documented in docs/notes.md). */
export type SentimentMessage = Extract<ServerMessage, { type: 'sentiment' }>;

export interface LiveSentimentOptions {
  engine: NoteEngine;
  /** True while a note is queued or being written (then live labels are skipped). */
  busy(): boolean;
  /** One label's time limit, ms. */
  timeoutMs?: number;
  log?: Logger;
}

/** Longest text labelled live, characters (a segment is at most 30 s of speech). */
const MAX_TEXT_CHARS = 1000;

export class LiveSentiment {
  private inFlight = false;
  /** Segments labelled and skipped, for the log and tests. */
  readonly counts = { labelled: 0, skipped: 0 };

  constructor(private readonly opts: LiveSentimentOptions) {}

  /** Called for each transcription sent to a client; `send` delivers the label if the client is still there. */
  onTranscription(msg: { conversation_id?: string; segment_id: number; speaker_id: 0 | 1 | null; text: string | null }, send: (m: SentimentMessage) => void): void {
    const text = (msg.text ?? '').trim();
    if (text === '') return;
    if (this.inFlight || this.opts.busy()) {
      this.counts.skipped++;
      return;
    }
    this.inFlight = true;
    const turn = { segment_id: msg.segment_id, speaker_id: msg.speaker_id, speaker: msg.speaker_id === null ? 'Unknown' : `Speaker ${msg.speaker_id + 1}`, start: 0, text: text.slice(0, MAX_TEXT_CHARS) };
    void this.opts.engine
      .generate({ messages: sentimentMessages([turn]), jsonSchema: sentimentJsonSchema(1), maxTokens: 256, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) })
      .then((answer) => {
        const items = parseSentiments(answer, 1);
        if (!items) return;
        this.counts.labelled++;
        send({ type: 'sentiment', ...(msg.conversation_id ? { conversation_id: msg.conversation_id } : {}), segment_id: msg.segment_id, speaker_id: msg.speaker_id, label: items[0]!.label, confidence: items[0]!.confidence });
      })
      .catch((err: Error) => this.opts.log?.debug(`live sentiment skipped: ${err.message}`))
      .finally(() => (this.inFlight = false));
  }
}
