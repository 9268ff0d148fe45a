/** A note as Markdown, for its download. Pure. Text from the model is escaped where Markdown would read it as markup. */
import type { StoredNote } from './note-store.js';

/** Escapes what would start markup at a line's start or inline (headings, lists, links, HTML). */
function md(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/([\\`*_{}[\]<>#|])/g, '\\$1')
    .replace(/^(\s*)([-+]|\d+\.)(\s)/, '$1\\$2$3')
    .trim();
}

function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => md(p))
    .filter((p) => p !== '')
    .join('\n\n');
}

export function noteToMarkdown(note: StoredNote, conversationTitle: string | null): string {
  const c = note.content;
  if (!c) return `# Note (${note.status})\n`;
  const out: string[] = [`# ${md(c.title || conversationTitle || 'Note')}`, '', `*${md(note.template_label)} · ${note.finished_at ?? note.created_at}*`, '', '## Summary', '', paragraphs(c.summary), ''];
  const list = (heading: string, items: string[]) => {
    if (items.length === 0) return;
    out.push(`## ${heading}`, '', ...items.map((i) => `- ${md(i)}`), '');
  };
  for (const [h, text] of Object.entries(c.sections ?? {})) out.push(`## ${md(h)}`, '', paragraphs(text), '');
  list('Key points', c.key_points);
  list('Decisions', c.decisions);
  list('Action items', c.action_items.map((a) => `${a.who ? `${a.who}: ` : ''}${a.what}${a.when ? ` (${a.when})` : ''}`));
  list('Open questions', c.open_questions);
  list('Tone', c.tone.map((t) => `${t.speaker}: ${t.tone}`));
  return out.join('\n');
}
