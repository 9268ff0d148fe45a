/**
 * `npm run token` prints the sign-in link with the kept access token (creating the token on
 * first use); `npm run token -- --rotate` replaces the token: the old link stops working and
 * every signed-in browser is signed out (a running server notices within a second).
 * Reads the same settings as the server (DATA_DIR, HOST, PORT, ACCESS_TOKEN).
 */
import { parseArgs } from 'node:util';
import { loadConfigFromEnvironment } from '../src/config.js';
import { fromRoot } from '../src/paths.js';
import { securePrivateTree } from '../src/storage/private-fs.js';
import { loadOrCreateToken, tokenPathOf, writeNewToken } from '../src/transport/token-file.js';

let rotate = false;
try {
  rotate = parseArgs({ args: process.argv.slice(2).filter((f) => f !== '--'), options: { rotate: { type: 'boolean' } } }).values.rotate === true;
} catch (err) {
  process.stderr.write(`${(err as Error).message}: use npm run token [-- --rotate]\n`);
  process.exit(2);
}
try {
  const config = loadConfigFromEnvironment([]);
  if (!config.AUTH) process.stderr.write('note: AUTH=false, the server does not ask for a token at all\n');
  const dataDir = fromRoot(config.DATA_DIR);
  await securePrivateTree(dataDir);
  if (config.ACCESS_TOKEN && rotate) {
    throw new Error('ACCESS_TOKEN is set and overrides the kept token: change ACCESS_TOKEN instead (and restart the server)');
  }
  const token = config.ACCESS_TOKEN || (rotate ? await writeNewToken(tokenPathOf(dataDir), dataDir) : (await loadOrCreateToken(dataDir)).token);
  const host = ['0.0.0.0', '::'].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  if (config.ACCESS_TOKEN) process.stderr.write('note: ACCESS_TOKEN is set: this link carries it, not the kept token\n');
  if (rotate) process.stdout.write('The access token was replaced: the old link no longer opens, and every signed-in browser is signed out.\n');
  process.stdout.write(`https://${host}:${config.PORT}/?token=${encodeURIComponent(token)}\n`);
} catch (err) {
  process.stderr.write(`token: ${(err as Error).message}\n`);
  process.exit(1);
}
