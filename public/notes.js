/**
 * Notes in the History viewer: write a note of the open conversation with a template (or an
 * instruction of one's own), watch it being written, cancel it, read it, download it as
 * Markdown; older notes stay listed. Sentiment marks the bubbles and draws one line per speaker
 * over time. Everything from the model is set as text, never as HTML.
 *
 * When notes go to a server on another machine, the page says so — with the host — before the
 * first note is sent, and remembers the answer for that host only.
 */
import { saveBlob } from './api.js';
import { lang } from './i18n.js';

const POLL_MS = 700;

const TEXT = {
  en: {
    notes: 'Notes',
    off: 'Notes are off.',
    write: 'Write note',
    cancel: 'Cancel',
    delete: 'Delete note',
    download: 'Markdown',
    custom: 'Custom instruction…',
    customPlaceholder: 'What should the note say? e.g. "List the decisions and who owns each."',
    local: 'Written on this machine by {model}.',
    remote: 'Written by {model} on {host}: the transcript is sent there.',
    confirmRemote: 'The transcript of this conversation will be sent to {host} to write the note. Continue? (Asked once for this server.)',
    running: 'Writing… {pct}% ({stage})',
    queued: 'Waiting for another note to finish…',
    failed: 'The note failed: {message}',
    summary: 'Summary',
    keyPoints: 'Key points',
    decisions: 'Decisions',
    actions: 'Action items',
    questions: 'Open questions',
    tone: 'Tone',
    older: 'Earlier notes',
    sentiment: 'Sentiment over time',
    parts: 'noted in {n} parts',
  },
  ko: {
    notes: '노트',
    off: '노트 기능이 꺼져 있습니다.',
    write: '노트 작성',
    cancel: '취소',
    delete: '노트 삭제',
    download: 'Markdown',
    custom: '직접 지시…',
    customPlaceholder: '노트에 무엇을 담을까요? 예: "결정 사항과 담당자를 나열"',
    local: '이 컴퓨터에서 {model} 모델이 작성합니다.',
    remote: '{host}의 {model} 모델이 작성합니다: 대화 내용이 그곳으로 전송됩니다.',
    confirmRemote: '노트를 작성하기 위해 이 대화의 내용이 {host}(으)로 전송됩니다. 계속할까요? (이 서버에 대해 한 번만 묻습니다.)',
    running: '작성 중… {pct}% ({stage})',
    queued: '다른 노트가 끝나기를 기다리는 중…',
    failed: '노트 작성 실패: {message}',
    summary: '요약',
    keyPoints: '핵심 내용',
    decisions: '결정 사항',
    actions: '할 일',
    questions: '남은 질문',
    tone: '어조',
    older: '이전 노트',
    sentiment: '시간에 따른 감정',
    parts: '{n}개 부분으로 나누어 작성',
  },
};

