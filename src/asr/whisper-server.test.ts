import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../audio/wav.js';
import { fromRoot } from '../paths.js';
import { fixturePath } from '../testing/paths.js';
import { AsrQueue } from './queue.js';
import { locateWhisperBuild } from './whisper-build.js';
import { resolveDevice, WhisperServerEngine, type AsrLogLevel, type DeviceProbe } from './whisper-server.js';
import { ensureRandomWhisperModel } from '../testing/whisper-model.js';

const probe = (cuda: number, vulkan: boolean | null): DeviceProbe => ({
  cudaDevices: async () => cuda,
  vulkanGpu: async () => vulkan,
});

describe('resolveDevice', () => {
  const none = { cuda: false, vulkan: false };
  const cuda = { cuda: true, vulkan: false };
  const vulkan = { cuda: false, vulkan: true };
  const both = { cuda: true, vulkan: true };

  it('auto takes a GPU the build supports and the machine has, else the CPU', async () => {
    expect((await resolveDevice('auto', none, probe(1, true))).device).toBe('cpu');
    expect((await resolveDevice('auto', cuda, probe(1, null))).device).toBe('cuda');
    expect((await resolveDevice('auto', cuda, probe(0, null))).device).toBe('cpu');
    expect((await resolveDevice('auto', vulkan, probe(0, true))).device).toBe('vulkan');
    expect((await resolveDevice('auto', vulkan, probe(0, false))).device).toBe('cpu');
    expect((await resolveDevice('auto', both, probe(2, true))).device).toBe('cuda');
  });

  it('cpu is always the CPU', async () => {
    expect((await resolveDevice('cpu', both, probe(2, true))).device).toBe('cpu');
  });

  it('an explicit GPU that cannot be honoured falls back to the CPU and says why', async () => {
    const d = await resolveDevice('cuda', none, probe(1, null));
    expect(d.device).toBe('cpu');
    expect(d.reason).toMatch(/no CUDA backend/);
    expect((await resolveDevice('vulkan', cuda, probe(1, true))).reason).toMatch(/no Vulkan backend/);
  });

  it('numbers a Vulkan GPU after the CUDA ones', async () => {
    expect(await resolveDevice('vulkan', both, probe(2, true))).toMatchObject({ device: 'vulkan', gpuIndex: 2 });
  });
});

// ---- the real whisper-server, built by `npm run build:whisper` -------------------------------

const build = locateWhisperBuild(process.env.WHISPER_BUILD_DIR || 'build/whisper');
const binaryPresent = existsSync(build.serverBin);
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
if (!binaryPresent && !inCi) {
  console.warn(`[asr test] SKIPPED the real whisper.cpp engine test: ${build.serverBin} is missing (run \`npm run build:whisper\`; under CI=true this fails)`);
}

/** Random-weight tiny model with the real architecture (every 30 s window decodes to " fake"). */
const testModel = () => ensureRandomWhisperModel('tiny', fromRoot('build/test-models'));

describe.skipIf(!binaryPresent && !inCi)('WhisperServerEngine (real whisper.cpp, random tiny model)', () => {
  let engine: WhisperServerEngine;
  const logs: Array<[AsrLogLevel, string]> = [];
  /** 2 s of speech from jfk.wav ("And so my fellow Americans…"). */
  let speech: Float32Array;

  beforeAll(async () => {
    expect(existsSync(build.serverBin), `${build.serverBin} must exist under CI: run npm run build:whisper`).toBe(true);
    speech = decodeWav(readFileSync(fixturePath('jfk.wav'))).samples.slice(16_000, 48_000);
    engine = new WhisperServerEngine({
      serverBin: build.serverBin,
      modelPath: testModel(),
      modelLabel: 'tiny-random',
      backends: build.backends,
      device: 'cpu',
      threads: 2,
      restartBaseMs: 100,
      log: (level, msg) => logs.push([level, msg]),
    });
    await engine.load();
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
  });

  it('names the model and device', () => {
    expect(engine.name).toBe('whisper.cpp tiny-random (cpu, 2 threads)');
    expect(engine.pid).toBeTypeOf('number');
  });

  it('transcribes a segment sent as an in-memory WAV', async () => {
    expect(await engine.transcribe(speech, { language: 'en' })).toBe('fake');
    expect(await engine.transcribe(speech, { language: 'auto' })).toBe('fake');
  }, 60_000);

  it('works through the queue', async () => {
    const queue = new AsrQueue(engine, { maxQueued: 4 });
    const texts = await Promise.all([queue.enqueue(speech, { language: 'en' }), queue.enqueue(speech.slice(0, 8000), { language: 'en' })]);
    expect(texts).toEqual(['fake', 'fake']);
    await queue.close();
  }, 60_000);

  it('rejects with AbortError when aborted, and keeps working', async () => {
    await expect(engine.transcribe(speech, { language: 'en', signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    const ac = new AbortController();
    const pending = engine.transcribe(speech, { language: 'en', signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await engine.transcribe(speech, { language: 'en' })).toBe('fake');
  }, 60_000);

  it('restarts whisper-server after it is killed', async () => {
    const before = engine.pid!;
    process.kill(before, 'SIGKILL');
    expect(await engine.transcribe(speech, { language: 'en' })).toBe('fake');
    expect(engine.pid).toBeTypeOf('number');
    expect(engine.pid).not.toBe(before);
    expect(logs.some(([level, msg]) => level === 'error' && /died/.test(msg))).toBe(true);
  }, 60_000);

  it('fails load() with the child\'s own message when the model cannot be opened', async () => {
    const broken = new WhisperServerEngine({
      serverBin: build.serverBin,
      modelPath: fromRoot('build/test-models/does-not-exist.bin'),
      backends: build.backends,
      device: 'cpu',
      log: () => undefined,
    });
    await expect(broken.load()).rejects.toThrow(/stopped while starting.*failed to open/);
    await broken.close();
  }, 30_000);

  it.skipIf(process.platform !== 'linux' || !existsSync('/usr/bin/setpriv'))('leaves no orphan when the parent process is killed', () => {
    const script = [
      `import { WhisperServerEngine } from ${JSON.stringify(fromRoot('src/asr/whisper-server.ts'))};`,
      `const e = new WhisperServerEngine({ serverBin: ${JSON.stringify(build.serverBin)}, modelPath: ${JSON.stringify(testModel())},`,
      `  backends: { cuda: false, vulkan: false }, device: 'cpu', threads: 1, log: () => {} });`,
      `await e.load(); console.log(e.pid); process.kill(process.pid, 'SIGKILL');`,
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: fromRoot('.'), encoding: 'utf8', timeout: 60_000 });
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    const alive = () => {
      try {
        return !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    const until = Date.now() + 2000;
    while (alive() && Date.now() < until) spawnSync('sleep', ['0.05']);
    expect(alive()).toBe(false);
  }, 60_000);

  it('close() stops the child, is idempotent, and later calls reject', async () => {
    const pid = engine.pid!;
    await Promise.all([engine.close(), engine.close()]);
    await engine.close();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(engine.pid).toBeUndefined();
    await expect(engine.transcribe(speech, { language: 'en' })).rejects.toThrow(/closed/);
  }, 30_000);
});
