import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataKeyError, encryptedFs, KEY_CHECK_FILE, loadDataKey, parseKeyFile, storageFsFor } from './encrypted-fs.js';
import { nodeFs } from './fs.js';
import { dataKey, openRecord, sealRecord } from './record-codec.js';
import { rekeyDataDir, RekeyError } from './rekey.js';
import { ConversationStore } from './store.js';
import { exportConversation } from './exports.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'duet-enc-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const models = { asr: null, speaker: 'enc', vad: 'v' };
const seg = (id: number) => ({ k: 'segment' as const, segment_id: id, speaker_id: 0 as const, start: id, end: id + 0.5, similarity: [0.9, 0.1] as [number, number] });
const tx = (id: number, text: string) => ({ k: 'transcription' as const, segment_id: id, speaker_id: 0 as const, text, timestamp: new Date().toISOString(), start: id, end: id + 0.5 });

function keyFile(dir: string, content: string | Buffer = randomBytes(32).toString('hex'), mode = 0o600): string {
  const p = join(dir, `key-${randomBytes(3).toString('hex')}`);
  writeFileSync(p, content, { mode });
  chmodSync(p, mode);
  return p;
}

async function sealedStore(dataDir: string, keyPath: string, unreadable: Array<[string, number[]]> = []) {
  const { fs } = await storageFsFor({ dataDir, keyFile: keyPath, inner: nodeFs, onUnreadable: (f, r) => unreadable.push([f, r]) });
  const store = new ConversationStore(dataDir, fs);
  await store.init();
  return store;
}

describe('record codec', () => {
  it('seals each record with a fresh nonce and opens only with its key and its file', () => {
    const k = dataKey(randomBytes(32));
    const a = sealRecord(k, 'conversations/x/events.jsonl', '{"k":"segment"}\n');
    const b = sealRecord(k, 'conversations/x/events.jsonl', '{"k":"segment"}\n');
    expect(a).not.toBe(b);
    expect(openRecord([k], 'conversations/x/events.jsonl', a)).toBe('{"k":"segment"}\n');
    expect(openRecord([k], 'conversations/y/events.jsonl', a)).toBeNull();
    expect(openRecord([dataKey(randomBytes(32))], 'conversations/x/events.jsonl', a)).toBeNull();
    for (const bad of ['', 'x', `${k.id}.`, `${k.id}.AAAA`, '{"k":1}', 'z'.repeat(5000)]) expect(openRecord([k], 'a', bad)).toBeNull();
  });

  it('reads keys as 32 bytes, 64 hex digits or base64, and nothing else', () => {
    const raw = randomBytes(32);
    expect(parseKeyFile(raw)?.equals(raw)).toBe(true);
    expect(parseKeyFile(Buffer.from(raw.toString('hex') + '\n'))?.equals(raw)).toBe(true);
    expect(parseKeyFile(Buffer.from(raw.toString('base64')))?.equals(raw)).toBe(true);
    expect(parseKeyFile(Buffer.from(raw.toString('base64url')))?.equals(raw)).toBe(true);
    for (const bad of [randomBytes(16), randomBytes(33), Buffer.from('a'.repeat(63)), Buffer.from(''), Buffer.from(randomBytes(20).toString('base64'))]) {
      expect(parseKeyFile(bad)).toBeNull();
    }
  });
});

