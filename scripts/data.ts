/**
 * `npm run data -- rekey --new-key-file=PATH [--force]`: re-encrypts every stored record under
 * the key in PATH (DATA_KEY_FILE names the current one; unset when the data is not encrypted
 * yet). `npm run data -- rekey --decrypt` stores it plain again. Stop the server first; then
 * start it with DATA_KEY_FILE=PATH. An interrupted run is finished by running it again.
 */
import { parseArgs } from 'node:util';
import { loadConfigFromEnvironment } from '../src/config.js';
import { fromRoot } from '../src/paths.js';
import { loadDataKey } from '../src/storage/encrypted-fs.js';
import { securePrivateTree } from '../src/storage/private-fs.js';
import { rekeyDataDir } from '../src/storage/rekey.js';

const usage = 'usage: npm run data -- rekey --new-key-file=PATH [--force] | npm run data -- rekey --decrypt';
try {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2).filter((a) => a !== '--'),
      options: { 'new-key-file': { type: 'string' }, decrypt: { type: 'boolean' }, force: { type: 'boolean' } },
      allowPositionals: true,
    });
  } catch {
    throw new Error(usage);
  }
  const flags = parsed.values;
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== 'rekey') throw new Error(usage);
  if (!flags['new-key-file'] === !flags.decrypt) throw new Error(usage);
  const config = loadConfigFromEnvironment([]);
  const dataDir = fromRoot(config.DATA_DIR);
  await securePrivateTree(dataDir);
  const from = config.DATA_KEY_FILE ? loadDataKey(fromRoot(config.DATA_KEY_FILE), dataDir) : null;
  const newKeyFile = flags['new-key-file'];
  const to = newKeyFile ? loadDataKey(fromRoot(newKeyFile), dataDir) : null;
  const r = await rekeyDataDir(dataDir, from, to, { force: flags.force === true });
  for (const u of r.unreadable) process.stderr.write(`left out ${u.records.length} record(s) of ${u.file} that do not authenticate\n`);
  process.stdout.write(
    to
      ? `re-encrypted ${r.files} file(s) under key ${to.id}; start the server with DATA_KEY_FILE=${newKeyFile}\n`
      : `decrypted ${r.files} file(s); start the server without DATA_KEY_FILE\n`,
  );
} catch (err) {
  process.stderr.write(`data: ${(err as Error).message}\n`);
  process.exit(1);
}
