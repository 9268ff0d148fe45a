/**
 * `npm run docs:config [-- --check]`
 *
 * Writes docs/configuration.md from the settings schema (src/config.ts, rendered by
 * src/config-docs.ts). With --check, writes nothing and exits 1 when the page is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderConfigurationPage } from '../src/config-docs.js';
import { fromRoot } from '../src/paths.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } }, strict: true });
const path = fromRoot('docs/configuration.md');
const page = renderConfigurationPage();
if (values.check) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // A missing page is out of date like a stale one.
  }
  if (current !== page) {
    process.stderr.write('docs/configuration.md is out of date: run `npm run docs:config`\n');
    process.exit(1);
  }
  process.stdout.write('docs/configuration.md is up to date\n');
} else {
  writeFileSync(path, page);
  process.stdout.write(`wrote ${path}\n`);
}