describe('encrypted store', () => {
  it('stores nothing readable on disk, and reads back the same conversation, export and voice', async () => {
    const keys = tmp();
    const dataDir = join(tmp(), 'data');
    const store = await sealedStore(dataDir, keyFile(keys));
    const meta = await store.create({ language: 'en', models, speakers: [{ id: 0, name: 'Patient Zed' }] });
    await store.append(meta.id, seg(0));
    await store.append(meta.id, tx(0, 'my secret symptom'));
    await store.writeSpeakers(meta.id, [{ id: 0, profile: [0.125, 0.5] }]);
    await store.patch(meta.id, { title: 'Private consultation' });
    const voice = await store.saveVoice({ name: 'Doctor Quinn', encoder: 'enc', profile: [1, 2, 3] });
    const rec = await store.get(meta.id);
    expect(rec?.segments).toEqual([{ segment_id: 0, speaker_id: 0, start: 0, end: 0.5, text: 'my secret symptom', revision: 2 }]);
    expect(rec?.title).toBe('Private consultation');
    expect(exportConversation(rec!, 'txt')).toContain('my secret symptom');
    expect((await store.getVoice(voice.id))?.name).toBe('Doctor Quinn');
    expect((await store.list()).map((c) => c.preview)).toEqual(['my secret symptom']);
    const dir = store.dirOf(meta.id);
    for (const f of [...readdirSync(dir).map((n) => join(dir, n)), join(store.voicesDir, `${voice.id}.json`)]) {
      const raw = readFileSync(f, 'utf8');
      for (const secret of ['secret', 'Patient', 'Quinn', 'consultation', 'segment', '0.125']) expect(raw, f).not.toContain(secret);
      for (const line of raw.split('\n').filter((l) => l !== '')) expect(line).toMatch(/^[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    }
    // A second start with the same key reads it all.
    const again = await sealedStore(dataDir, keyFile(keys, readFileSync(join(keys, readdirSync(keys)[0]!))));
    expect((await again.get(meta.id))?.segments[0]?.text).toBe('my secret symptom');
  });

  it('repairs a record torn by a crash, as in plaintext, and appends after it', async () => {
    const dataDir = join(tmp(), 'data');
    const key = keyFile(tmp());
    const store = await sealedStore(dataDir, key);
    const meta = await store.create({ language: 'en', models, speakers: [] });
    for (let i = 0; i < 3; i++) await store.append(meta.id, seg(i));
    const events = join(store.dirOf(meta.id), 'events.jsonl');
    const size = statSync(events).size;
    truncateSync(events, size - 20);
    const reopened = await sealedStore(dataDir, key);
    expect((await reopened.get(meta.id))?.segments.map((s) => s.segment_id)).toEqual([0, 1]);
    await reopened.append(meta.id, seg(7));
    expect((await reopened.get(meta.id))?.segments.map((s) => s.segment_id)).toEqual([0, 1, 7]);
    expect(readFileSync(events, 'utf8').endsWith('\n')).toBe(true);
  });

  it('reports a record altered on disk, and loads the rest of the conversation', async () => {
    const dataDir = join(tmp(), 'data');
    const key = keyFile(tmp());
    const reports: Array<[string, number[]]> = [];
    const store = await sealedStore(dataDir, key, reports);
    const meta = await store.create({ language: 'en', models, speakers: [] });
    for (let i = 0; i < 4; i++) await store.append(meta.id, seg(i));
    const events = join(store.dirOf(meta.id), 'events.jsonl');
    const lines = readFileSync(events, 'utf8').split('\n');
    // Flip one character of the second record's ciphertext, and make the last one another file's.
    const l = lines[1]!;
    lines[1] = l.slice(0, 20) + (l[20] === 'A' ? 'B' : 'A') + l.slice(21);
    const other = await store.create({ language: 'en', models, speakers: [] });
    await store.append(other.id, seg(9));
    lines[3] = readFileSync(join(store.dirOf(other.id), 'events.jsonl'), 'utf8').split('\n')[0]!;
    writeFileSync(events, lines.join('\n'));
    const reopened = await sealedStore(dataDir, key, reports);
    expect((await reopened.get(meta.id))?.segments.map((s) => s.segment_id)).toEqual([0, 2]);
    expect(reports.at(-1)).toEqual([`conversations/${meta.id}/events.jsonl`, [1, 3]]);
    // Altered meta: that conversation is unreadable, the others still list.
    const metaPath = join(store.dirOf(other.id), 'meta.json');
    const m = readFileSync(metaPath, 'utf8');
    writeFileSync(metaPath, m.slice(0, 30) + (m[30] === 'A' ? 'B' : 'A') + m.slice(31));
    expect((await reopened.list()).map((c) => c.id)).toEqual([meta.id]);
    // Plain text slipped into an encrypted store is not taken for a record.
    writeFileSync(events, JSON.stringify(seg(5)) + '\n', { flag: 'a' });
    expect((await reopened.get(meta.id))?.segments.map((s) => s.segment_id)).toEqual([0, 2]);
  });

  it('refuses a wrong key, a missing key, a key for unencrypted data, and bad key files, with the reason', async () => {
    const keys = tmp();
    const dataDir = join(tmp(), 'data');
    const good = keyFile(keys);
    await sealedStore(dataDir, good);
    expect(existsSync(join(dataDir, KEY_CHECK_FILE))).toBe(true);
    const codeOf = async (keyPath: string, dir = dataDir) => {
      try {
        await storageFsFor({ dataDir: dir, keyFile: keyPath, inner: nodeFs });
        return 'ok';
      } catch (err) {
        expect(err).toBeInstanceOf(DataKeyError);
        return `${(err as DataKeyError).code}: ${(err as Error).message}`;
      }
    };
    expect(await codeOf(keyFile(keys))).toMatch(/^wrong_key: .*empty history/);
    expect(await codeOf('')).toMatch(/^key_missing: .*set DATA_KEY_FILE/);
    expect(await codeOf(keyFile(keys, 'abc'))).toMatch(/^key_file_length: .*256-bit/);
    expect(await codeOf(keyFile(keys, randomBytes(32).toString('hex'), 0o644))).toMatch(/^key_file_permissions: .*644.*chmod 600/);
    expect(await codeOf(join(keys, 'missing'))).toMatch(/^key_file_unreadable/);
    expect(await codeOf(keyFile(dataDir))).toMatch(/^key_inside_data_dir/);
    const plainDir = join(tmp(), 'plain');
    const plain = new ConversationStore(plainDir);
    await plain.init();
    await plain.create({ language: 'en', models, speakers: [] });
    expect(await codeOf(good, plainDir)).toMatch(/^unencrypted_data: .*rekey/);
    expect(await codeOf(good)).toBe('ok');
  });
});

describe('rekey', () => {
  it('encrypts plain data, re-encrypts under a new key, resumes an interrupted run, and decrypts', async () => {
    const keys = tmp();
    const dataDir = join(tmp(), 'data');
    const plain = new ConversationStore(dataDir);
    await plain.init();
    const meta = await plain.create({ language: 'en', models, speakers: [] });
    await plain.append(meta.id, seg(0));
    await plain.append(meta.id, tx(0, 'kept through every key'));
    await plain.saveVoice({ name: 'V', encoder: 'enc', profile: [1] });
    const k1 = loadDataKey(keyFile(keys), dataDir);
    const k2 = loadDataKey(keyFile(keys), dataDir);
    const read = async (k: typeof k1 | null) => {
      const fs = k ? encryptedFs(nodeFs, { dataDir, key: k }) : nodeFs;
      const s = new ConversationStore(dataDir, fs);
      return { text: (await s.get(meta.id))?.segments[0]?.text, voices: (await s.listVoices()).length };
    };
    expect((await rekeyDataDir(dataDir, null, k1)).files).toBe(3);
    expect(readFileSync(join(dataDir, 'conversations', meta.id, 'events.jsonl'), 'utf8')).not.toContain('kept');
    expect(await read(k1)).toEqual({ text: 'kept through every key', voices: 1 });
    await expect(rekeyDataDir(dataDir, null, k2)).rejects.toBeInstanceOf(RekeyError);
    const k3 = loadDataKey(keyFile(keys), dataDir);
    await expect(rekeyDataDir(dataDir, k3, k2)).rejects.toThrow(/not the key/);
    await rekeyDataDir(dataDir, k1, k2);
    expect(await read(k2)).toEqual({ text: 'kept through every key', voices: 1 });
    expect(await read(k1)).toEqual({ text: undefined, voices: 0 });
    // Interrupted half-way (one file back under k1): running again with the same keys finishes.
    const events = join(dataDir, 'conversations', meta.id, 'events.jsonl');
    const { sealText } = await import('./record-codec.js');
    writeFileSync(events, sealText(k1, `conversations/${meta.id}/events.jsonl`, `${JSON.stringify(seg(0))}\n${JSON.stringify(tx(0, 'kept through every key'))}\n`));
    await rekeyDataDir(dataDir, k1, k2);
    expect(await read(k2)).toEqual({ text: 'kept through every key', voices: 1 });
    // An altered record stops a rekey before anything changes.
    const before = readFileSync(events, 'utf8');
    writeFileSync(events, before.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`));
    await expect(rekeyDataDir(dataDir, k2, k1)).rejects.toThrow(/do not authenticate.*nothing was changed/);
    writeFileSync(events, before);
    await rekeyDataDir(dataDir, k2, null);
    expect(existsSync(join(dataDir, KEY_CHECK_FILE))).toBe(false);
    expect(await read(null)).toEqual({ text: 'kept through every key', voices: 1 });
  });
});
