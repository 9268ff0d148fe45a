#!/usr/bin/env node
// `npm run build:whisper`: builds whisper.cpp's `whisper-server` and `whisper-bench` from the
// sources that the `nodejs-whisper` package ships, with native CPU flags (a prebuilt binary
// has no SIMD and is ~20× slower), plus CUDA / Vulkan when their toolchains are present.
//
// The sources are copied to `<build dir>-src` and the server example is patched there
// (src/asr/whisper-server-patch.mjs: a required secret, no /load, no CORS, port 0); the
// package's own tree in node_modules is never modified.
//
// Output: `$WHISPER_BUILD_DIR` (default build/whisper) with bin/whisper-server,
// bin/whisper-bench, backends.json ({ cuda, vulkan, ... }) and a stamp; a second run with the
// same sources and flags does nothing.
//
// Environment:
//   WHISPER_BUILD_DIR   output folder (relative to the repository root)
//   WHISPER_CUDA        auto (default) | 1 | 0 — auto: nvcc present and an NVIDIA GPU visible
//   WHISPER_CUDA_ARCHS  CMAKE_CUDA_ARCHITECTURES (default: native when a GPU is visible)
//   WHISPER_VULKAN      auto (default) | 1 | 0 — auto: glslc and the Vulkan headers present
//   WHISPER_BUILD_JOBS  parallel compile jobs (default: the number of CPU cores)
//   WHISPER_FORCE_BUILD=1  ignore the stamp
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchServerSource, patchWhisperSource, SERVER_EDITS, WHISPER_EDITS } from '../src/asr/whisper-server-patch.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIR = resolve(ROOT, 'node_modules/nodejs-whisper/cpp/whisper.cpp');
const BUILD_DIR = resolve(ROOT, process.env.WHISPER_BUILD_DIR || 'build/whisper');
/** The patched copy of the sources that cmake builds. */
const PATCHED_DIR = `${BUILD_DIR}-src`;
const SERVER_SOURCE = 'examples/server/server.cpp';
/** whisper.cpp's own source, patched so the encoder honours the abort callback per graph node. */
const WHISPER_SOURCE = 'src/whisper.cpp';
const TARGETS = ['whisper-server', 'whisper-bench'];
const STAMP_FILE = join(BUILD_DIR, 'build-stamp.json');
const BACKENDS_FILE = join(BUILD_DIR, 'backends.json');
/** Bump when this script changes what it builds, so old builds are redone. */
const SCRIPT_REVISION = 2;

const say = (msg) => console.log(`[build:whisper] ${msg}`);

function fail(msg) {
  console.error(`[build:whisper] ERROR: ${msg}`);
  process.exit(1);
}

/** First executable named `name` on PATH (or in `extraDirs`), else null. */
function which(name, extraDirs = []) {
  const dirs = [...(process.env.PATH || '').split(delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (existsSync(candidate) && spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return null;
}

/** `auto` (default), or an explicit on/off from the environment. */
function tristate(name) {
  const v = (process.env[name] || 'auto').toLowerCase();
  if (['1', 'on', 'true', 'yes'].includes(v)) return true;
  if (['0', 'off', 'false', 'no'].includes(v)) return false;
  return 'auto';
}

function sourceVersion() {
  const cmake = readFileSync(join(SOURCE_DIR, 'CMakeLists.txt'), 'utf8');
  const m = /project\("whisper\.cpp" VERSION ([0-9.]+)\)/.exec(cmake);
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'node_modules/nodejs-whisper/package.json'), 'utf8'));
  return `whisper.cpp ${m ? m[1] : 'unknown'} (nodejs-whisper ${pkg.version})`;
}

function nvidiaGpuVisible() {
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  return smi.status === 0 && /^GPU \d+:/m.test(smi.stdout || '');
}

function vulkanHeadersPresent() {
  const dirs = ['/usr/include', '/usr/local/include'];
  if (process.env.VULKAN_SDK) dirs.unshift(join(process.env.VULKAN_SDK, 'include'));
  return dirs.some((d) => existsSync(join(d, 'vulkan/vulkan.h')));
}

