/**
 * Minimal leveled logger writing one line per event to stderr. Never pass voices, transcripts
 * or embeddings in log strings: they are personal data.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A logger whose lines carry an extra `[scope]` prefix. */
  child(scope: string): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Creates a logger that drops lines below `level`. */
export function createLogger(level: LogLevel, scope = '', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string) => {
    if (RANK[lvl] < min) return;
    write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ''}${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (s) => createLogger(level, scope ? `${scope}:${s}` : s, write),
  };
}
