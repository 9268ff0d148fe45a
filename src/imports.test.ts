/** Imports run one way: the session's ports own what they exchange; stages do not reach back. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromRoot } from './paths.js';

/** Relative import specifiers of a source file, type-only ones included. */
function importsOf(file: string): string[] {
  const src = readFileSync(fromRoot(join('src', file)), 'utf8');
  return [...src.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]!);
}
const sourcesIn = (dir: string) =>
  readdirSync(fromRoot(join('src', dir)))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));

describe('import direction', () => {
  it('the session and its ports import nothing from transport/, speaker/ or asr/', () => {
    for (const file of ['session/ports.ts', 'session/session.ts']) {
      expect(importsOf(file).filter((s) => /^\.\.\/(transport|speaker|asr)\//.test(s)), file).toEqual([]);
    }
  });

  it('the session\'s own modules (all of session/ but pipeline.ts and room.ts, which build the real stages) import nothing from transport/, speaker/ or asr/', () => {
    const own = sourcesIn('session').filter((f) => f !== 'session/pipeline.ts' && f !== 'session/room.ts');
    for (const file of ['session/session.ts', 'session/lifecycle.ts', 'session/voices.ts', 'session/recognition-lane.ts']) expect(own).toContain(file);
    for (const file of own) {
      expect(importsOf(file).filter((s) => /^\.\.\/(transport|speaker|asr)\//.test(s)), file).toEqual([]);
    }
  });

  it('speaker/ does not import the session; the gateway takes only its ports', () => {
    for (const file of sourcesIn('speaker')) expect(importsOf(file).filter((s) => s.startsWith('../session/')), file).toEqual([]);
    expect(importsOf('transport/gateway.ts').filter((s) => s.startsWith('../session/'))).toEqual(['../session/ports.js']);
  });

  it('the shared pipeline values depend on the wire types alone', () => {
    expect(importsOf('pipeline-types.ts')).toEqual(['./protocol/messages.js']);
    expect(importsOf('session/ports.ts')).toContain('../pipeline-types.js');
    expect(importsOf('speaker/assigner.ts')).toContain('../pipeline-types.js');
  });
});

/** Every file under a folder of the repository (recursively), relative to the root. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(fromRoot(dir))) {
    const rel = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(fromRoot(rel)).isDirectory()) out.push(...filesUnder(rel));
    else out.push(rel);
  }
  return out;
}
const code = (f: string) => /\.(ts|mjs|js)$/.test(f);
/** Every relative module a file names: static imports, re-exports and dynamic `import()`, resolved against the root. */
function relativeTargets(file: string): string[] {
  const src = readFileSync(fromRoot(file), 'utf8');
  const specs = [...src.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => relative(fromRoot('.'), resolve(fromRoot(dirname(file)), s)));
}

describe('the speech front (src/front/)', () => {
  it('is pure: no I/O, no model runtime, nothing from the session, transport, speakers, recognition or storage', () => {
    for (const file of sourcesIn('front')) {
      const src = readFileSync(fromRoot(join('src', file)), 'utf8');
      expect(importsOf(file).filter((s) => /^\.\.\/(session|transport|speaker|asr|storage|files)\//.test(s)), file).toEqual([]);
      expect(src, file).not.toMatch(/from '(node:fs|node:fs\/promises|fs|onnxruntime-node|ws)'/);
    }
  });

  it('is one module: no stage of it is left in audio/, vad/ or segmenter/', () => {
    expect(sourcesIn('vad').sort()).toEqual(['vad/silero.ts', 'vad/types.ts']);
    expect(sourcesIn('audio').filter((f) => /gates|segment|front/.test(f))).toEqual([]);
    expect(sourcesIn('front').sort()).toEqual(['front/change-watcher.ts', 'front/defaults.ts', 'front/front.ts', 'front/gates.ts', 'front/room-levels.ts', 'front/segmenter.ts']);
  });
});

describe('the scripts/ layout', () => {
  const scripts = filesUnder('scripts').filter(code);
  const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('nothing under src/ or test/ imports from scripts/', () => {
    for (const file of [...filesUnder('src'), ...filesUnder('test')].filter(code)) {
      expect(relativeTargets(file).filter((t) => t.startsWith('scripts/')), file).toEqual([]);
    }
  });

  it('user commands at the top, benchmarks (with their lib) in bench/, research tools in research/', () => {
    const top = readdirSync(fromRoot('scripts')).filter((f) => !statSync(fromRoot(join('scripts', f))).isDirectory());
    expect(readdirSync(fromRoot('scripts')).filter((f) => statSync(fromRoot(join('scripts', f))).isDirectory()).sort()).toEqual(['bench', 'research']);
    for (const f of top) expect(f, `scripts/${f} looks like a benchmark or research tool`).not.toMatch(/^(bench|analyse|calibrate|eval|train|tune)-/);
    for (const [name, cmd] of Object.entries(pkg.scripts)) {
      const path = /scripts\/[^\s]+/.exec(cmd)?.[0];
      if (!path) continue;
      if (name.startsWith('bench:')) expect(path, name).toMatch(/^scripts\/bench\/[a-z-]+\.ts$/);
      else expect(path, name).toMatch(/^scripts\/[a-z-]+\.(ts|mjs|sh)$/);
    }
  });

  it('imports run one way: research may use the benchmarks\' lib, benchmarks never research, commands neither', () => {
    for (const file of scripts) {
      const targets = relativeTargets(file).filter((t) => t.startsWith('scripts/'));
      if (file.startsWith('scripts/bench/')) expect(targets.filter((t) => !t.startsWith('scripts/bench/')), file).toEqual([]);
      else if (file.startsWith('scripts/research/')) expect(targets.filter((t) => !t.startsWith('scripts/bench/lib/') && !t.startsWith('scripts/research/')), file).toEqual([]);
      else expect(targets.filter((t) => t.startsWith('scripts/bench/') || t.startsWith('scripts/research/')), file).toEqual([]);
    }
  });

  it('every command reads its arguments with node:util parseArgs (directly or through the shared helpers)', () => {
    // start.mjs passes its arguments through to the server and `npm run models` unread.
    const passThrough = new Set(['scripts/start.mjs']);
    for (const file of [...scripts, 'src/main.ts', 'src/worker.ts', 'src/config.ts']) {
      const src = readFileSync(fromRoot(file), 'utf8');
      if (!src.includes('process.argv') && !src.includes('flagsToEnv(argv')) continue;
      if (passThrough.has(file)) continue;
      expect(/\bparseArgs\(|\bparseFlags\(|\bloadConfigFromEnvironment\(|\bloadConfig\(/.test(src), file).toBe(true);
      // No hand-rolled `--key=value` splitting.
      expect(src, file).not.toMatch(/argv[^;\n]*\.split\('='\)|replace\(\/\^--\/, ''\)/);
    }
  });
});

