/**
 * Fix and find, on the page: edit-in-place and a small menu on each bubble of a stored
 * conversation (other speaker, unknown, split here, merge with next, delete), undo of the last
 * change, a mark on corrected bubbles; and the search box of History with results as you type.
 * Strings live here (English and Korean) so that this feature stays in its own module.
 */
import { lang } from './i18n.js';

const STRINGS = {
  en: {
    edit: 'Edit text',
    menu: 'Correct this message',
    otherSpeaker: 'Give to the other speaker',
    unknown: 'Unknown speaker',
    splitHere: 'Split here',
    mergeNext: 'Merge with next',
    remove: 'Delete message',
    undo: 'Undo',
    undone: 'Undone.',
    saved: 'Saved.',
    edited: 'edited',
    original: 'Original: {text}',
    conflict: 'This message was changed elsewhere; the latest version is shown.',
    failed: 'That did not work: {message}',
    searchLabel: 'Search all conversations',
    searchPlaceholder: 'Search words, names, "a phrase"…',
    searching: 'Searching…',
    noResults: 'Nothing found.',
    results: '{n} conversation(s) found',
    moreResults: 'More results',
    indexing: 'Still indexing ({done} of {total}); results may be incomplete.',
  },
  ko: {
    edit: '텍스트 편집',
    menu: '이 메시지 고치기',
    otherSpeaker: '다른 화자로 바꾸기',
    unknown: '알 수 없는 화자',
    splitHere: '여기서 나누기',
    mergeNext: '다음 메시지와 합치기',
    remove: '메시지 삭제',
    undo: '실행 취소',
    undone: '되돌렸습니다.',
    saved: '저장했습니다.',
    edited: '수정됨',
    original: '원래 문장: {text}',
    conflict: '다른 곳에서 이 메시지가 바뀌었습니다. 최신 내용을 보여 드립니다.',
    failed: '실패했습니다: {message}',
    searchLabel: '모든 대화 검색',
    searchPlaceholder: '단어, 이름, "문구" 검색…',
    searching: '검색 중…',
    noResults: '찾은 결과가 없습니다.',
    results: '대화 {n}개를 찾았습니다',
    moreResults: '결과 더 보기',
    indexing: '아직 색인 중입니다 ({done}/{total}). 결과가 빠질 수 있습니다.',
  },
};

