/** `--key=value` and bare `--flag` (→ 'true') arguments of a benchmark script. */
export function parseFlags(argv: readonly string[] = process.argv.slice(2)): Record<string, string> {
  return Object.fromEntries(
    argv.map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=');
      return [k!, v ?? 'true'];
    }),
  );
}
