/**
 * The search index kept on disk (search.json beside each conversation's records): a restart
 * loads it instead of rebuilding, stale, torn or foreign parts are rebuilt, the file is
 * owner-only and sealed under encryption, and a deleted conversation leaves nothing of its text.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storageFsFor } from '../storage/encrypted-fs.js';
import { nodeFs, type StorageFs } from '../storage/fs.js';
import { dataKey, type DataKey } from '../storage/record-codec.js';
import { rekeyDataDir } from '../storage/rekey.js';
import { ConversationStore } from '../storage/store.js';
import { SEARCH_FILE } from './persisted.js';
import { SearchService } from './service.js';

const dirs: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openStore(dataDir: string, fs: StorageFs = nodeFs): Promise<ConversationStore> {
  const store = new ConversationStore(dataDir, fs);
  await store.init();
  return store;
}

async function add(store: ConversationStore, texts: string[], title = 'Visit', endedAt = new Date()): Promise<string> {
  const meta = await store.createFinished({
    language: 'en',
    models: { asr: 'a', speaker: 's', vad: 'v' },
    speakers: [{ id: 0, name: null }, { id: 1, name: null }],
    title,
    endedAt,
    audioS: texts.length,
    segments: texts.map((text, i) => ({ segment_id: i, speaker_id: 0, start: i, end: i + 1, text })),
  });
  return meta.id;
}

/** Starts a service on the store, waits for its build, and returns it. */
async function started(store: ConversationStore): Promise<SearchService> {
  const svc = new SearchService(store, undefined, 60_000);
  await svc.start();
  return svc;
}

const found = async (svc: SearchService, q: string) => (await svc.search(q, 0, 50)).results.map((r) => r.conversation_id).sort();

/** Every file under `dir`, as text. */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push({ path: join(e.parentPath, e.name), text: readFileSync(join(e.parentPath, e.name), 'latin1') });
  }
  return out;
}

