/** docs/integrations.md and the code agree: every setting, /v1 error code and metric is documented. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DuetMetrics } from '../src/metrics/metrics.js';
import { fromRoot } from '../src/paths.js';

const docs = readFileSync(fromRoot('docs/integrations.md'), 'utf8');
const documented = (name: string) => docs.includes('`' + name + '`');

describe('docs/integrations.md', () => {
  it('lists every setting of this feature', () => {
    for (const key of ['MAX_FILE_S', 'METRICS', 'METRICS_TOKEN', 'NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET', 'NOTIFY_RETRY_FOR_S', 'NOTIFY_TIMEOUT_MS', 'SMTP_URL', 'SMTP_FROM', 'NOTIFY_EMAIL', 'NOTIFY_EMAIL_FOR']) {
      expect(docs, key).toMatch(new RegExp('^\\| `' + key + '` \\|', 'm'));
    }
  });

  it('lists every error code /v1 answers', () => {
    // server.ts also sends WebSocket errors (`type: 'error'`, docs/protocol.md): not /v1's.
    const server = readFileSync(fromRoot('src/server.ts'), 'utf8')
      .split('\n')
      .filter((line) => !line.includes("type: 'error'"))
      .join('\n');
    const src = readFileSync(fromRoot('src/transport/api-openai.ts'), 'utf8') + server;
    const codes = new Set<string>();
    for (const m of src.matchAll(/(?:bad\(|fail\(\d+, |sendOpenAiError\(res, \d+, |refuse\(req, res, \d+, |code: )'([a-z_]+)'/g)) codes.add(m[1]!);
    codes.add('unknown_voice').add('ambiguous_voice');
    expect(codes.size).toBeGreaterThan(30);
    for (const code of codes) expect(documented(code), code).toBe(true);
  });

  it('lists every metric', async () => {
    const m = new DuetMetrics({ sessions: () => 0, openConversations: () => 0, fileJobs: () => ({ queued: 0, running: 0, done: 0, failed: 0 }), workerSlots: () => 0 });
    const names = [...(await m.render()).text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]!);
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(docs, name).toMatch(new RegExp('^\\| `' + name + '` \\|', 'm'));
  });
});
