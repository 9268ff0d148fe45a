/**
 * Locations of test data. Tests read only the fixtures vendored in the repository
 * (`test/fixtures/`), so they run from a fresh clone; benchmarks may use the larger shared corpus
 * beside the checkout (`SHARED_DIR`).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../paths.js';

export { ROOT };

/** The vendored fixtures: a small corpus with the shared corpus's layout, and the model generator. */
export const FIXTURES_DIR = resolve(ROOT, 'test/fixtures');
/** The fixture corpus (`conversations/`, `field/`, `real-ami/`, `librispeech/`, `jfk.wav`). */
export const FIXTURE_CORPUS_DIR = resolve(FIXTURES_DIR, 'corpus');

/**
 * A fixture file's path; throws, naming the file, when it is absent, so that a test that needs
 * it fails with a message instead of skipping silently.
 */
export function fixturePath(...parts: string[]): string {
  const path = resolve(FIXTURE_CORPUS_DIR, ...parts);
  if (!existsSync(path)) {
    throw new Error(`test fixture missing: ${path} (the repository's test/fixtures/corpus should hold it; see test/fixtures/README.md)`);
  }
  return path;
}

/** Benchmarks only: the `shared/` folder, `$SHARED_DIR`, else `../shared` beside the repository. */
export const SHARED_DIR = (() => {
  const candidates = [process.env.SHARED_DIR, resolve(ROOT, '../shared'), resolve(ROOT, 'shared')];
  for (const c of candidates) if (c && existsSync(resolve(c, 'corpus'))) return resolve(c);
  return resolve(ROOT, '../shared');
})();

/** Benchmarks only: the shared corpus. */
export const CORPUS_DIR = resolve(SHARED_DIR, 'corpus');
/** Benchmarks only: the shared corpus's conversations. */
export const CONVERSATIONS_DIR = resolve(CORPUS_DIR, 'conversations');
