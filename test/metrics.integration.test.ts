/**
 * GET /metrics on the real server: protected by the token (or METRICS_TOKEN alone), accepted by
 * `promtool check metrics`, and scraped over HTTPS by a real Prometheus server (Debian's
 * `prometheus`) that is then asked for the values through its query API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.js';
import { FakeAsrEngine } from '../src/testing/fake-asr.js';
import { FIXTURE_CORPUS_DIR } from '../src/testing/paths.js';
import { promtoolProblems, sample } from '../src/testing/prometheus.js';
import { freePort } from '../src/testing/free-port.js';
import { api } from './helpers/api.js';
import { startTestServer } from './helpers/server.js';

interface Reply {
  status: number;
  body: string;
}

async function call(port: number, method: string, path: string, token: string | null, body?: Buffer): Promise<Reply> {
  const answer = await api(`https://127.0.0.1:${port}`, token ?? '', method, path, body);
  return { status: answer.status, body: answer.text };
}


function certificatePem(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.toString());
      s.end();
    });
    s.on('error', reject);
  });
}

function httpJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(err as Error);
        }
      });
    }).on('error', reject);
  });
}

describe('/metrics', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ AUTH: true, SPEAKER_ENCODER: 'builtin' }, { asr: new FakeAsrEngine({ text: 'hello' }) });
    // One file through the pipeline, so the recognition, VAD, speaker and store figures move.
    const wav = readFileSync(join(FIXTURE_CORPUS_DIR, 'jfk.wav'));
    const posted = await call(server.port, 'POST', '/api/transcriptions?language=en', server.token, wav);
    const { id } = JSON.parse(posted.body) as { id: string };
    for (let i = 0; i < 600; i++) {
      const v = JSON.parse((await call(server.port, 'GET', `/api/transcriptions/${id}`, server.token)).body) as { status: string };
      if (v.status === 'done' || v.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);
  afterAll(() => server?.close());

  it('answers the token only, in a format promtool accepts, with bounded labels', async () => {
    expect((await call(server.port, 'GET', '/metrics', null)).status).toBe(401);
    expect((await call(server.port, 'GET', '/metrics', 'wrong')).status).toBe(401);
    const r = await call(server.port, 'GET', '/metrics', server.token);
    expect(r.status).toBe(200);
    expect(promtoolProblems(r.body)).toBe('');
    for (const name of [
      'duet_live_sessions',
      'duet_open_conversations',
      'duet_recognition_queue_depth',
      'duet_recognition_latency_seconds',
      'duet_recognition_real_time_factor',
      'duet_asr_engine_restarts_total',
      'duet_asr_engine_errors_total',
      'duet_file_jobs',
      'duet_file_jobs_finished_total',
      'duet_store_write_seconds',
      'duet_store_write_failures_total',
      'duet_vad_seconds_per_audio_second',
      'duet_speaker_seconds_per_audio_second',
      'process_resident_memory_bytes',
    ]) {
      expect(r.body, name).toContain(`# TYPE ${name} `);
    }
    expect(sample(r.body, 'duet_file_jobs_finished_total{status="done"}')).toBe(1);
    expect(sample(r.body, 'duet_recognition_latency_seconds_count{class="file"}')).toBeGreaterThan(0);
    expect(sample(r.body, 'duet_recognition_real_time_factor_count')).toBeGreaterThan(0);
    expect(sample(r.body, 'duet_vad_audio_seconds_total')).toBeGreaterThan(10);
    expect(sample(r.body, 'duet_speaker_audio_seconds_total')).toBeGreaterThan(0);
    expect(sample(r.body, 'duet_store_write_seconds_count{op="append"}')).toBeGreaterThan(0);
    // No label value is an id: every label is one of the bounded sets.
    const labels = [...r.body.matchAll(/\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((kv) => kv.split('=')[0]));
    const allowed = new Set(['class', 'code', 'status', 'op', 'kind', 'le']);
    expect(labels.filter((l) => !allowed.has(l!))).toEqual([]);
  });

  it('is scraped over HTTPS by a real Prometheus server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-prom-'));
    writeFileSync(join(dir, 'ca.pem'), await certificatePem(server.port));
    writeFileSync(join(dir, 'token'), server.token, { mode: 0o600 });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: duet',
        '    scheme: https',
        '    authorization:',
        `      credentials_file: ${join(dir, 'token')}`,
        '    tls_config:',
        `      ca_file: ${join(dir, 'ca.pem')}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${server.port}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const prom: ChildProcess = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const query = async (q: string) => {
        const r = (await httpJson(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)) as { data?: { result: Array<{ value: [number, string] }> } };
        return r.data?.result[0]?.value[1];
      };
      let up: string | undefined;
      let done: string | undefined;
      for (let i = 0; i < 120 && (up !== '1' || done === undefined); i++) {
        await new Promise((r) => setTimeout(r, 500));
        up = await query('up{job="duet"}').catch(() => undefined);
        done = await query('duet_file_jobs_finished_total{status="done"}').catch(() => undefined);
      }
      expect(up).toBe('1');
      expect(done).toBe('1');
      expect(Number(await query('process_resident_memory_bytes{job="duet"}'))).toBeGreaterThan(1e6);
    } finally {
      prom.kill('SIGTERM');
    }
  }, 90_000);

  it('takes METRICS_TOKEN alone when set, and is not served without any token', async () => {
    const separate = await startTestServer({ AUTH: true, ACCESS_TOKEN: 'access-token-0123456789', METRICS_TOKEN: 'metrics-token-0123456789' }, { asr: null });
    try {
      expect((await call(separate.port, 'GET', '/metrics', 'access-token-0123456789')).status).toBe(401);
      const ok = await call(separate.port, 'GET', '/metrics', 'metrics-token-0123456789');
      expect(ok.status).toBe(200);
      expect(promtoolProblems(ok.body)).toBe('');
    } finally {
      await separate.close();
    }
    const open = await startTestServer({ AUTH: false }, { asr: null });
    try {
      expect((await call(open.port, 'GET', '/metrics', null)).status).toBe(404);
    } finally {
      await open.close();
    }
  }, 30_000);
});

