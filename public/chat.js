/**
 * The conversation view: one bubble per `segment`, filled by its `transcription` (and shown
 * earlier, with interim text, from its first `partial`).
 * Speaker 1 on the left, speaker 2 on the right, an unknown speaker centred and muted.
 * Each bubble carries `data-segment-id`, `data-speaker` (0, 1 or "none"), `data-start` and
 * `data-end` (seconds, as on the wire) so tests and exports can read it back.
 */
import { t } from './i18n.js';

/** Distance from the bottom (px) within which the view still counts as "at the latest message". */
const STICKY_PX = 48;

/** `83.4` → `01:23`; hours appear only when needed. */
export function formatClock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class ChatView {
  /**
   * @param {HTMLElement} log the scrolling `role=log` container
   * @param {HTMLButtonElement} jumpButton shown when new messages arrive while scrolled up
   * @param {(speakerId: 0 | 1) => string} nameOf current display name of a speaker
   */
  constructor(log, jumpButton, nameOf) {
    this.log = log;
    this.jump = jumpButton;
    this.nameOf = nameOf;
    /** segment_id → bubble, for the current conversation only (ids restart each time). */
    this.bubbles = new Map();
    /** Every conversation's entries, for export: { kind: 'divider', text } | { kind: 'msg', bubble }. */
    this.entries = [];
    this.stick = true;
    this.empty = log.querySelector('.chat-empty');
    log.addEventListener('scroll', () => {
      this.stick = log.scrollHeight - log.scrollTop - log.clientHeight <= STICKY_PX;
      if (this.stick) this.jump.hidden = true;
    });
    jumpButton.addEventListener('click', () => {
      this.stick = true;
      this.scrollToEnd();
      this.jump.hidden = true;
    });
  }

  get count() {
    return this.entries.filter((e) => e.kind === 'msg').length;
  }

  /**
   * The highest segment id of the current conversation up to which every bubble is complete
   * (its transcription arrived); -1 when there is none. A resume asks the server for everything
   * after it, so a bubble still waiting for its text gets that text, and nothing shows twice.
   */
  lastCompleteId() {
    let maxId = -1;
    let minPending = Infinity;
    for (const [id, bubble] of this.bubbles) {
      if (id > maxId) maxId = id;
      if (bubble.classList.contains('pending') && id < minPending) minPending = id;
    }
    return minPending === Infinity ? maxId : minPending - 1;
  }

  /** Empties the view (for showing a stored conversation). */
  clear() {
    this.bubbles = new Map();
    this.entries = [];
    this.log.replaceChildren();
    this.stick = true;
    this.jump.hidden = true;
  }

  /** Starts a new conversation: a divider with the wall-clock time, fresh segment ids. */
  beginConversation() {
    this.bubbles = new Map();
    const text = t('conversationStarted', {
      time: new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    });
    const divider = el('div', 'chat-divider', text);
    divider.setAttribute('role', 'separator');
    this.#append(divider);
    this.entries.push({ kind: 'divider', text });
  }

  /** A `segment` message: a bubble with a typing indicator. */
  addSegment(msg) {
    let bubble = this.bubbles.get(msg.segment_id);
    if (!bubble) {
      bubble = el('article', 'bubble pending');
      const head = el('header', 'bubble-head');
      head.append(el('span', 'bubble-name'), el('time', 'bubble-time'));
      const body = el('p', 'bubble-text');
      const dots = el('span', 'typing');
      const dot = () => {
        const d = el('span', 'dot');
        d.setAttribute('aria-hidden', 'true');
        return d;
      };
      dots.append(dot(), dot(), dot(), el('span', 'sr-only', t('typing')));
      body.append(dots);
      bubble.append(head, body);
      this.bubbles.set(msg.segment_id, bubble);
      bubble.dataset.segmentId = String(msg.segment_id);
      this.#setSpeaker(bubble, msg.speaker_id, msg.start, msg.end);
      this.#append(bubble);
      this.entries.push({ kind: 'msg', bubble });
    } else {
      this.#setSpeaker(bubble, msg.speaker_id, msg.start, msg.end);
    }
    if (msg.type === 'segment') bubble.classList.add('has-segment');
  }

  /**
   * A `partial` message (interim text of the segment still open): the bubble appears with the
   * first one, on the guessed speaker's side (centred while the guess is null), the `stable`
   * words in normal text and the rest lighter, and grows in place. The interim words are hidden
   * from screen readers (the log announces the bubble once and then its final text only). A
   * partial after the bubble's final text is stale and ignored.
   */
  addPartial(msg) {
    let bubble = this.bubbles.get(msg.segment_id);
    if (bubble && !bubble.classList.contains('pending')) return;
    if (!bubble) {
      this.addSegment({ segment_id: msg.segment_id, speaker_id: msg.speaker_id, start: msg.start, end: msg.start });
      bubble = this.bubbles.get(msg.segment_id);
    } else if (!bubble.classList.contains('has-segment')) {
      this.#setSpeaker(bubble, msg.speaker_id, msg.start, msg.start);
    }
    const body = bubble.querySelector('.bubble-text');
    let interim = body.querySelector('.interim');
    if (!interim) {
      interim = el('span', 'interim');
      interim.setAttribute('aria-hidden', 'true');
      interim.append(el('span', 'interim-stable'), el('span', 'interim-rest'));
      body.prepend(interim);
      bubble.classList.add('has-partial');
    }
    const text = String(msg.text ?? '');
    const stable = String(msg.stable ?? '');
    const head = text.startsWith(stable) ? stable : '';
    interim.firstChild.textContent = head;
    interim.lastChild.textContent = text.slice(head.length);
    bubble.dataset.partial = text;
    this.#follow();
  }

  /** A `transcription` message: fills (or creates, if its segment was missed) the bubble. */
  addTranscription(msg) {
    if (!this.bubbles.has(msg.segment_id)) this.addSegment(msg);
    const bubble = this.bubbles.get(msg.segment_id);
    this.#setSpeaker(bubble, msg.speaker_id, msg.start, msg.end);
    const body = bubble.querySelector('.bubble-text');
    // The final text replaces the interim one in the same bubble (same place, no new node).
    bubble.classList.remove('pending', 'has-partial');
    delete bubble.dataset.partial;
    if (msg.text === null) {
      body.textContent = t('noAsr');
      bubble.classList.add('no-text');
    } else if (msg.text.trim() === '') {
      body.textContent = t('noText');
      bubble.classList.add('no-text', 'blank');
    } else {
      body.textContent = msg.text.trim();
    }
    bubble.dataset.text = msg.text === null ? '' : msg.text.trim();
    this.#follow();
  }

  /** Updates names after a rename. */
  refreshNames() {
    for (const { kind, bubble } of this.entries) {
      if (kind !== 'msg') continue;
      const sid = bubble.dataset.speaker;
      bubble.querySelector('.bubble-name').textContent = sid === 'none' ? t('unknownSpeaker') : this.nameOf(Number(sid));
    }
  }

  /** The whole history as plain text, one line per message. */
  toText() {
    const lines = [];
    for (const entry of this.entries) {
      if (entry.kind === 'divider') {
        if (lines.length > 0) lines.push('');
        lines.push(`— ${entry.text} —`);
        continue;
      }
      const b = entry.bubble;
      const name = b.querySelector('.bubble-name').textContent;
      const text = b.classList.contains('pending') ? '' : b.dataset.text || b.querySelector('.bubble-text').textContent;
      lines.push(`[${formatClock(Number(b.dataset.start))}] ${name}: ${text}`);
    }
    return lines.join('\n') + '\n';
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  #setSpeaker(bubble, speakerId, start, end) {
    const sid = speakerId === 0 || speakerId === 1 ? speakerId : null;
    bubble.dataset.speaker = sid === null ? 'none' : String(sid);
    bubble.dataset.start = String(start);
    bubble.dataset.end = String(end);
    bubble.classList.toggle('left', sid === 0);
    bubble.classList.toggle('right', sid === 1);
    bubble.classList.toggle('unknown', sid === null);
    bubble.querySelector('.bubble-name').textContent = sid === null ? t('unknownSpeaker') : this.nameOf(sid);
    const time = bubble.querySelector('.bubble-time');
    time.textContent = formatClock(start);
    time.dateTime = `PT${Math.max(0, Number(start) || 0).toFixed(1)}S`;
  }

  #append(node) {
    if (this.empty) {
      this.empty.remove();
      this.empty = null;
    }
    this.log.append(node);
    this.#follow();
  }

  #follow() {
    if (this.stick) this.scrollToEnd();
    else this.jump.hidden = false;
  }
}