export function tr(key, params = {}) {
  const template = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The `{error: {code, message}}` of a failed API call, when the answer carried one. */
function errorCode(err) {
  try {
    return JSON.parse(err.message).error.code;
  } catch {
    return null;
  }
}

function errorText(err) {
  try {
    return JSON.parse(err.message).error.message;
  } catch {
    return err.message;
  }
}

/** Caret offset inside `node`'s text, or null when the selection is elsewhere. */
function caretIn(node) {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return null;
  const range = sel.getRangeAt(0);
  if (!node.contains(range.startContainer)) return null;
  const pre = document.createRange();
  pre.selectNodeContents(node);
  pre.setEnd(range.startContainer, range.startOffset);
  return pre.toString().length;
}

/** A split point near the middle of `text`, at a space when there is one. */
function middleOf(text) {
  const mid = Math.floor(text.length / 2);
  for (let d = 0; d < mid; d++) {
    if (text[mid + d] === ' ') return mid + d + 1;
    if (text[mid - d] === ' ') return mid - d + 1;
  }
  return mid;
}

/**
 * Corrections on the bubbles of the history viewer. `reload(focusId)` re-reads and re-renders
 * the conversation (the server's view is the truth after every change).
 */
export class TranscriptEditor {
  /**
   * @param {import('./api.js').Api} api
   * @param {{ toast: (text: string, kind?: string) => void, reload: (focusId?: number) => Promise<void>, undoButton: HTMLButtonElement }} opts
   */
  constructor(api, opts) {
    this.api = api;
    this.opts = opts;
    this.conversationId = null;
    this.undoable = 0;
    this.busy = false;
    this.openMenu = null;
    opts.undoButton.textContent = tr('undo');
    opts.undoButton.addEventListener('click', () => this.undo());
    opts.undoButton.disabled = true;
    document.addEventListener('click', (e) => {
      if (this.openMenu && !this.openMenu.contains(e.target)) this.#closeMenu(false);
    });
  }

  /** Adds the editing affordances to the bubbles of `rec` shown in `chat`. */
  decorate(chat, rec) {
    if (this.conversationId !== rec.id) {
      this.conversationId = rec.id;
      this.undoable = 0;
    }
    this.opts.undoButton.disabled = this.undoable === 0;
    const segments = Array.isArray(rec.segments) ? rec.segments : [];
    segments.forEach((seg, i) => {
      const bubble = chat.bubbles.get(seg.segment_id);
      if (!bubble) return;
      bubble.dataset.revision = String(seg.revision ?? '');
      const head = bubble.querySelector('.bubble-head');
      if (seg.corrected) {
        bubble.classList.add('corrected');
        const mark = el('span', 'bubble-edited', tr('edited'));
        if (seg.original && typeof seg.original.text === 'string') mark.title = tr('original', { text: seg.original.text });
        head.append(mark);
      }
      const text = bubble.querySelector('.bubble-text');
      if (typeof seg.text === 'string' && seg.text.trim() !== '') {
        text.tabIndex = 0;
        text.setAttribute('role', 'textbox');
        text.setAttribute('aria-label', tr('edit'));
        text.addEventListener('click', (e) => this.#startEdit(bubble, seg, e));
        text.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' && text.contentEditable !== 'true') {
            e.preventDefault();
            this.#startEdit(bubble, seg);
          }
        });
      }
      const button = el('button', 'bubble-menu-button', '⋯');
      button.type = 'button';
      button.setAttribute('aria-haspopup', 'menu');
      button.setAttribute('aria-expanded', 'false');
      button.setAttribute('aria-label', tr('menu'));
      button.addEventListener('click', (e) => {
        e.stopPropagation();
        this.#toggleMenu(bubble, seg, segments[i + 1], button);
      });
      head.append(button);
    });
  }

  #startEdit(bubble, seg, click) {
    const text = bubble.querySelector('.bubble-text');
    if (text.contentEditable === 'true' || this.busy) return;
    const before = text.textContent;
    text.contentEditable = 'true';
    bubble.classList.add('editing');
    text.focus();
    // The caret where the text was clicked, else at the end.
    const range = click && document.caretRangeFromPoint ? document.caretRangeFromPoint(click.clientX, click.clientY) : null;
    const sel = window.getSelection();
    if (sel) {
      const r = range && text.contains(range.startContainer) ? range : document.createRange();
      if (r !== range) {
        r.selectNodeContents(text);
        r.collapse(false);
      }
      sel.removeAllRanges();
      sel.addRange(r);
    }
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      text.contentEditable = 'false';
      bubble.classList.remove('editing');
      text.removeEventListener('keydown', keys);
      text.removeEventListener('blur', blur);
      const after = text.textContent.trim();
      if (!save || after === before.trim() || after === '') {
        text.textContent = before;
        return;
      }
      await this.#send(() => this.api.patchSegment(this.conversationId, seg.segment_id, { text: after, revision: seg.revision }), seg.segment_id);
    };
    const keys = (e) => {
      // Enter saves (Shift+Enter too: a segment is one line); not while an IME is composing.
      if (e.key === 'Enter' && !e.isComposing) {
        e.preventDefault();
        void finish(true);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        void finish(false);
        text.focus();
      }
    };
    const blur = () => void finish(true);
    text.addEventListener('keydown', keys);
    text.addEventListener('blur', blur);
  }

  #toggleMenu(bubble, seg, next, button) {
    if (this.openMenu && this.openMenu.dataset.for === String(seg.segment_id)) return this.#closeMenu(true);
    this.#closeMenu(false);
    // Where the caret was in this bubble's text, for "split here".
    const caret = caretIn(bubble.querySelector('.bubble-text'));
    const menu = el('div', 'bubble-menu');
    menu.setAttribute('role', 'menu');
    menu.dataset.for = String(seg.segment_id);
    const items = [];
    const add = (label, action, enabled = true) => {
      const item = el('button', 'bubble-menu-item', label);
      item.type = 'button';
      item.setAttribute('role', 'menuitem');
      item.disabled = !enabled;
      item.addEventListener('click', (e) => {
        e.stopPropagation();
        this.#closeMenu(false);
        void action();
      });
      items.push(item);
      menu.append(item);
    };
    const id = seg.segment_id;
    const rev = seg.revision;
    const cid = this.conversationId;
    if (seg.speaker_id !== null) add(tr('otherSpeaker'), () => this.#send(() => this.api.patchSegment(cid, id, { speaker_id: seg.speaker_id === 0 ? 1 : 0, revision: rev }), id));
    else {
      add(`${tr('otherSpeaker')} (1)`, () => this.#send(() => this.api.patchSegment(cid, id, { speaker_id: 0, revision: rev }), id));
      add(`${tr('otherSpeaker')} (2)`, () => this.#send(() => this.api.patchSegment(cid, id, { speaker_id: 1, revision: rev }), id));
    }
    add(tr('unknown'), () => this.#send(() => this.api.patchSegment(cid, id, { speaker_id: null, revision: rev }), id), seg.speaker_id !== null);
    const text = typeof seg.text === 'string' ? seg.text : '';
    // The bubble shows the text trimmed (Whisper's usually starts with a space): offsets are the server's.
    const lead = text.length - text.trimStart().length;
    const at = caret !== null && caret + lead > 0 && caret + lead < text.length ? caret + lead : middleOf(text);
    add(tr('splitHere'), () => this.#send(() => this.api.splitSegment(cid, id, { at, revision: rev }), id), text.trim().length > 1);
    add(tr('mergeNext'), () => this.#send(() => this.api.mergeSegment(cid, id, { revision: rev }), id), Boolean(next) && next.speaker_id === seg.speaker_id);
    add(tr('remove'), () => this.#send(() => this.api.deleteSegment(cid, id, rev), null));
    menu.addEventListener('keydown', (e) => {
      const live = items.filter((b) => !b.disabled);
      const i = live.indexOf(document.activeElement);
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = live.length;
        live[(i + (e.key === 'ArrowDown' ? 1 : n - 1)) % n]?.focus();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        this.#closeMenu(true);
      }
    });
    button.setAttribute('aria-expanded', 'true');
    button.after(menu);
    this.openMenu = menu;
    this.menuButton = button;
    items.find((b) => !b.disabled)?.focus();
  }

  #closeMenu(refocus) {
    if (!this.openMenu) return;
    this.openMenu.remove();
    this.openMenu = null;
    this.menuButton?.setAttribute('aria-expanded', 'false');
    if (refocus) this.menuButton?.focus();
  }

  /** Runs one correction; on success the conversation is re-read, with focus on `focusId`. */
  async #send(call, focusId) {
    if (this.busy) return;
    this.busy = true;
    try {
      await call();
      this.undoable++;
      await this.opts.reload(focusId ?? undefined);
    } catch (err) {
      if (err.status === 409 && errorCode(err) === 'revision_conflict') {
        this.opts.toast(tr('conflict'), 'error');
        await this.opts.reload(focusId ?? undefined);
      } else {
        this.opts.toast(tr('failed', { message: errorText(err) }), 'error');
        await this.opts.reload(focusId ?? undefined);
      }
    } finally {
      this.busy = false;
      this.opts.undoButton.disabled = this.undoable === 0;
    }
  }

  /** Cancels the last correction (of anyone) on this conversation. */
  async undo() {
    if (!this.conversationId || this.busy || this.undoable === 0) return;
    this.busy = true;
    try {
      const answer = await this.api.undoCorrection(this.conversationId);
      this.undoable--;
      this.opts.toast(tr('undone'));
      const first = answer && Array.isArray(answer.segments) && answer.segments[0];
      await this.opts.reload(first ? first.segment_id : undefined);
    } catch (err) {
      if (errorCode(err) === 'nothing_to_undo') this.undoable = 0;
      this.opts.toast(tr('failed', { message: errorText(err) }), 'error');
    } finally {
      this.busy = false;
      this.opts.undoButton.disabled = this.undoable === 0;
    }
  }
}

/** Text with [from, to) ranges wrapped in <mark>, built as DOM nodes (never as HTML). */
function marked(text, marks) {
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const [a, b] of Array.isArray(marks) ? marks : []) {
    if (!(a >= at && b > a && b <= text.length)) continue;
    frag.append(text.slice(at, a), el('mark', '', text.slice(a, b)));
    at = b;
  }
  frag.append(text.slice(at));
  return frag;
}

/**
 * The search box of History: results as you type (debounced), each opening the conversation at
 * the matching segment. `open(id, segmentId)` navigates.
 */
export class SearchBox {
  /**
   * @param {import('./api.js').Api} api
   * @param {{ input: HTMLInputElement, status: HTMLElement, results: HTMLElement, list: HTMLElement, open: (id: string, segmentId: number | null) => void, formatClock: (s: number) => string }} ui
   */
  constructor(api, ui) {
    this.api = api;
    this.ui = ui;
    this.seq = 0;
    this.timer = null;
    ui.input.placeholder = tr('searchPlaceholder');
    ui.input.setAttribute('aria-label', tr('searchLabel'));
    ui.input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), 150);
    });
    ui.input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && ui.input.value) {
        ui.input.value = '';
        this.run();
      } else if (e.key === 'ArrowDown') {
        const first = ui.results.querySelector('a');
        if (first) {
          e.preventDefault();
          first.focus();
        }
      }
    });
    // Arrow keys move through the results' links; Up from the first goes back to the box.
    ui.results.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      const links = [...ui.results.querySelectorAll('a, button')];
      const i = links.indexOf(document.activeElement);
      if (i < 0) return;
      e.preventDefault();
      if (e.key === 'ArrowUp' && i === 0) ui.input.focus();
      else links[Math.min(links.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))].focus();
    });
  }

  async run(cursor = null) {
    const q = this.ui.input.value;
    const seq = ++this.seq;
    if (q.trim() === '') {
      this.ui.results.hidden = true;
      this.ui.results.replaceChildren();
      this.ui.list.hidden = false;
      this.ui.status.textContent = '';
      return;
    }
    this.ui.status.textContent = tr('searching');
    let answer;
    try {
      answer = await this.api.search(q.slice(0, 500), cursor);
    } catch (err) {
      if (seq === this.seq) this.ui.status.textContent = tr('failed', { message: errorText(err) });
      return;
    }
    if (seq !== this.seq) return;
    const results = Array.isArray(answer.results) ? answer.results : [];
    const notes = [results.length === 0 && !cursor ? tr('noResults') : tr('results', { n: results.length })];
    if (answer.indexing) notes.push(tr('indexing', answer.indexing));
    this.ui.status.textContent = notes.join(' · ');
    this.ui.list.hidden = true;
    this.ui.results.hidden = false;
    if (!cursor) this.ui.results.replaceChildren();
    this.ui.results.querySelector('.search-more')?.remove();
    for (const r of results) this.ui.results.append(this.#result(r));
    if (answer.next_cursor) {
      const more = el('button', 'button search-more', tr('moreResults'));
      more.type = 'button';
      more.addEventListener('click', () => this.run(answer.next_cursor));
      this.ui.results.append(more);
    }
  }

  #result(r) {
    const li = el('li', 'search-result');
    li.dataset.id = r.conversation_id;
    const head = el('a', 'search-title');
    head.href = `#history/${r.conversation_id}`;
    head.append(marked(r.title || '—', r.title ? r.title_marks : []));
    head.addEventListener('click', (e) => {
      e.preventDefault();
      this.ui.open(r.conversation_id, null);
    });
    const date = el('span', 'search-date', new Date(r.started_at).toLocaleDateString(lang));
    li.append(head, date);
    const hits = el('ul', 'search-hits');
    for (const h of Array.isArray(r.hits) ? r.hits : []) {
      const item = el('li', 'search-hit');
      const a = el('a', 'search-hit-link');
      a.href = `#history/${r.conversation_id}`;
      a.dataset.segmentId = String(h.segment_id);
      const who = h.speaker_name || (h.speaker_id === null ? '?' : `${h.speaker_id + 1}`);
      a.append(el('span', 'search-hit-meta', `${this.ui.formatClock(h.start)} · ${who}`), ' ', marked(String(h.snippet), h.marks));
      a.addEventListener('click', (e) => {
        e.preventDefault();
        this.ui.open(r.conversation_id, h.segment_id);
      });
      item.append(a);
      hits.append(item);
    }
    li.append(hits);
    return li;
  }
}
