// A stand-in for src/main.ts under scripts/start.mjs: counts its starts in $FLAKY_COUNTER,
// crashes (status 70) the first $FLAKY_CRASHES times, then runs until SIGTERM (exits 0).
// FLAKY_CONFIG_ERROR=1: fails at once with status 1, like a bad setting.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const counter = process.env.FLAKY_COUNTER;
const n = (existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0) + 1;
writeFileSync(counter, String(n));
console.log(`flaky: start ${n}`);
if (process.env.FLAKY_CONFIG_ERROR === '1') {
  console.error('invalid configuration: PORT: must be between 0 and 65535');
  process.exit(1);
}
if (n <= Number(process.env.FLAKY_CRASHES ?? 0)) {
  setTimeout(() => process.exit(70), 50);
} else {
  process.on('SIGTERM', () => {
    console.log('flaky: SIGTERM');
    process.exit(0);
  });
  setInterval(() => undefined, 1000);
}
