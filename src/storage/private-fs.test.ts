import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFs } from './fs.js';
import { openAudioSink } from './audio.js';
import { DataDirError, mkdirPrivate, securePrivateTree, writePrivateFile } from './private-fs.js';
import { ConversationStore } from './store.js';
import { createLogger } from '../log.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-private-'));
  dirs.push(d);
  return d;
}
const modeOf = (p: string) => statSync(p).mode & 0o777;
/** Runs `work` under a permissive umask, restoring it after (umask is process-wide). */
async function withUmask<T>(mask: number, work: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await work();
  } finally {
    process.umask(old);
  }
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('owner-only files', () => {
  it('creates folders 0700 and files 0600 even under umask 000', async () => {
    const root = tmp();
    await withUmask(0o000, async () => {
      await mkdirPrivate(join(root, 'a', 'b'));
      await writePrivateFile(join(root, 'a', 'b', 'f'), 'x');
      await nodeFs.append(join(root, 'a', 'log.jsonl'), 'line\n');
      await nodeFs.writeAtomic(join(root, 'a', 'meta.json'), '{}');
    });
    expect(modeOf(join(root, 'a'))).toBe(0o700);
    expect(modeOf(join(root, 'a', 'b'))).toBe(0o700);
    expect(modeOf(join(root, 'a', 'b', 'f'))).toBe(0o600);
    expect(modeOf(join(root, 'a', 'log.jsonl'))).toBe(0o600);
    expect(modeOf(join(root, 'a', 'meta.json'))).toBe(0o600);
  });

  it('narrows an existing file that was wider before anything is appended to it', async () => {
    const root = tmp();
    const f = join(root, 'events.jsonl');
    writeFileSync(f, '');
    chmodSync(f, 0o644);
    await nodeFs.append(f, 'x\n');
    expect(modeOf(f)).toBe(0o600);
  });

  it('stores conversations, voices and kept audio owner-only under umask 022', async () => {
    const root = join(tmp(), 'data');
    await withUmask(0o022, async () => {
      await securePrivateTree(root);
      const store = new ConversationStore(root);
      await store.init();
      const meta = await store.create({ language: 'en', models: { asr: null, speaker: 'e', vad: 'v' }, speakers: [] });
      await store.append(meta.id, { k: 'suspended', at: new Date().toISOString(), resume_from: 1 });
      await store.writeSpeakers(meta.id, [{ id: 0, profile: [1, 2] }]);
      const v = await store.saveVoice({ name: 'n', encoder: 'e', profile: [1] });
      for (const format of ['wav', 'opus'] as const) {
        const sink = await openAudioSink(store.dirOf(meta.id), createLogger('silent'), format);
        sink.write(Buffer.alloc(3200));
        await sink.close();
      }
      const conv = store.dirOf(meta.id);
      for (const d of [root, store.conversationsDir, store.voicesDir, conv]) expect(modeOf(d), d).toBe(0o700);
      for (const f of ['meta.json', 'events.jsonl', 'speakers.json', 'audio.wav', 'audio.ogg']) expect(modeOf(join(conv, f)), f).toBe(0o600);
      expect(modeOf(join(store.voicesDir, `${v.id}.json`))).toBe(0o600);
    });
  });

  it('tightens looser permissions on existing data at start and says how many', async () => {
    const root = tmp();
    chmodSync(root, 0o755);
    mkdirSync(join(root, 'conversations', 'x'), { recursive: true, mode: 0o755 });
    chmodSync(join(root, 'conversations'), 0o755);
    writeFileSync(join(root, 'conversations', 'x', 'events.jsonl'), 'a\n', { mode: 0o644 });
    writeFileSync(join(root, 'ro'), 'a', { mode: 0o400 });
    symlinkSync('/etc/passwd', join(root, 'link'));
    const r = await securePrivateTree(root);
    expect(r.tightened).toBe(4);
    expect(modeOf(root)).toBe(0o700);
    expect(modeOf(join(root, 'conversations', 'x'))).toBe(0o700);
    expect(modeOf(join(root, 'conversations', 'x', 'events.jsonl'))).toBe(0o600);
    expect(modeOf(join(root, 'ro'))).toBe(0o400);
    expect(modeOf('/etc/passwd')).toBe(0o644);
    expect((await securePrivateTree(root)).tightened).toBe(0);
  });

  it('refuses a DATA_DIR writable by others or owned by another user, with the reason', async () => {
    const open = tmp();
    chmodSync(open, 0o777);
    await expect(securePrivateTree(open)).rejects.toThrow(/writable by every user.*chmod 700/);
    await expect(securePrivateTree(open)).rejects.toBeInstanceOf(DataDirError);
    const mine = tmp();
    await expect(securePrivateTree(mine, { uid: (process.getuid?.() ?? 0) + 1 })).rejects.toThrow(/belongs to user id/);
    const file = join(tmp(), 'f');
    writeFileSync(file, '');
    await expect(securePrivateTree(file)).rejects.toThrow();
  });
});
