/**
 * The docs cannot drift from the repository: every relative link in README.md, CONTRIBUTING.md,
 * SECURITY.md and docs/*.md
 * points at a file that exists, every `npm run X` they name is a package.json script, and every
 * `scripts/…` or `src/…` path they name in backticks exists.
 *
 * The list of pages is read when the test runs, so a page merged later is checked too.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingDocs } from '../src/config-docs.js';
import { fromRoot } from '../src/paths.js';

/**
 * Pages being merged from other branches at the time this test was written. A link to one of
 * them is accepted only while the file does not exist; once it exists it is checked like any other.
 */
const ARRIVING = new Set(['docs/partials.md', 'docs/notes.md']);

const root = fromRoot('.');
const pages = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  ...readdirSync(fromRoot('docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const scripts = new Set(Object.keys(JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')).scripts as Record<string, string>));

/** The page's text without fenced code blocks (their contents are not Markdown links). */
function withoutFences(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
}

/** Relative link targets of a Markdown page: `[text](target)`, without the `#fragment`. */
function relativeLinks(text: string): string[] {
  const out: string[] = [];
  for (const m of withoutFences(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    const path = target.split('#')[0]!;
    if (path) out.push(decodeURI(path));
  }
  return out;
}

/** The anchors a Markdown page offers: GitHub's heading slugs (with -1, -2 for repeats) and `<a id>`s. */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

/** `[text](page.md#fragment)` and `[text](#fragment)` links, as [page, fragment], page '' for this one. */
function fragmentLinks(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of withoutFences(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || !target.includes('#')) continue;
    const [path, fragment] = target.split('#') as [string, string];
    if (path === '' || path.endsWith('.md')) out.push([decodeURI(path), decodeURIComponent(fragment)]);
  }
  return out;
}

/**
 * Names X of every `npm run X` on the page, code blocks included. `npm run bench:*` stands for
 * a family: it must match at least one script.
 */
function npmRunNames(text: string): string[] {
  return [...text.matchAll(/\bnpm run ([A-Za-z0-9][\w:.*-]*)/g)].map((m) => m[1]!.replace(/[.:]+$/, ''));
}

function isScript(name: string): boolean {
  if (!name.endsWith('*')) return scripts.has(name);
  const prefix = name.slice(0, -1);
  return [...scripts].some((s) => s.startsWith(prefix));
}

/**
 * `scripts/…` and `src/…` paths named in code: inline code spans and fenced blocks. A path may be
 * followed by arguments; a glob or an ellipsis (`scripts/bench/*.ts`, `scripts/research/…`) is
 * checked up to the folder before it.
 */
function codePaths(text: string): string[] {
  const out: string[] = [];
  const spans = [...withoutFences(text).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const fences = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  for (const span of [...spans, ...fences]) {
    for (const m of span.matchAll(/(?:^|[\s=(])((?:scripts|src)\/[^\s`'",;)]*)/g)) {
      let path = m[1]!;
      const wild = path.search(/[…*{<]/);
      if (wild >= 0) path = path.slice(0, path.lastIndexOf('/', wild) + 1);
      path = path.replace(/:\d+$/, '').replace(/[.:]+$/, '');
      out.push(path);
    }
  }
  return out;
}

describe('docs links', () => {
  it('reads README.md and the pages under docs/', () => {
    expect(pages).toContain('README.md');
    expect(pages.length).toBeGreaterThan(5);
  });

  for (const page of pages) {
    const text = readFileSync(fromRoot(page), 'utf8');

    it(`${page}: relative links point at files that exist`, () => {
      const missing = relativeLinks(text).filter((target) => {
        const full = resolve(dirname(join(root, page)), target);
        if (existsSync(full)) return false;
        return !ARRIVING.has(relative(root, full).split('\\').join('/'));
      });
      expect(missing).toEqual([]);
    });

    it(`${page}: links to a heading name one that exists`, () => {
      const missing = fragmentLinks(text).filter(([path, fragment]) => {
        const full = path === '' ? join(root, page) : resolve(dirname(join(root, page)), path);
        if (!existsSync(full)) return false; // reported by the test above, or an arriving page
        return !anchors(readFileSync(full, 'utf8')).has(fragment);
      });
      expect(missing.map(([path, fragment]) => `${path}#${fragment}`)).toEqual([]);
    });

    it(`${page}: every \`npm run X\` is a package.json script`, () => {
      expect(npmRunNames(text).filter((name) => !isScript(name))).toEqual([]);
    });

    it(`${page}: every \`scripts/…\` and \`src/…\` path exists`, () => {
      expect(codePaths(text).filter((path) => !existsSync(join(root, path)))).toEqual([]);
    });
  }

  it("README's settings table gives each setting's name and default as the configuration page does", () => {
    const readme = readFileSync(fromRoot('README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The settings people change'));
    const table = section.slice(0, section.indexOf('\n## '));
    const defaults = new Map(settingDocs().map((d) => [d.name, d.default]));
    const rows = [...table.matchAll(/^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| ([^|]+) \|/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const [, namesCell, defaultCell] of rows) {
      const names = [...namesCell!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
      const cell = defaultCell!.trim();
      // A note in brackets may follow the default: `0 days (keep)`.
      const shown = cell.replace(/(\S)\s+\([^)]*\)$/, '$1');
      const expected = names.map((n) => defaults.get(n) ?? `${n} is not a setting`).join(', ');
      expect(shown, names.join(', ')).toBe(expected);
    }
  });
});
