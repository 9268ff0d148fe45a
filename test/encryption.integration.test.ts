/**
 * Encryption at rest through a real server: with DATA_KEY_FILE the API and the exports read
 * plaintext while the disk holds none; a wrong key, no key, or a key file others can read stop
 * the server at start with the reason (never an empty history).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

describe('DATA_KEY_FILE', () => {
  const keys = mkdtempSync(join(tmpdir(), 'duet-keys-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'duet-encdata-'));
  afterAll(() => {
    rmSync(keys, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  const key = (name: string, mode = 0o600) => {
    const p = join(keys, name);
    writeFileSync(p, randomBytes(32).toString('hex') + '\n', { mode });
    return p;
  };

  it('serves decrypted conversations and exports while the disk holds only ciphertext', async () => {
    const good = key('good');
    const server = await startTestServer({ DATA_DIR: dataDir, DATA_KEY_FILE: good });
    try {
      const meta = await server.store.createFinished({
        language: 'en',
        models: { asr: null, speaker: 'e', vad: 'v' },
        speakers: [{ id: 0, name: 'Zed' }],
        title: 'Visit',
        endedAt: new Date(),
        audioS: 2,
        segments: [{ segment_id: 0, speaker_id: 0, start: 0, end: 2, text: 'a private sentence' }],
      });
      const got = await api(server.url, server.token, 'GET', `/api/conversations/${meta.id}`);
      expect(got.json<{ segments: Array<{ text: string }> }>().segments[0]?.text).toBe('a private sentence');
      expect((await api(server.url, server.token, 'GET', `/api/conversations/${meta.id}/export?format=txt`)).text).toContain('a private sentence');
      expect(readFileSync(join(dataDir, 'conversations', meta.id, 'events.jsonl'), 'utf8')).not.toContain('private');
    } finally {
      await server.close();
    }
  });

  it('refuses to start with a wrong key, without a key, or with a key file others can read', async () => {
    await expect(startTestServer({ DATA_DIR: dataDir, DATA_KEY_FILE: key('other') })).rejects.toThrow(/not the key .* was encrypted with/);
    await expect(startTestServer({ DATA_DIR: dataDir })).rejects.toThrow(/is encrypted .*set DATA_KEY_FILE/);
    await expect(startTestServer({ DATA_DIR: dataDir, DATA_KEY_FILE: key('open', 0o644) })).rejects.toThrow(/permissions 644/);
  });
});
