/**
 * The flags of a benchmark or research script, through `node:util` `parseArgs` like every
 * command: `--key=value` → `{ key: 'value' }`, a bare `--flag` → `'true'`. Scripts accept
 * server settings as flags too (`--far-below-speech-db=15`), so unknown keys are kept, not
 * refused; each script reads the keys it knows.
 */
import { parseArgs } from 'node:util';

export function parseFlags(argv: readonly string[] = process.argv.slice(2)): Record<string, string> {
  const { values } = parseArgs({ args: [...argv], strict: false, allowPositionals: true });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    const last = Array.isArray(v) ? v.at(-1) : v;
    out[k] = last === true || last === undefined ? 'true' : String(last);
  }
  return out;
}
