// Entry of a front worker thread. The server runs TypeScript through tsx and tests through
// vitest; a worker thread starts bare (pool.ts gives it no execArgv), so it registers tsx's
// loader itself, then imports the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
