// Preloaded into src/main.ts by the supervision test: a fault nobody catches, once the server
// had time to start. THROW_LATER=reject makes it an unhandled rejection instead.
setTimeout(() => {
  if (process.env.THROW_LATER === 'reject') void Promise.reject(new Error('planted rejection'));
  else throw new Error('planted exception');
}, Number(process.env.THROW_LATER_MS ?? 1500));
