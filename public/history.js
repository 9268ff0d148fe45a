/**
 * The history view: stored conversations from `/api/conversations`, newest first; one opens
 * read-only in the same bubbles as the live chat, with renaming, downloads and deletion.
 * Addresses: `#history` (the list) and `#history/<id>` (one conversation), so a phone's Back
 * button goes from a conversation to the list.
 */
import { saveBlob } from './api.js';
import { ChatView, formatClock } from './chat.js';
import { lang, t } from './i18n.js';
import { SearchBox, TranscriptEditor } from './corrections.js';
import { NotesPanel } from './notes.js';

const $ = (sel, root = document) => root.querySelector(sel);
/** Stored conversations whose first words are fetched for the list (one request each). */
const PREVIEW_MAX = 30;
const PREVIEW_CHARS = 90;
const ID_RE = /^[A-Za-z0-9_-]{22}$/;

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Accepts an ISO string, epoch milliseconds or epoch seconds. */
function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function formatDate(value) {
  const d = toDate(value);
  if (!d) return '';
  return d.toLocaleString(lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function speakerName(speakers, id) {
  const s = Array.isArray(speakers) ? speakers.find((x) => x && x.id === id) : null;
  return s && typeof s.name === 'string' && s.name.trim() ? s.name.trim() : t('speakerDefault', { n: id + 1 });
}

function titleOf(conv) {
  if (conv.title && String(conv.title).trim()) return String(conv.title).trim();
  return t('untitled', { a: speakerName(conv.speakers, 0), b: speakerName(conv.speakers, 1) });
}

/** "1 message" / "{n} messages" (Korean has one form; `t` falls back to it). */
function counted(key, n) {
  return n === 1 ? t(`${key}One`, { n }) : t(key, { n });
}

function firstWords(segments) {
  if (!Array.isArray(segments)) return '';
  const words = segments
    .map((s) => (typeof s.text === 'string' ? s.text.trim() : ''))
    .filter(Boolean)
    .join(' ');
  return words.length > PREVIEW_CHARS ? `${words.slice(0, PREVIEW_CHARS).trimEnd()}…` : words;
}

function extensionName(conv, format) {
  const base = titleOf(conv)
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  const d = toDate(conv.started_at);
  const stamp = d ? d.toISOString().slice(0, 16).replace('T', '-').replace(':', '') : 'conversation';
  return `${base || 'conversation'}-${stamp}.${format}`;
}

export class HistoryView {
  /**
   * @param {import('./api.js').Api} api
   * @param {{ toast: (text: string, kind?: string) => void, show: (view: 'live' | 'history') => void }} page
   */
  constructor(api, page) {
    this.api = api;
    this.page = page;
    this.list = [];
    /** id → first words, filled lazily. */
    this.previews = new Map();
    this.current = null;
    this.loadSeq = 0;
    this.ui = {
      status: $('#history-status'),
      list: $('#history-list'),
      viewer: $('#history-viewer'),
      title: $('#viewer-title'),
      meta: $('#viewer-meta'),
      renameTitle: $('#rename-title'),
      rename: [$('#rename-0'), $('#rename-1')],
      renameLabels: [$('#rename-0-label'), $('#rename-1-label')],
      layout: $('#history'),
    };
    this.ui.renameLabels.forEach((l, i) => (l.textContent = t('speakerN', { n: i + 1 })));
    this.chat = new ChatView($('#viewer-chat'), $('#viewer-jump'), (id) => speakerName(this.current && this.current.speakers, id));
    this.notes = new NotesPanel($('#viewer-notes'), api, page, $('#viewer-chat'));
    $('#history-refresh').addEventListener('click', () => this.refresh());
    /** Segment to scroll to and highlight once the next conversation opens (from a search hit). */
    this.focusSegment = null;
    this.editor = new TranscriptEditor(api, { toast: (text, kind) => page.toast(text, kind), undoButton: $('#viewer-undo'), reload: (focusId) => this.#reload(focusId) });
    this.search = new SearchBox(api, {
      input: $('#history-search'),
      status: $('#history-search-status'),
      results: $('#search-results'),
      list: $('#history-list'),
      formatClock,
      open: (id, segmentId) => {
        this.focusSegment = segmentId;
        if (location.hash === `#history/${id}`) void this.open(id);
        else location.hash = `#history/${id}`;
      },
    });
    document.addEventListener('keydown', (e) => {
      // Ctrl/Cmd+Z in the viewer (outside a text being edited): undo the last correction.
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'z' && !this.ui.viewer.hidden && this.ui.viewer.contains(document.activeElement) && !document.activeElement.isContentEditable && document.activeElement.tagName !== 'INPUT') {
        e.preventDefault();
        void this.editor.undo();
      }
    });
    $('#rename-save').addEventListener('click', () => this.#saveNames());
    $('#history-delete').addEventListener('click', () => this.#delete());
    for (const b of document.querySelectorAll('#history-viewer [data-format]')) {
      b.addEventListener('click', () => this.#download(b.dataset.format));
    }
  }

  /** Shows the list, or one conversation when `id` is given. */
  async route(id) {
    if (id && ID_RE.test(id)) {
      this.ui.layout.classList.add('viewing');
      await this.open(id);
      if (this.list.length === 0) this.refresh();
    } else {
      this.ui.layout.classList.remove('viewing');
      this.ui.viewer.hidden = true;
      this.current = null;
      this.notes.hide();
      await this.refresh();
    }
  }

  async refresh() {
    const seq = ++this.loadSeq;
    this.ui.status.textContent = t('historyLoading');
    let list;
    try {
      list = await this.api.listConversations();
    } catch (err) {
      if (seq === this.loadSeq) this.ui.status.textContent = t('historyFailed', { message: err.message });
      return;
    }
    if (seq !== this.loadSeq) return;
    this.list = Array.isArray(list) ? list : [];
    this.ui.status.textContent = this.list.length === 0 ? t('historyEmpty') : counted('historyCount', this.list.length);
    this.#renderList();
    this.#fillPreviews(seq);
  }

  #renderList() {
    const items = this.list.map((conv) => {
      const li = el('li', 'history-item');
      li.dataset.id = conv.id;
      if (this.current && this.current.id === conv.id) li.classList.add('selected');
      const a = el('a', 'history-link');
      a.href = `#history/${conv.id}`;
      const top = el('span', 'history-top');
      top.append(el('span', 'history-name', titleOf(conv)), el('span', 'history-length', formatClock(Number(conv.duration_s) || 0)));
      const meta = [formatDate(conv.started_at)];
      if (typeof conv.segments === 'number') meta.push(counted('segmentsCount', conv.segments));
      if (!conv.ended_at) meta.push(t('inProgress'));
      const preview = conv.first_words ?? conv.preview ?? this.previews.get(conv.id) ?? '';
      a.append(top, el('span', 'history-meta', meta.join(' · ')), el('span', 'history-preview', preview));
      li.append(a);
      return li;
    });
    this.ui.list.replaceChildren(...items);
  }

  /** Fetches the first words of the newest conversations, one at a time, for the list. */
  async #fillPreviews(seq) {
    for (const conv of this.list.slice(0, PREVIEW_MAX)) {
      if (seq !== this.loadSeq) return;
      if (conv.first_words !== undefined || conv.preview !== undefined || this.previews.has(conv.id)) continue;
      try {
        const record = await this.api.getConversation(conv.id);
        this.previews.set(conv.id, firstWords(record && record.segments));
      } catch {
        this.previews.set(conv.id, '');
      }
      const item = this.ui.list.querySelector(`[data-id="${CSS.escape(conv.id)}"] .history-preview`);
      if (item) item.textContent = this.previews.get(conv.id);
    }
  }

  async open(id) {
    let record;
    try {
      record = await this.api.getConversation(id);
    } catch (err) {
      this.page.toast(err.status === 404 ? t('notFound') : t('requestFailed', { message: err.message }), 'error');
      location.hash = '#history';
      return;
    }
    this.current = record;
    this.previews.set(id, firstWords(record.segments));
    this.ui.viewer.hidden = false;
    this.ui.viewer.dataset.id = id;
    this.#renderRecord();
    this.notes.show(record);
    for (const li of this.ui.list.children) li.classList.toggle('selected', li.dataset.id === id);
  }

  #renderRecord() {
    const rec = this.current;
    this.ui.title.textContent = titleOf(rec);
    const meta = [formatDate(rec.started_at), formatClock(Number(rec.duration_s) || 0)];
    if (Array.isArray(rec.segments)) meta.push(counted('segmentsCount', rec.segments.length));
    if (!rec.ended_at) meta.push(t('inProgress'));
    this.ui.meta.textContent = meta.join(' · ');
    this.ui.renameTitle.value = rec.title ? String(rec.title) : '';
    this.ui.renameTitle.placeholder = titleOf({ ...rec, title: '' });
    this.ui.rename.forEach((input, i) => {
      input.value = speakerName(rec.speakers, i);
    });
    this.chat.clear();
    // `text: null` means "no recognition model" in a diarization-only conversation, and "not
    // transcribed" (shown as …) otherwise.
    const noAsr = Boolean(rec.models) && rec.models.asr === null;
    for (const seg of Array.isArray(rec.segments) ? rec.segments : []) {
      this.chat.addSegment(seg);
      this.chat.addTranscription(seg.text === null && !noAsr ? { ...seg, text: '' } : seg);
    }
    this.chat.stick = false;
    this.chat.log.scrollTop = 0;
    this.chat.jump.hidden = true;
    this.editor.decorate(this.chat, rec);
    if (this.focusSegment !== null && this.focusSegment !== undefined) {
      const bubble = this.chat.bubbles.get(this.focusSegment);
      this.focusSegment = null;
      if (bubble) {
        bubble.classList.add('highlight');
        bubble.scrollIntoView({ block: 'center' });
        setTimeout(() => bubble.classList.remove('highlight'), 4000);
      }
    }
  }

  /** Re-reads the open conversation after a correction, keeping the scroll position. */
  async #reload(focusId) {
    const rec = this.current;
    if (!rec) return;
    const top = this.chat.log.scrollTop;
    let fresh;
    try {
      fresh = await this.api.getConversation(rec.id);
    } catch (err) {
      this.page.toast(err.status === 404 ? t('notFound') : t('requestFailed', { message: err.message }), 'error');
      return;
    }
    this.current = fresh;
    this.#renderRecord();
    this.chat.log.scrollTop = top;
    const bubble = focusId !== undefined ? this.chat.bubbles.get(focusId) : null;
    const target = bubble && (bubble.querySelector('.bubble-menu-button') || bubble);
    if (target) target.focus({ preventScroll: true });
  }

  async #saveNames() {
    const rec = this.current;
    if (!rec) return;
    const speakers = this.ui.rename.map((input, i) => ({ id: i, name: input.value.trim().slice(0, 40) || t('speakerDefault', { n: i + 1 }) }));
    const title = this.ui.renameTitle.value.trim().slice(0, 120);
    try {
      await this.api.patchConversation(rec.id, { title, speakers });
    } catch (err) {
      this.page.toast(t('requestFailed', { message: err.message }), 'error');
      return;
    }
    this.page.toast(t('namesSaved'));
    await this.open(rec.id);
    this.refresh();
  }

  async #download(format) {
    const rec = this.current;
    if (!rec) return;
    try {
      const { blob, filename } = await this.api.exportConversation(rec.id, format);
      saveBlob(blob, filename || extensionName(rec, format));
    } catch (err) {
      this.page.toast(t('requestFailed', { message: err.message }), 'error');
    }
  }

  async #delete() {
    const rec = this.current;
    if (!rec) return;
    if (!window.confirm(t('confirmDeleteConversation', { title: titleOf(rec) }))) return;
    try {
      await this.api.deleteConversation(rec.id);
    } catch (err) {
      this.page.toast(t('requestFailed', { message: err.message }), 'error');
      return;
    }
    this.page.toast(t('conversationDeleted'));
    this.current = null;
    location.hash = '#history';
  }
}
