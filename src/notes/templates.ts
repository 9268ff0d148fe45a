/**
 * Note templates are files (`templates/notes/<name>.json`): adding one needs no code. Each is
 * parsed like any outside input; a bad file is skipped with a reason, never a crash.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const TemplateFile = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'must be 1-40 of a-z, 0-9, _ and -'),
    label: z.string().min(1).max(80),
    instruction: z.string().min(1).max(4000),
    /** Headings of extra free-text sections the note must fill (e.g. SOAP's four); at most 8. */
    sections: z.array(z.string().regex(/^[\p{L}\p{N} _-]{1,40}$/u, 'a heading is 1-40 letters, digits, spaces, _ or -')).max(8).default([]),
  })
  .strict();
export type NoteTemplate = z.infer<typeof TemplateFile>;

/** The name under which a request brings its own instruction (no file). */
export const CUSTOM_TEMPLATE = 'custom';
/** Largest custom instruction, characters. */
export const MAX_CUSTOM_INSTRUCTION_CHARS = 4000;
/** Template files read at most (a folder is not a place to grow memory). */
const MAX_TEMPLATES = 64;
const MAX_TEMPLATE_BYTES = 16 * 1024;

export interface LoadedTemplates {
  templates: Map<string, NoteTemplate>;
  /** `file: reason` for each file that was skipped. */
  skipped: string[];
}

/** Reads every `*.json` template in `dir`. A missing folder gives none. */
export async function loadTemplates(dir: string): Promise<LoadedTemplates> {
  const templates = new Map<string, NoteTemplate>();
  const skipped: string[] = [];
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return { templates, skipped };
  }
  for (const file of names.slice(0, MAX_TEMPLATES)) {
    try {
      const text = await readFile(join(dir, file), 'utf8');
      if (text.length > MAX_TEMPLATE_BYTES) throw new Error(`larger than ${MAX_TEMPLATE_BYTES} bytes`);
      const parsed = TemplateFile.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
      if (parsed.data.name === CUSTOM_TEMPLATE) throw new Error(`"${CUSTOM_TEMPLATE}" is reserved for a request's own instruction`);
      if (`${parsed.data.name}.json` !== file) throw new Error(`its name "${parsed.data.name}" differs from the file name`);
      templates.set(parsed.data.name, parsed.data);
    } catch (err) {
      skipped.push(`${file}: ${(err as Error).message}`);
    }
  }
  return { templates, skipped };
}

/** The template a request names: a file's, or `custom` with the request's instruction; null when unknown. */
export function resolveTemplate(all: ReadonlyMap<string, NoteTemplate>, name: string, instruction?: string): NoteTemplate | null {
  if (name === CUSTOM_TEMPLATE) {
    if (!instruction || instruction.trim() === '') return null;
    return { name: CUSTOM_TEMPLATE, label: 'Custom', instruction: instruction.trim().slice(0, MAX_CUSTOM_INSTRUCTION_CHARS), sections: [] };
  }
  return all.get(name) ?? null;
}
