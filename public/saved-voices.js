/**
 * Saved voices: the list from `/api/voices` (each card's picker and the "Saved voices" panel),
 * using one for a card instead of recording (`use_saved_voice`), saving a card's recorded voice
 * under a name (`save_voice`), and deleting one (asked first).
 */
import { t } from './i18n.js';
import { canChooseVoice, NAME_MAX_CHARS } from './page-state.js';

/**
 * Wires the saved voices into the voice cards (from registration.js).
 * @param {{
 *   state: import('./page-state.js').PageState,
 *   api: { listVoices(): Promise<any>, deleteVoice(id: string): Promise<any> },
 *   cards: Array<ReturnType<typeof import('./registration.js').createRegistration>['cards'][number]>,
 *   nameOf: (id: number) => string,
 *   setName: (id: number, name: string) => void,
 *   send: (msg: object) => boolean,
 *   render: () => void,
 *   toast: (text: string, kind?: string) => void,
 * }} deps
 */
export function createSavedVoices({ state, api, cards, nameOf, setName, send, render, toast }) {
  const panel = document.getElementById('saved-voices');
  const list = document.getElementById('saved-list');
  const count = document.getElementById('saved-count');

  async function load() {
    try {
      const voices = await api.listVoices();
      state.savedVoices = Array.isArray(voices) ? voices : [];
    } catch {
      // An older server or a failed request: the page works without saved voices.
      state.savedVoices = [];
    }
    renderList();
    render();
  }

  /** The pickers' options and the panel's list; a voice of another speaker model cannot be picked. */
  function renderList() {
    const voices = state.savedVoices;
    const encoder = state.link.models && state.link.models.speaker;
    cards.forEach((card) => {
      const first = new Option(t('pickSavedVoice'), '');
      const options = voices.map((v) => {
        const other = encoder && v.encoder && v.encoder.split('@')[0] !== encoder;
        const o = new Option(other ? t('otherModel', { name: v.name }) : v.name, v.id);
        o.disabled = Boolean(other);
        return o;
      });
      card.select.replaceChildren(first, ...options);
      card.select.value = '';
    });
    panel.hidden = voices.length === 0;
    count.textContent = String(voices.length);
    list.replaceChildren(
      ...voices.map((v) => {
        const li = document.createElement('li');
        li.className = 'saved-item';
        li.dataset.id = v.id;
        const name = document.createElement('span');
        name.className = 'saved-name';
        name.textContent = v.name;
        const when = document.createElement('span');
        when.className = 'saved-date';
        const d = new Date(typeof v.created_at === 'number' && v.created_at < 1e12 ? v.created_at * 1000 : v.created_at);
        when.textContent = Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString();
        const del = document.createElement('button');
        del.type = 'button';
        del.className = 'button small';
        del.textContent = t('deleteVoice');
        del.setAttribute('aria-label', `${t('deleteVoice')} — ${v.name}`);
        del.addEventListener('click', () => remove(v));
        li.append(name, when, del);
        return li;
      }),
    );
  }

  async function remove(v) {
    if (!window.confirm(t('confirmDeleteVoice', { name: v.name }))) return;
    try {
      await api.deleteVoice(v.id);
      toast(t('voiceDeleted'));
    } catch (err) {
      toast(t('requestFailed', { message: err.message }), 'error');
    }
    load();
  }

  cards.forEach((card, id) => {
    card.select.addEventListener('change', () => {
      const voiceId = card.select.value;
      if (!voiceId || !canChooseVoice(state)) return;
      send({ type: 'use_saved_voice', speaker_id: id, voice_id: voiceId });
      state.registered[id] = false;
      state.mode = { kind: 'checking', speaker: id };
      card.root.dataset.state = 'checking';
      card.status.textContent = t('loadingVoice');
      render();
    });
    card.save.addEventListener('click', () => {
      if (card.save.getAttribute('aria-disabled') === 'true') return;
      card.saveName.value = nameOf(id);
      card.saveForm.hidden = false;
      render();
      card.saveName.focus();
      card.saveName.select();
    });
    const confirmSave = () => {
      const name = card.saveName.value.trim().slice(0, NAME_MAX_CHARS) || nameOf(id);
      if (!state.registered[id] || !send({ type: 'save_voice', speaker_id: id, name })) return;
      // One save per press: the button rests while the server answers.
      card.saveConfirm.setAttribute('aria-disabled', 'true');
      setTimeout(() => card.saveConfirm.removeAttribute('aria-disabled'), 1500);
    };
    card.saveConfirm.addEventListener('click', confirmSave);
    card.saveName.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') confirmSave();
      if (ev.key === 'Escape') {
        // The form closes; the conversation (which Escape also stops) is not touched.
        ev.stopPropagation();
        card.saveForm.hidden = true;
        render();
      }
    });
    card.saveCancel.addEventListener('click', () => {
      card.saveForm.hidden = true;
      render();
    });
  });

  return {
    load,

    /** Which cards have their "Save as" form open (the Save voice button hides meanwhile). */
    formsOpen() {
      return /** @type {[boolean, boolean]} */ (cards.map((card) => !card.saveForm.hidden));
    },

    /** Handles `voice_saved`; false for any other message. */
    handle(msg) {
      if (msg.type !== 'voice_saved') return false;
      const card = cards[msg.speaker_id];
      if (card) {
        card.saveForm.hidden = true;
        state.fromSaved[msg.speaker_id] = msg.voice_id;
        // The server names the speaker after the saved voice from now on; so does the page.
        if (typeof msg.name === 'string' && msg.name.trim()) setName(msg.speaker_id, msg.name);
      }
      toast(t('voiceSaved', { name: msg.name || '' }));
      load();
      return true;
    },

    /** Draws the cards' pickers and Save voice buttons as `c` (from `controls()`) says. */
    render(c) {
      cards.forEach((card, id) => {
        const view = c.cards[id];
        card.pick.hidden = !view.pickShown;
        card.select.disabled = !view.pickEnabled;
        card.save.hidden = !view.saveShown;
        card.save.setAttribute('aria-disabled', String(!view.saveEnabled));
      });
    },
  };
}
