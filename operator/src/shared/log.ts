// Structured logs: one JSON object per line on stderr, with the fields that let an
// operator find one function's, version's or request's story.
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

export function createLogger(
  base: LogFields = {},
  minimum: Level = (process.env.LAMINA_LOG_LEVEL as Level | undefined) ?? 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const emit = (level: Level) => (message: string, fields?: LogFields) => {
    if (LEVELS[level] < LEVELS[minimum]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields }));
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger({ ...base, ...fields }, minimum, write),
  };
}
