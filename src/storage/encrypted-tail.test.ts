/**
 * The sealed file layer's `tail`: a start checks each ended conversation's last record from the
 * end of its sealed file, without opening all of it, and still finds a record torn by a crash.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storageFsFor } from './encrypted-fs.js';
import { nodeFs, type StorageFs } from './fs.js';
import { ConversationStore } from './store.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-enc-tail-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function sealed(dataDir: string, keyPath: string): Promise<{ fs: StorageFs; store: ConversationStore }> {
  const { fs } = await storageFsFor({ dataDir, keyFile: keyPath, inner: nodeFs });
  const store = new ConversationStore(dataDir, fs);
  await store.init();
  return { fs, store };
}

describe('encrypted tail', () => {
  it('opens the last records of a sealed file, skips the cut first line, keeps a torn one unparseable, and init repairs it', async () => {
    const dataDir = join(tmp(), 'data');
    const keyPath = join(tmp(), 'key');
    writeFileSync(keyPath, randomBytes(32).toString('hex'), { mode: 0o600 });
    chmodSync(keyPath, 0o600);
    const { fs, store } = await sealed(dataDir, keyPath);
    const meta = await store.create({ language: 'en', models: { asr: null, speaker: 'enc', vad: 'v' }, speakers: [] });
    const text = (i: number) => `segment number ${i} `.repeat(20);
    for (let i = 0; i < 40; i++) {
      await store.append(meta.id, { k: 'segment', segment_id: i, speaker_id: 0, start: i, end: i + 0.5, similarity: [0.9, 0.1] });
      await store.append(meta.id, { k: 'transcription', segment_id: i, speaker_id: 0, text: text(i), timestamp: new Date().toISOString(), start: i, end: i + 0.5 });
    }
    await store.updateMeta(meta.id, (m) => ({ ...m, ended_at: new Date().toISOString() }));
    const events = join(store.dirOf(meta.id), 'events.jsonl');
    const whole = (await fs.read(events))!;
    const tail = (await fs.tail!(events, 1024))!;
    // Whole records only (the cut one is left out), the file's last ones, in plaintext.
    expect(tail.length).toBeGreaterThan(0);
    expect(whole.endsWith(tail)).toBe(true);
    expect(tail.split('\n').filter(Boolean).every((l) => typeof JSON.parse(l) === 'object')).toBe(true);
    expect(tail).toContain(text(39));

    // A crash tears the last sealed line of an ended conversation.
    truncateSync(events, statSync(events).size - 20);
    const torn = (await fs.tail!(events, 1024))!;
    expect(torn.endsWith('\n')).toBe(false);
    const { store: again } = await sealed(dataDir, keyPath);
    const rec = await again.get(meta.id);
    expect(rec!.segments).toHaveLength(40);
    expect(rec!.segments[39]!.text).toBeNull();
    expect((await fs.read(events))!.endsWith('\n')).toBe(true);
  });
});
