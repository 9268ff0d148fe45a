/**
 * `npx tsx scripts/research/profile-summary.ts <file.cpuprofile> [--top=25]`: the functions of
 * a V8 CPU profile (`node --cpu-prof`) with the most self time, as a Markdown table.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fromRoot } from '../../src/paths.js';
import { parseFlags } from '../bench/lib/args.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const file = process.argv.slice(2).find((a) => !a.startsWith('--'));
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile>');
const top = Number(parseFlags().top ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
prof.samples.forEach((id, i) => {
  const n = byId.get(id)!;
  const dt = prof.timeDeltas[i] ?? 0;
  total += dt;
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const where = url ? `${url.startsWith('/') ? relative(fromRoot('.'), url) : url}:${n.callFrame.lineNumber + 1}` : '';
  const key = `${n.callFrame.functionName || '(anonymous)'}|${where}`;
  self.set(key, (self.get(key) ?? 0) + dt);
});
console.log(`total ${(total / 1e6).toFixed(1)} s sampled`);
console.log('');
console.log('| self % | self s | function | where |');
console.log('|---|---|---|---|');
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const [fn, where] = key.split('|');
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${(us / 1e6).toFixed(2)} | \`${fn}\` | ${where ? `\`${where}\`` : ''} |`);
}
