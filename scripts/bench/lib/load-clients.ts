/**
 * The simulated clients of `npm run bench:load`, in a process of their own so the server's CPU,
 * event-loop delay and memory are the server's alone. Run by load.ts:
 * `tsx scripts/bench/lib/load-clients.ts <json>` with
 * `{ url, token, seconds, groups: [{ n, language, offset }] }`; streams every group's `n`
 * clients at once at real-time pace (conversations of the shared corpus in turn, from
 * `offset`) and prints the results, one array per group, as one JSON line on stdout.
 */
import { parseArgs } from 'node:util';
import { loadSharedConversation, sharedConversationNames } from '../../../src/testing/corpus.js';
import { runRealtimeClient, type RealtimeResult } from './realtime.js';

interface Group {
  n: number;
  language: string;
  offset: number;
}
const { positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, strict: true, options: {} });
const spec = JSON.parse(positionals[0] ?? '{}') as { url: string; token: string; seconds: number; groups: Group[] };
const names = sharedConversationNames();
const convs = new Map<number, ReturnType<typeof loadSharedConversation>>();
const conv = (k: number) => {
  k %= names.length;
  if (!convs.has(k)) convs.set(k, loadSharedConversation(names[k]!));
  return convs.get(k)!;
};
const failed = (err: Error): RealtimeResult => ({ segmentLatencyS: [], transcriptionLatencyS: [], segments: 0, errors: [`client: ${err.message}`], firstPartialLatencyS: [], partials: 0 });
const results = await Promise.all(
  spec.groups.map((g) =>
    Promise.all(Array.from({ length: g.n }, (_, i) => runRealtimeClient(spec, conv(g.offset + i), spec.seconds, { language: g.language }).catch(failed))),
  ),
);
process.stdout.write(JSON.stringify(results) + '\n');
