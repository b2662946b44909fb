import { isatty } from 'node:tty';
import { pino, type Logger } from 'pino';
import { prettyDestination } from './pretty-log.js';

export type { Logger } from 'pino';

/** How log records are written: JSON lines, human-readable lines, or `auto` (human on a terminal). */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Options for the process logger. */
export interface LoggerOptions {
  /** pino level; default `info`. */
  level?: string;
  /** Write to stderr instead of stdout; default true, so `--json` output on stdout stays clean. */
  stderr?: boolean;
  /** Default `auto`: human-readable when the output is a terminal, JSON lines otherwise (files, log collectors). */
  format?: LogFormat;
}

/** The format `auto` stands for on a given output: `pretty` on a terminal, `json` elsewhere. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (isTerminal ? 'pretty' : 'json') : format;
}

/** Creates the process logger. Secrets in well-known fields are redacted in both formats. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.stderr === false ? 1 : 2;
  const terminal = isatty(fd);
  const pretty = resolveLogFormat(options.format ?? 'auto', terminal) === 'pretty';
  return pino(
    {
      level: options.level ?? 'info',
      redact: ['req.headers.authorization', 'req.headers["x-capstan-api-key"]', '*.secretAccessKey', '*.password'],
    },
    pretty ? prettyDestination(fd, { color: terminal && !process.env.NO_COLOR }) : pino.destination({ fd, sync: false }),
  );
}

/** A logger that drops everything; for tests and quiet CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