function tr(key, vars = {}) {
  const table = TEXT[String(lang).slice(0, 2)] || TEXT.en;
  return String(table[key] ?? TEXT.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Puts a sentiment mark on the bubble of `msg.segment_id` under `root` (live `sentiment` messages and notes alike). */
export function markSentiment(root, msg) {
  const b = root.querySelector(`[data-segment-id="${Number(msg.segment_id)}"]`);
  if (!b || !['positive', 'neutral', 'negative'].includes(msg.label)) return;
  b.querySelector('.sentiment-mark')?.remove();
  const mark = el('span', `sentiment-mark sentiment-${msg.label}`, msg.label === 'positive' ? '▲' : msg.label === 'negative' ? '▼' : '●');
  mark.title = `${msg.label} (${Math.round(Number(msg.confidence) * 100)}%)`;
  b.dataset.sentiment = msg.label;
  b.append(mark);
}

export class NotesPanel {
  /**
   * @param {HTMLElement} root where the panel is drawn
   * @param {{ token: () => string }} api the page's API client (for its token)
   * @param {{ toast: (text: string, kind?: string) => void }} page
   * @param {HTMLElement} chatRoot the viewer's chat, whose bubbles get sentiment marks
   */
  constructor(root, api, page, chatRoot) {
    this.root = root;
    this.api = api;
    this.page = page;
    this.chatRoot = chatRoot;
    this.status = null;
    this.conv = null;
    this.timer = null;
    this.seq = 0;
  }

  async #fetch(path, init = {}) {
    const token = this.api.token();
    const headers = { ...(init.headers || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin' });
    return res;
  }

  async #json(path, init) {
    const res = await this.#fetch(path, init);
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error((body && body.error && body.error.message) || `HTTP ${res.status}`);
    return body;
  }

  /** Draws the panel for a conversation record (from `GET /api/conversations/:id`). */
  async show(conv) {
    const seq = ++this.seq;
    this.#stopPolling();
    this.conv = conv;
    if (!this.status) {
      try {
        this.status = await this.#json('/api/notes');
      } catch {
        this.status = null;
      }
    }
    if (seq !== this.seq) return;
    this.root.replaceChildren();
    this.root.append(el('h3', 'notes-title', tr('notes')));
    const st = this.status;
    if (!st || !st.enabled) {
      this.root.append(el('p', 'hint notes-off', (st && st.how_to_enable) || tr('off')));
      return;
    }
    const e = st.engine;
    this.root.append(el('p', `hint notes-engine${e.leaves_machine ? ' leaves' : ''}`, e.leaves_machine ? tr('remote', { model: e.model, host: e.host }) : tr('local', { model: e.model })));
    const form = el('div', 'notes-form');
    const select = el('select', 'notes-template');
    select.setAttribute('aria-label', 'template');
    for (const t of st.templates) {
      const o = el('option', '', t.label);
      o.value = t.name;
      select.append(o);
    }
    const c = el('option', '', tr('custom'));
    c.value = 'custom';
    select.append(c);
    const instruction = el('textarea', 'notes-instruction');
    instruction.placeholder = tr('customPlaceholder');
    instruction.maxLength = 4000;
    instruction.hidden = true;
    select.addEventListener('change', () => (instruction.hidden = select.value !== 'custom'));
    const write = el('button', 'button primary notes-write', tr('write'));
    write.type = 'button';
    write.addEventListener('click', () => this.#start(select.value, instruction.value));
    form.append(select, write, instruction);
    this.root.append(form);
    this.body = el('div', 'notes-body');
    this.root.append(this.body);
    await this.#refresh(seq);
  }

  /** Forgets the conversation (the viewer closed). */
  hide() {
    this.seq++;
    this.#stopPolling();
    this.conv = null;
  }

  async #refresh(seq) {
    if (!this.conv) return;
    let notes;
    try {
      notes = await this.#json(`/api/conversations/${encodeURIComponent(this.conv.id)}/notes`);
    } catch (err) {
      if (seq === this.seq) this.body.replaceChildren(el('p', 'hint', err.message));
      return;
    }
    if (seq !== this.seq) return;
    this.#renderList(notes);
  }

  #renderList(notes) {
    this.body.replaceChildren();
    if (!Array.isArray(notes) || notes.length === 0) return;
    const [newest, ...older] = notes;
    this.#renderNote(newest);
    if (older.length > 0) {
      const d = el('details', 'notes-older');
      d.append(el('summary', '', tr('older')));
      const ul = el('ul', '');
      for (const n of older) {
        const li = el('li', '');
        const a = el('button', 'link-button', `${n.template_label} · ${new Date(n.created_at).toLocaleString(lang)} · ${n.status}`);
        a.type = 'button';
        a.addEventListener('click', async () => {
          const full = await this.#json(`/api/conversations/${encodeURIComponent(this.conv.id)}/notes/${n.id}`).catch(() => null);
          if (full) this.#renderList([full, ...notes.filter((x) => x.id !== n.id)]);
        });
        li.append(a);
        ul.append(li);
      }
      d.append(ul);
      this.body.append(d);
    }
  }

  #renderNote(n) {
    const box = el('article', `note note-${n.status}`);
    box.dataset.noteId = n.id;
    this.body.append(box);
    if (n.status === 'queued' || n.status === 'running') {
      box.append(el('p', 'hint note-progress', n.status === 'queued' ? tr('queued') : tr('running', { pct: Math.round((n.progress || 0) * 100), stage: n.stage || '' })));
      const pre = el('pre', 'note-partial', n.partial || '');
      const cancel = el('button', 'button notes-cancel', tr('cancel'));
      cancel.type = 'button';
      cancel.addEventListener('click', () => this.#delete(n.id));
      box.append(pre, cancel);
      this.#poll(n.id);
      return;
    }
    if (n.status === 'failed') {
      box.append(el('p', 'hint note-error', tr('failed', { message: (n.error && n.error.message) || '' })));
    } else if (n.content) {
      const c = n.content;
      box.append(el('h4', 'note-heading', c.title || n.template_label));
      box.append(el('p', 'hint', `${n.template_label}${n.parts > 1 ? ` · ${tr('parts', { n: n.parts })}` : ''}`));
      box.append(el('h5', '', tr('summary')));
      for (const p of String(c.summary).split(/\n{2,}/)) box.append(el('p', 'note-summary', p));
      for (const [h, text] of Object.entries(c.sections || {})) {
        box.append(el('h5', '', h), el('p', 'note-section', text));
      }
      const list = (title, items) => {
        if (!items || items.length === 0) return;
        box.append(el('h5', '', title));
        const ul = el('ul', 'note-list');
        for (const i of items) ul.append(el('li', '', i));
        box.append(ul);
      };
      list(tr('keyPoints'), c.key_points);
      list(tr('decisions'), c.decisions);
      list(tr('actions'), (c.action_items || []).map((a) => `${a.who ? `${a.who}: ` : ''}${a.what}${a.when ? ` (${a.when})` : ''}`));
      list(tr('questions'), c.open_questions);
      list(tr('tone'), (c.tone || []).map((x) => `${x.speaker}: ${x.tone}`));
      const md = el('button', 'button', tr('download'));
      md.type = 'button';
      md.addEventListener('click', () => this.#download(n.id));
      box.append(md);
      if (Array.isArray(n.sentiments) && n.sentiments.length > 0) this.#showSentiment(n.sentiments, box);
    }
    const del = el('button', 'button danger notes-delete', tr('delete'));
    del.type = 'button';
    del.addEventListener('click', () => this.#delete(n.id));
    box.append(del);
  }

  /** A mark on each bubble, and a line per speaker (−1 negative … +1 positive, scaled by confidence) over time. */
  #showSentiment(items, box) {
    const byId = new Map(items.map((s) => [s.segment_id, s]));
    for (const s of byId.values()) markSentiment(this.chatRoot, s);
    const ns = 'http://www.w3.org/2000/svg';
    const W = 320;
    const H = 60;
    const maxStart = Math.max(1, ...((this.conv && this.conv.segments) || []).map((s) => Number(s.start) || 0));
    const startOf = new Map(((this.conv && this.conv.segments) || []).map((s) => [s.segment_id, Number(s.start) || 0]));
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'sentiment-chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', tr('sentiment'));
    for (const speaker of [0, 1]) {
      const pts = items
        .filter((s) => s.speaker_id === speaker)
        .map((s) => {
          const x = ((startOf.get(s.segment_id) || 0) / maxStart) * (W - 4) + 2;
          const v = (s.label === 'positive' ? 1 : s.label === 'negative' ? -1 : 0) * s.confidence;
          return `${x.toFixed(1)},${(H / 2 - v * (H / 2 - 4)).toFixed(1)}`;
        });
      if (pts.length === 0) continue;
      const line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', pts.join(' '));
      line.setAttribute('class', `sentiment-line speaker-${speaker}`);
      line.setAttribute('fill', 'none');
      svg.append(line);
    }
    box.append(el('h5', '', tr('sentiment')), svg);
  }

  async #start(template, instruction) {
    if (!this.conv) return;
    const st = this.status;
    if (st && st.engine && st.engine.leaves_machine) {
      const key = `duet.notes.remoteOk.${st.engine.host}`;
      if (localStorage.getItem(key) !== 'yes') {
        if (!window.confirm(tr('confirmRemote', { host: st.engine.host }))) return;
        localStorage.setItem(key, 'yes');
      }
    }
    const body = template === 'custom' ? { template, instruction } : { template };
    try {
      await this.#json(`/api/conversations/${encodeURIComponent(this.conv.id)}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    } catch (err) {
      this.page.toast(err.message, 'error');
      return;
    }
    await this.#refresh(this.seq);
  }

  #poll(noteId) {
    this.#stopPolling();
    const seq = this.seq;
    this.timer = setTimeout(async () => {
      if (seq !== this.seq || !this.conv) return;
      const n = await this.#json(`/api/conversations/${encodeURIComponent(this.conv.id)}/notes/${noteId}`).catch(() => null);
      if (seq !== this.seq) return;
      if (!n) return this.#refresh(seq);
      if (n.status === 'queued' || n.status === 'running') {
        const box = this.body.querySelector(`[data-note-id="${noteId}"]`);
        if (box) {
          box.querySelector('.note-progress').textContent = n.status === 'queued' ? tr('queued') : tr('running', { pct: Math.round((n.progress || 0) * 100), stage: n.stage || '' });
          box.querySelector('.note-partial').textContent = n.partial || '';
        }
        this.#poll(noteId);
      } else this.#refresh(seq);
    }, POLL_MS);
  }

  #stopPolling() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async #delete(noteId) {
    if (!this.conv) return;
    try {
      await this.#json(`/api/conversations/${encodeURIComponent(this.conv.id)}/notes/${noteId}`, { method: 'DELETE' });
    } catch (err) {
      this.page.toast(err.message, 'error');
    }
    await this.#refresh(this.seq);
  }

  async #download(noteId) {
    const res = await this.#fetch(`/api/conversations/${encodeURIComponent(this.conv.id)}/notes/${noteId}/export?format=md`).catch(() => null);
    if (!res || !res.ok) return this.page.toast(tr('failed', { message: res ? `HTTP ${res.status}` : 'offline' }), 'error');
    const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
    saveBlob(await res.blob(), m ? m[1] : 'note.md');
  }
}
