import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { engineFromConfig } from './setup.js';

const cfg = (o: Record<string, unknown>) => loadConfig({}, [], { MODELS_DIR: mkdtempSync(join(tmpdir(), 'duet-m-')), ...o });

describe('which notes engine the configuration asks for', () => {
  it('none: off, saying how to turn notes on', async () => {
    const r = await engineFromConfig(cfg({}));
    expect(r).toMatchObject({ off: expect.stringMatching(/npm run models -- --llm.*LLM_MODEL_PATH.*LLM_URL/) });
  });

  it('LLM_URL without LLM_MODEL: off, naming it', async () => {
    expect(await engineFromConfig(cfg({ LLM_URL: 'http://127.0.0.1:1/v1' }))).toMatchObject({ off: expect.stringMatching(/LLM_MODEL/) });
  });

  it('an unreadable LLM_API_KEY_FILE: off, without the path\'s content', async () => {
    expect(await engineFromConfig(cfg({ LLM_URL: 'http://127.0.0.1:1/v1', LLM_MODEL: 'm', LLM_API_KEY_FILE: '/nonexistent/key' }))).toMatchObject({ off: expect.stringMatching(/ENOENT/) });
  });

  it('LLM_MODEL_PATH: the local engine, even before the file exists (the first note says what is wrong)', async () => {
    const r = await engineFromConfig(cfg({ LLM_MODEL_PATH: '/nonexistent/model.gguf' }));
    expect('engine' in r && r.engine.info).toMatchObject({ kind: 'local', model: 'model.gguf', leavesMachine: false });
  });

  it('LLM_URL + LLM_MODEL + a key file: the remote engine, sending the file\'s first line as the bearer token; a non-loopback host leaves the machine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-key-'));
    writeFileSync(join(dir, 'key'), 'sk-from-file\nignored\n', { mode: 0o600 });
    let auth: string | undefined;
    const server = createServer((req, res) => {
      auth = req.headers.authorization;
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify({ choices: [{ delta: { content: '{}' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const r = await engineFromConfig(cfg({ LLM_URL: url, LLM_MODEL: 'm', LLM_API_KEY: 'sk-env', LLM_API_KEY_FILE: join(dir, 'key') }));
      if (!('engine' in r)) throw new Error(r.off);
      expect(r.engine.info).toMatchObject({ kind: 'remote', model: 'm', leavesMachine: false });
      expect(await r.engine.generate({ messages: [{ role: 'user', content: 'x' }], jsonSchema: {}, maxTokens: 10 })).toBe('{}');
      expect(auth).toBe('Bearer sk-from-file');
      const far = await engineFromConfig(cfg({ LLM_URL: 'https://llm.example.com/v1', LLM_MODEL: 'm' }));
      expect('engine' in far && far.engine.info).toMatchObject({ leavesMachine: true, host: 'llm.example.com' });
    } finally {
      server.close();
    }
  });
});