/** Decides the backends and returns the cmake -D flags, the stamp's input. */
function plan() {
  const notes = [];
  const flags = {
    CMAKE_BUILD_TYPE: 'Release',
    BUILD_SHARED_LIBS: 'OFF',
    GGML_NATIVE: 'ON',
    WHISPER_BUILD_EXAMPLES: 'ON',
    WHISPER_BUILD_TESTS: 'OFF',
    WHISPER_BUILD_SERVER: 'ON',
    WHISPER_SDL2: 'OFF',
    WHISPER_CURL: 'OFF',
    WHISPER_COMMON_FFMPEG: 'OFF',
    GGML_CUDA: 'OFF',
    GGML_VULKAN: 'OFF',
  };

  const cudaWanted = tristate('WHISPER_CUDA');
  const nvcc = cudaWanted === false ? null : which('nvcc', ['/usr/local/cuda/bin']);
  if (cudaWanted === true && !nvcc) fail('WHISPER_CUDA=1 but nvcc was not found (PATH or /usr/local/cuda/bin)');
  if (nvcc) {
    const gpu = nvidiaGpuVisible();
    // A native CUDA build needs a GPU to detect its architecture; without one (a CI box with
    // the toolkit installed) it would compile ~150 kernels files for nothing, so auto skips it.
    if (cudaWanted === true || gpu) {
      flags.GGML_CUDA = 'ON';
      flags.CMAKE_CUDA_COMPILER = nvcc;
      const archs = process.env.WHISPER_CUDA_ARCHS || (gpu ? '' : '75-virtual;80-virtual;86-real;89-real;90-real');
      if (archs) flags.CMAKE_CUDA_ARCHITECTURES = archs;
      notes.push(`CUDA on (${nvcc}${gpu ? ', GPU visible' : ', no GPU visible, forced'})`);
    } else {
      notes.push(`CUDA off: nvcc found (${nvcc}) but no NVIDIA GPU visible to nvidia-smi (WHISPER_CUDA=1 forces it)`);
    }
  } else {
    notes.push(cudaWanted === false ? 'CUDA off (WHISPER_CUDA=0)' : 'CUDA off: nvcc not found');
  }

  const vulkanWanted = tristate('WHISPER_VULKAN');
  if (vulkanWanted !== false) {
    const glslc = which('glslc');
    const headers = vulkanHeadersPresent();
    if (glslc && headers) {
      flags.GGML_VULKAN = 'ON';
      notes.push('Vulkan on');
    } else if (vulkanWanted === true) {
      fail(`WHISPER_VULKAN=1 but ${glslc ? 'the Vulkan headers (vulkan/vulkan.h)' : 'glslc'} was not found`);
    } else {
      notes.push(`Vulkan off: ${glslc ? 'no vulkan/vulkan.h' : 'glslc not found'}`);
    }
  } else {
    notes.push('Vulkan off (WHISPER_VULKAN=0)');
  }
  return { flags, notes };
}

/** Runs a command, streaming its output line by line with a prefix. */
function runStreamed(cmd, args, prefix) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const pipe = (stream, out) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) out.write(`${prefix}${line}\n`);
      });
      stream.on('end', () => rest && out.write(`${prefix}${rest}\n`));
    };
    pipe(child.stdout, process.stdout);
    pipe(child.stderr, process.stderr);
    child.on('error', (err) => {
      console.error(`${prefix}${err.message}`);
      resolvePromise(1);
    });
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}

