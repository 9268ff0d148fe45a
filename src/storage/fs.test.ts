import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFs } from './fs.js';
import { ConversationStore } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('nodeFs.remove', () => {
  it('removes a folder while another writer keeps adding files to it (a note finishing as its conversation is deleted)', async () => {
    for (let round = 0; round < 5; round++) {
      const root = mkdtempSync(join(tmpdir(), 'duet-fs-'));
      dirs.push(root);
      const conv = join(root, 'conv');
      const notes = join(conv, 'notes');
      mkdirSync(notes, { recursive: true });
      for (let i = 0; i < 300; i++) writeFileSync(join(notes, `old-${i}.json`), '{}');
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing && i < 5000; i++) {
          try {
            await Promise.all([0, 1, 2, 3].map((k) => writeFile(join(notes, `new-${i}-${k}.json`), '{}')));
          } catch {
            return; // the folder is gone
          }
        }
      })();
      await expect(nodeFs.remove(conv)).resolves.toBeUndefined();
      writing = false;
      await writer;
      await nodeFs.remove(conv);
      expect(existsSync(conv)).toBe(false);
    }
  });

  it('a removal a crash interrupted is finished by the store at its next start', async () => {
    const root = mkdtempSync(join(tmpdir(), 'duet-fs-'));
    dirs.push(root);
    const left = join(root, 'conversations', 'AAAAAAAAAAAAAAAAAAAAAA.removing-1234');
    mkdirSync(join(left, 'notes'), { recursive: true });
    writeFileSync(join(left, 'events.jsonl'), '{"k":"transcription","text":"private"}\n');
    const store = new ConversationStore(root, nodeFs);
    await store.init();
    expect(existsSync(left)).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});