describe('SearchService, kept on disk', () => {
  it('writes each part at close, owner-only, and the next start loads them instead of rebuilding', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const ids = [await add(store, ['alpha one', 'medication at night']), await add(store, ['alpha two', '약을 먹었어요'], 'Korean')];
    const first = await started(store);
    expect(first.startup).toEqual({ loaded: 0, rebuilt: 2 });
    await first.close();
    for (const id of ids) expect(statSync(join(store.dirOf(id), SEARCH_FILE)).mode & 0o777).toBe(0o600);

    const second = await started(await openStore(dataDir));
    expect(second.startup).toEqual({ loaded: 2, rebuilt: 0 });
    expect(await found(second, 'alpha')).toEqual([...ids].sort());
    expect(await found(second, '약')).toEqual([ids[1]]);
    expect(await found(second, 'medi')).toEqual([ids[0]]);
    await second.close();
  });

  it('writes a part a while after its conversation changed, not at every change', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const id = await add(store, ['beta']);
    const svc = new SearchService(store, undefined, 50);
    await svc.start();
    await store.correct(id, { op: 'edit', segment_id: 0, text: 'gamma' });
    await svc.refresh();
    await new Promise((r) => setTimeout(r, 300));
    await svc.persist(Infinity);
    expect(readFileSync(join(store.dirOf(id), SEARCH_FILE), 'utf8')).toContain('gamma');
    await svc.close();
    const again = await started(await openStore(dataDir));
    expect(again.startup).toEqual({ loaded: 1, rebuilt: 0 });
    expect(await found(again, 'gamma')).toEqual([id]);
    expect(await found(again, 'beta')).toEqual([]);
    await again.close();
  });

  it('stops writing parts soon after close, even a write of many already under way; the rest are rebuilt', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await add(store, [`omega ${i}`]));
    // A slow disk for the parts: each write takes 40 ms.
    const slow: StorageFs = { ...nodeFs, writeAtomic: async (path, data) => {
      if (path.endsWith(SEARCH_FILE)) await new Promise((r) => setTimeout(r, 40));
      await nodeFs.writeAtomic(path, data);
    } };
    const svc = new SearchService(new ConversationStore(dataDir, slow), undefined, 60_000, 60);
    await svc.start();
    const all = svc.persist(Infinity);
    await new Promise((r) => setTimeout(r, 20));
    await svc.close();
    await all;
    const written = ids.filter((id) => existsSync(join(store.dirOf(id), SEARCH_FILE))).length;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(ids.length);
    const again = await started(await openStore(dataDir));
    expect(again.startup).toEqual({ loaded: written, rebuilt: ids.length - written });
    expect((await found(again, 'omega')).length).toBe(ids.length);
    await again.close();
  });

  it('rebuilds a stale part (the records changed while no server ran) and follows the records', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const ids = [await add(store, ['delta']), await add(store, ['delta too'])];
    await (await started(store)).close();
    // Changes made by another process (or before a crash): a correction and a rename.
    const other = await openStore(dataDir);
    await other.correct(ids[0]!, { op: 'edit', segment_id: 0, text: 'epsilon' });
    await other.patch(ids[1]!, { title: 'Renamed zeta' });
    const svc = await started(await openStore(dataDir));
    expect(svc.startup).toEqual({ loaded: 0, rebuilt: 2 });
    expect(await found(svc, 'epsilon')).toEqual([ids[0]]);
    expect(await found(svc, 'delta')).toEqual([ids[1]]);
    expect(await found(svc, 'zeta')).toEqual([ids[1]]);
    await svc.close();
  });

  it('ignores a torn, garbled or foreign part and rebuilds it, without a crash', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const ids = [await add(store, ['kappa one']), await add(store, ['lambda two']), await add(store, ['mu three'])];
    await (await started(store)).close();
    const file = (id: string) => join(store.dirOf(id), SEARCH_FILE);
    const text = readFileSync(file(ids[0]!), 'utf8');
    writeFileSync(file(ids[0]!), text.slice(0, text.length >> 1));
    writeFileSync(file(ids[1]!), '\u0000\u0001 not json');
    // Another conversation's part, fresh as can be, in the wrong folder.
    copyFileSync(file(ids[0]!), file(ids[2]!));
    const svc = await started(await openStore(dataDir));
    expect(svc.startup).toEqual({ loaded: 0, rebuilt: 3 });
    expect(await found(svc, 'kappa')).toEqual([ids[0]]);
    expect(await found(svc, 'lambda')).toEqual([ids[1]]);
    expect(await found(svc, 'mu')).toEqual([ids[2]]);
    await svc.close();
    // And the rebuilt parts were written again.
    expect((await started(await openStore(dataDir))).startup).toEqual({ loaded: 3, rebuilt: 0 });
  });

  it('deleted means deleted: no file under DATA_DIR holds a deleted conversation\'s words', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const keep = await add(store, ['ordinary words']);
    const gone = await add(store, ['xylophonequartz is private'], 'Secret quokkatitle');
    await (await started(store)).close();
    const svc = await started(await openStore(dataDir));
    expect(svc.startup.loaded).toBe(2);
    const live = svc['store'] as ConversationStore;
    expect(filesUnder(dataDir).some((f) => f.text.includes('xylophonequartz'))).toBe(true);
    // Changed just before the delete: its part is due to be written, and must never be.
    await live.correct(gone, { op: 'edit', segment_id: 0, text: 'xylophonequartz edited' });
    await svc.refresh();
    await live.delete(gone);
    expect(await live.writeDerived(gone, SEARCH_FILE, '{"late":"xylophonequartz"}')).toBe(false);
    // Retention sweeps through the same delete; a close right after writes nothing of it back.
    await svc.close();
    for (const f of filesUnder(dataDir)) {
      expect(f.text, f.path).not.toContain('xylophonequartz');
      expect(f.text, f.path).not.toContain('quokkatitle');
    }
    const next = await started(await openStore(dataDir));
    expect(await found(next, 'xylophonequartz')).toEqual([]);
    expect(await found(next, 'ordinary')).toEqual([keep]);
    await next.close();
  });

  it('retention removes an old conversation with its kept part; the index forgets it', async () => {
    const dataDir = tmp('duet-search-keep-');
    const store = await openStore(dataDir);
    const old = await add(store, ['ancient wombatword'], 'Old', new Date('2020-01-01T00:00:00Z'));
    const recent = await add(store, ['recent wombatword']);
    await (await started(store)).close();
    const svc = await started(await openStore(dataDir));
    const live = svc['store'] as ConversationStore;
    expect(await live.sweep(30)).toBe(1);
    expect(await found(svc, 'wombatword')).toEqual([recent]);
    await svc.close();
    expect(filesUnder(dataDir).filter((f) => f.text.includes('ancient'))).toEqual([]);
    expect(filesUnder(dataDir).some((f) => f.path.includes(old))).toBe(false);
  });

  describe('with encryption at rest', () => {
    function keyFile(dir: string): { path: string; key: DataKey } {
      const hex = randomBytes(32).toString('hex');
      const path = join(dir, `key-${randomBytes(3).toString('hex')}`);
      writeFileSync(path, hex, { mode: 0o600 });
      chmodSync(path, 0o600);
      return { path, key: dataKey(Buffer.from(hex, 'hex')) };
    }
    const sealed = async (dataDir: string, keyPath: string) => openStore(dataDir, (await storageFsFor({ dataDir, keyFile: keyPath, inner: nodeFs })).fs);

    it('keeps the part sealed (no plaintext beside sealed records), loads it, and survives a rekey', async () => {
      const dataDir = tmp('duet-search-keep-');
      const keys = tmp('duet-search-keys-');
      const k1 = keyFile(keys);
      const store = await sealed(dataDir, k1.path);
      const id = await add(store, ['nasturtiumword in the garden']);
      await (await started(store)).close();
      const files = filesUnder(dataDir);
      expect(files.some((f) => f.path.endsWith(SEARCH_FILE))).toBe(true);
      for (const f of files) expect(f.text, f.path).not.toContain('nasturtiumword');

      const again = await started(await sealed(dataDir, k1.path));
      expect(again.startup).toEqual({ loaded: 1, rebuilt: 0 });
      expect(await found(again, 'nasturtiumword')).toEqual([id]);
      await again.close();

      // Rekey re-seals the part with the records; the next start under the new key finds it all.
      const k2 = keyFile(keys);
      // What a crash during a part's write leaves (here: plain, as written before encryption).
      writeFileSync(join(store.dirOf(id), `${SEARCH_FILE}.tmp`), '{"text":"nasturtiumword"}');
      await rekeyDataDir(dataDir, k1.key, k2.key);
      for (const f of filesUnder(dataDir)) expect(f.text, f.path).not.toContain('nasturtiumword');
      const rekeyed = await started(await sealed(dataDir, k2.path));
      expect(rekeyed.startup.loaded + rekeyed.startup.rebuilt).toBe(1);
      expect(await found(rekeyed, 'nasturtiumword')).toEqual([id]);
      await rekeyed.close();
      // Stored plain again: the part is opened too, and a start still finds everything.
      await rekeyDataDir(dataDir, k2.key, null);
      const plain = await started(await openStore(dataDir));
      expect(await found(plain, 'nasturtiumword')).toEqual([id]);
      await plain.close();
    });
  });
});
