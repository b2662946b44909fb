import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Options for the process logger. */
export interface LoggerOptions {
  /** pino level; default `info`. */
  level?: string;
  /** Write to stderr instead of stdout; default true, so `--json` output on stdout stays clean. */
  stderr?: boolean;
}

/** Creates the process logger (JSON lines). Secrets in well-known fields are redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: ['req.headers.authorization', 'req.headers["x-capstan-api-key"]', '*.secretAccessKey', '*.password'],
    },
    pino.destination({ fd: options.stderr === false ? 1 : 2, sync: false }),
  );
}

/** A logger that drops everything; for tests and quiet CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