async function main() {
  if (!existsSync(join(SOURCE_DIR, 'CMakeLists.txt'))) {
    fail(`whisper.cpp sources not found at ${SOURCE_DIR}: run \`npm install\` (the nodejs-whisper package ships them)`);
  }
  const cxx = process.env.CXX ? which(process.env.CXX) ?? (existsSync(process.env.CXX) ? process.env.CXX : null) : which('c++') ?? which('g++') ?? which('clang++');
  if (!cxx) fail(`no C++ compiler found${process.env.CXX ? ` (CXX=${process.env.CXX})` : ' (c++, g++ or clang++)'}. Install one, e.g. \`sudo apt-get install g++\`.`);

  const version = sourceVersion();
  const { flags, notes } = plan();
  const patch = createHash('sha256').update(JSON.stringify([SERVER_EDITS, WHISPER_EDITS])).digest('hex').slice(0, 16);
  const stamp = { revision: SCRIPT_REVISION, version, cxx, flags, patch };
  const binaries = TARGETS.map((t) => join(BUILD_DIR, 'bin', t));

  if (!process.env.WHISPER_FORCE_BUILD && binaries.every((b) => existsSync(b)) && existsSync(STAMP_FILE) && existsSync(BACKENDS_FILE)) {
    try {
      if (JSON.stringify(JSON.parse(readFileSync(STAMP_FILE, 'utf8'))) === JSON.stringify(stamp)) {
        say(`${version} already built in ${BUILD_DIR} (${notes.filter((n) => n.includes(' on')).join(', ') || 'CPU only'})`);
        return;
      }
    } catch {
      // an unreadable stamp means rebuild
    }
  }

  const cmake = which('cmake');
  if (!cmake) fail('cmake not found on PATH. Install it, e.g. `sudo apt-get install cmake g++` (Debian/Ubuntu) or `brew install cmake`.');
  say(`building ${version} → ${BUILD_DIR}`);
  for (const n of notes) say(n);
  mkdirSync(BUILD_DIR, { recursive: true });
  // A cache from other flags or another compiler can make cmake keep stale choices.
  rmSync(join(BUILD_DIR, 'CMakeCache.txt'), { force: true });
  rmSync(STAMP_FILE, { force: true });

  // A fresh copy each time: the patch applies to pristine sources, and nothing is left from
  // an older patch.
  say(`copying the sources to ${PATCHED_DIR} and patching ${SERVER_SOURCE} and ${WHISPER_SOURCE}…`);
  rmSync(PATCHED_DIR, { recursive: true, force: true });
  // Timestamps kept: after a change to the patch alone, only the patched files are recompiled.
  cpSync(SOURCE_DIR, PATCHED_DIR, { recursive: true, preserveTimestamps: true });
  const serverFile = join(PATCHED_DIR, SERVER_SOURCE);
  try {
    writeFileSync(serverFile, patchServerSource(readFileSync(serverFile, 'utf8')));
    const whisperFile = join(PATCHED_DIR, WHISPER_SOURCE);
    writeFileSync(whisperFile, patchWhisperSource(readFileSync(whisperFile, 'utf8')));
  } catch (err) {
    fail(`${err.message}: this whisper.cpp version (${version}) needs src/asr/whisper-server-patch.mjs updated`);
  }

  const started = Date.now();
  const defs = Object.entries(flags).map(([k, v]) => `-D${k}=${v}`);
  say('configuring (cmake)…');
  const configured = await runStreamed(cmake, ['-S', PATCHED_DIR, '-B', BUILD_DIR, `-DCMAKE_CXX_COMPILER=${cxx}`, ...defs], '[cmake] ');
  if (configured !== 0) fail(`cmake configure failed (exit ${configured}); see the [cmake] lines above`);

  const jobs = Number(process.env.WHISPER_BUILD_JOBS) || availableParallelism();
  say(`compiling ${TARGETS.join(', ')} with ${jobs} jobs (several minutes on 2 cores; much longer with CUDA)…`);
  const built = await runStreamed(cmake, ['--build', BUILD_DIR, '--config', 'Release', '--parallel', String(jobs), '--target', ...TARGETS], '[make] ');
  if (built !== 0) fail(`compilation failed (exit ${built}); see the [make] lines above`);
  for (const b of binaries) if (!existsSync(b)) fail(`build finished but ${b} is missing`);

  const backends = { cuda: flags.GGML_CUDA === 'ON', vulkan: flags.GGML_VULKAN === 'ON', version, builtAt: new Date().toISOString() };
  writeFileSync(BACKENDS_FILE, JSON.stringify(backends, null, 2) + '\n');
  writeFileSync(STAMP_FILE, JSON.stringify(stamp) + '\n');
  say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${binaries.join(', ')}`);
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
