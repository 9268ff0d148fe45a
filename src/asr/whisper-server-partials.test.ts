/** Partials on the real whisper-server: the request fields they use, and giving way to a final. */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../audio/wav.js';
import { fromRoot } from '../paths.js';
import { fixturePath } from '../testing/paths.js';
import { ensureRandomWhisperModel } from '../testing/whisper-model.js';
import { AsrQueue } from './queue.js';
import { locateWhisperBuild } from './whisper-build.js';
import { WhisperServerEngine } from './whisper-server.js';
// @ts-expect-error -- a plain .mjs build script without types
import { patchServerSource, patchWhisperSource } from './whisper-server-patch.mjs';

const build = locateWhisperBuild(process.env.WHISPER_BUILD_DIR || 'build/whisper');
const binaryPresent = existsSync(build.serverBin);
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const describeReal = describe.skipIf(!binaryPresent && !inCi);

describe('whisper-server patch: max_tokens', () => {
  it('adds a per-request max_tokens field passed to whisper_full', () => {
    const source = readFileSync(fromRoot('node_modules/nodejs-whisper/cpp/whisper.cpp/examples/server/server.cpp'), 'utf8');
    const patched = patchServerSource(source) as string;
    expect(patched).toContain('req.has_file("max_tokens")');
    expect(patched).toContain('wparams.max_tokens       = params.max_tokens;');
    // audio_ctx and prompt are the server's own request fields already.
    expect(source).toContain('req.has_file("audio_ctx")');
    expect(source).toContain('req.has_file("prompt")');
  });

  it('reports the wait for the model, and makes the encoder check the abort callback per graph node', () => {
    const server = patchServerSource(readFileSync(fromRoot('node_modules/nodejs-whisper/cpp/whisper.cpp/examples/server/server.cpp'), 'utf8')) as string;
    expect(server).toContain('jres["duet_wait_ms"] = duet_wait_ms;');
    const whisper = patchWhisperSource(readFileSync(fromRoot('node_modules/nodejs-whisper/cpp/whisper.cpp/src/whisper.cpp'), 'utf8')) as string;
    expect(whisper).toContain('fn_set_abort(backend, abort_callback, abort_callback_data);');
    expect(whisper).toContain('ggml_graph_compute_helper(sched, gf, n_threads, true, abort_callback, abort_callback_data)');
    // A changed source fails loudly, naming the file.
    expect(() => patchWhisperSource('int main() {}')).toThrow(/whisper\.cpp/);
  });
});

describeReal('partials on the real whisper-server (random-weight tiny)', () => {
  let engine: WhisperServerEngine;
  const jfk = () => decodeWav(readFileSync(fixturePath('jfk.wav'))).samples;

  beforeAll(async () => {
    engine = new WhisperServerEngine({
      serverBin: build.serverBin,
      modelPath: ensureRandomWhisperModel('tiny', fromRoot('build/test-models')),
      modelLabel: 'tiny-random',
      backends: build.backends,
      device: 'cpu',
      threads: 2,
      log: () => undefined,
    });
    await engine.load();
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  it('accepts a short audio context, a token cap and a prompt', async () => {
    const audio = jfk().subarray(0, 2 * 16_000);
    const r = await engine.transcribe(audio, { language: 'en', audioCtx: 116, maxTokens: 12, prompt: 'And so' });
    // The random-weight model says " fake" whatever it hears.
    expect(r.text).toBe('fake');
    const full = await engine.transcribe(audio, { language: 'en' });
    expect(full.text).toBe('fake');
  }, 60_000);

  it('a final stops a running partial without restarting the engine, and is answered', async () => {
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    const pid = engine.pid;
    const lane = queue.openLane();
    const partial = lane.offerPartial(jfk(), { language: 'en', audioCtx: 1500, maxTokens: 40 });
    await new Promise((r) => setTimeout(r, 50));
    const final = queue.openLane().enqueue(jfk().subarray(0, 3 * 16_000), { language: 'en' });
    await expect(partial).rejects.toMatchObject({ code: 'dropped' });
    expect(await final).toBe('fake');
    expect(engine.pid).toBe(pid);
    expect(queue.partialCounts.preempted).toBe(1);
    await queue.close();
  }, 60_000);

  it('a stopped partial frees the engine mid-encoder: the final waits far less than the partial’s whole pass', async () => {
    // A partial over the full 30 s context (the most encoder work one request can take), once whole…
    const audio = jfk();
    let t0 = performance.now();
    await engine.transcribe(audio, { language: 'en', audioCtx: 1500, maxTokens: 1 });
    const wholeMs = performance.now() - t0;
    // …and once stopped by a final a short way into its encoder pass.
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    const partial = queue.openLane().offerPartial(audio, { language: 'en', audioCtx: 1500, maxTokens: 1 });
    await new Promise((r) => setTimeout(r, Math.min(100, wholeMs / 5)));
    t0 = performance.now();
    const final = queue.openLane().enqueue(audio.subarray(0, 16_000), { language: 'en' });
    await expect(partial).rejects.toMatchObject({ code: 'dropped' });
    expect(await final).toBe('fake');
    const waits = queue.stopWaits();
    expect(waits.count).toBe(1);
    // Without the per-node check the final would wait for the rest of the pass (~80 % of it).
    expect(waits.maxMs!).toBeLessThan(wholeMs / 2);
    await queue.close();
  }, 60_000);
});
