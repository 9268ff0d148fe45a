/**
 * Recordings in, conversations out: drag and drop (or pick) files, upload each with a progress
 * bar, follow its processing on the server, then open the result as bubbles with exports.
 * Several files queue: one uploads at a time, each is followed until it is done.
 */
import { ChatView } from './chat.js';
import { t } from './i18n.js';

const POLL_MS = 700;
const EXPORTS = ['txt', 'srt', 'vtt', 'json'];

const $ = (sel) => document.querySelector(sel);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clock(s) {
  const v = Math.max(0, Math.round(Number(s) || 0));
  return `${Math.floor(v / 60)}:${String(v % 60).padStart(2, '0')}`;
}

/**
 * @param {string} token the access token ('' when the server has none)
 * @param {() => string} language the language chosen on the page
 */
export function initUpload(token, language) {
  const input = $('#file-input');
  const zone = $('#drop-zone');
  const list = $('#file-queue');
  const speakers = $('#file-speakers');
  const result = $('#file-result');
  if (!input || !zone || !list) return;
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const notifyBox = /** @type {HTMLInputElement | null} */ ($('#file-notify'));
  /** Whether uploads may ask for an e-mail (`notify=email`); the server decides who receives it. */
  let emailAsk = false;
  void showNotifications();
  /** Files not uploaded yet, in order. */
  const waiting = [];
  let uploading = false;

  const add = (files) => {
    for (const file of files) {
      const item = { file, id: null, xhr: null, cancelled: false, view: makeRow(file) };
      waiting.push(item);
      setStatus(item, t('fileWaiting'), 0);
    }
    void next();
  };

  /**
   * Says what will be sent where when a transcript is ready, before anything is uploaded; shows
   * nothing when the server sends nothing (the default).
   */
  async function showNotifications() {
    let info;
    try {
      const r = await fetch('/api/notifications', { headers: auth, cache: 'no-store', credentials: 'same-origin' });
      if (!r.ok) return;
      info = (await r.json()).targets;
    } catch {
      return;
    }
    const field = $('#file-notify-field');
    const text = $('#file-notify-text');
    const where = $('#file-notify-where');
    if (info?.email && field && text && notifyBox) {
      const all = info.email.for === 'all';
      text.textContent = t(all ? 'notifyEmailAll' : 'notifyEmailAsk', { to: info.email.to });
      notifyBox.checked = all;
      notifyBox.disabled = all;
      emailAsk = !all;
      field.hidden = false;
    }
    if (info?.webhook && where) {
      where.textContent = t('notifyWebhook', { url: info.webhook });
      where.hidden = false;
    }
  }

  function makeRow(file) {
    const li = el('li', 'file-item');
    li.dataset.state = 'waiting';
    const name = el('span', 'file-name', file.name);
    const status = el('span', 'file-status');
    const bar = el('div', 'progress file-progress');
    const fill = el('div', 'progress-fill');
    bar.append(fill);
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    const actions = el('span', 'file-actions');
    li.append(name, status, bar, actions);
    list.append(li);
    return { li, status, fill, bar, actions };
  }

  function setStatus(item, text, fraction, state) {
    item.view.status.textContent = text;
    if (fraction !== null) {
      item.view.fill.style.width = `${Math.round(fraction * 100)}%`;
      item.view.bar.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
    }
    if (state) item.view.li.dataset.state = state;
  }

  function setActions(item, buttons) {
    item.view.actions.replaceChildren(...buttons);
  }

  function button(label, onClick, cls = 'button small') {
    const b = el('button', cls, label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  async function cancel(item) {
    item.cancelled = true;
    item.xhr?.abort();
    const at = waiting.indexOf(item);
    if (at >= 0) waiting.splice(at, 1);
    if (item.id) await fetch(`/api/transcriptions/${item.id}`, { method: 'DELETE', headers: auth }).catch(() => undefined);
    setStatus(item, t('fileCancelled'), null, 'cancelled');
    setActions(item, []);
  }

  async function next() {
    if (uploading) return;
    const item = waiting.shift();
    if (!item) return;
    uploading = true;
    try {
      await upload(item);
    } finally {
      uploading = false;
      void next();
    }
  }

  function upload(item) {
    return new Promise((resolve) => {
      const q = new URLSearchParams({ language: language() || 'auto', speakers: speakers?.value || '2', title: item.file.name });
      if (emailAsk && notifyBox?.checked) q.set('notify', 'email');
      const xhr = new XMLHttpRequest();
      item.xhr = xhr;
      xhr.open('POST', `/api/transcriptions?${q}`);
      for (const [k, v] of Object.entries(auth)) xhr.setRequestHeader(k, v);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      setActions(item, [button(t('fileCancel'), () => cancel(item))]);
      setStatus(item, t('fileUploading', { p: 0 }), 0, 'uploading');
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) setStatus(item, t('fileUploading', { p: Math.round((100 * e.loaded) / e.total) }), e.loaded / e.total);
      });
      xhr.addEventListener('load', () => {
        item.xhr = null;
        if (xhr.status === 202) {
          item.id = JSON.parse(xhr.responseText).id;
          setStatus(item, t('fileQueued'), 0, 'queued');
          void follow(item);
        } else {
          let message = xhr.status === 413 ? t('fileTooLarge') : `HTTP ${xhr.status}`;
          try {
            if (xhr.status !== 413) message = JSON.parse(xhr.responseText).error.message;
          } catch {
            // Not JSON (e.g. the plain 401 answer): the status says enough.
          }
          setStatus(item, t('fileFailed', { message }), null, 'failed');
          setActions(item, []);
        }
        resolve();
      });
      const failed = () => {
        item.xhr = null;
        if (!item.cancelled) {
          setStatus(item, t('fileFailed', { message: xhr.status === 0 ? 'network' : `HTTP ${xhr.status}` }), null, 'failed');
          setActions(item, []);
        }
        resolve();
      };
      xhr.addEventListener('error', failed);
      xhr.addEventListener('abort', failed);
      xhr.send(item.file);
    });
  }

  async function follow(item) {
    while (!item.cancelled) {
      let v;
      try {
        const r = await fetch(`/api/transcriptions/${item.id}`, { headers: auth, cache: 'no-store' });
        if (r.status === 404) return;
        v = await r.json();
      } catch {
        await new Promise((r) => setTimeout(r, POLL_MS * 3));
        continue;
      }
      if (item.cancelled) return;
      if (v.status === 'queued') setStatus(item, t('fileQueued'), 0, 'queued');
      else if (v.status === 'running') {
        const p = Math.round(100 * v.progress);
        setStatus(item, v.eta_s === null ? t('fileProcessingNoEta', { p }) : t('fileProcessing', { p, left: clock(v.eta_s) }), v.progress, 'running');
      } else if (v.status === 'done') {
        setStatus(item, t('fileDone', { d: clock(v.duration_s), n: v.speakers }), 1, 'done');
        // The result is a stored conversation (listed in History like a live one).
        item.conversationId = v.conversation_id;
        setActions(item, [
          button(t('fileOpen'), () => open(item), 'button small primary'),
          button(t('fileHistory'), () => (location.hash = `#history/${item.conversationId}`)),
        ]);
        return;
      } else {
        setStatus(item, t('fileFailed', { message: v.error?.message ?? v.status }), null, 'failed');
        setActions(item, []);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async function open(item) {
    const r = await fetch(`/api/conversations/${item.conversationId}`, { headers: auth, cache: 'no-store' });
    if (!r.ok) return;
    const conv = await r.json();
    const names = new Map(conv.speakers.map((s) => [s.id, s.name]));
    const log = $('#file-chat');
    log.replaceChildren();
    const view = new ChatView(log, $('#file-jump'), (id) => names.get(id) ?? t('speakerDefault', { n: id + 1 }));
    const withText = hasText(conv);
    for (const s of conv.segments) {
      view.addSegment(s);
      view.addTranscription({ ...s, text: withText ? s.text : null });
    }
    $('#file-result-title').textContent = conv.title ?? '';
    const exports = $('#file-exports');
    exports.replaceChildren(...EXPORTS.map((f) => button(t('fileExport', { f }), () => download(item, conv.title ?? '', f), 'button')));
    result.hidden = false;
    result.dataset.transcription = item.id;
    log.scrollTop = 0;
  }

  /** A result with no text at all came from diarization-only mode. */
  function hasText(conv) {
    return conv.segments.some((s) => (s.text ?? '').trim() !== '');
  }

  async function download(item, title, format) {
    const r = await fetch(`/api/conversations/${item.conversationId}/export?format=${format}`, { headers: auth, cache: 'no-store' });
    if (!r.ok) return;
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `${title.replace(/\.[^.]*$/, '') || 'transcript'}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  input.addEventListener('change', () => {
    add([...input.files]);
    input.value = '';
  });
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer?.files?.length) add([...e.dataTransfer.files]);
  });
}
