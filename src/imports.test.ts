/** Imports run one way: the session's ports own what they exchange; stages do not reach back. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
