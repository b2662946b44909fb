import { writeSync } from 'node:fs';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '\x1b[90m' },
  20: { name: 'DEBUG', color: '\x1b[36m' },
  30: { name: 'INFO ', color: '\x1b[32m' },
  40: { name: 'WARN ', color: '\x1b[33m' },
  50: { name: 'ERROR', color: '\x1b[31m' },
  60: { name: 'FATAL', color: '\x1b[35m' },
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
// Fields every pino line carries; the human line shows time, level and message in their place.
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v', 'err']);

/** Options of the human-readable format. */
export interface PrettyOptions {
  /** ANSI colours; default false. */
  color?: boolean;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * One pino JSON record as a terminal line: `12:04:05.123 INFO  message key=value …`, an error's
 * message after it and, at error level and above, its stack indented below. Text that is not a JSON
 * record passes through unchanged.
 */
export function formatLogLine(line: string, options: PrettyOptions = {}): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVELS[rec.level as number] ?? { name: String(rec.level).toUpperCase().padEnd(5), color: '' };
  const time = new Date(typeof rec.time === 'number' ? rec.time : Date.now()).toISOString().slice(11, 23);
  const fields = Object.entries(rec)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const err = rec.err as { message?: string; stack?: string; type?: string } | undefined;
  const c = options.color ? (s: string, code: string) => `${code}${s}${RESET}` : (s: string) => s;
  let out = `${c(time, DIM)} ${c(level.name, level.color)} ${String(rec.msg ?? '')}`;
  if (err?.message) out += `: ${err.message}`;
  if (fields) out += ` ${c(fields, DIM)}`;
  if (err?.stack && (rec.level as number) >= 50) out += `\n${err.stack.split('\n').slice(1).map((l) => `    ${l.trim()}`).join('\n')}`;
  return `${out}\n`;
}

/** A pino destination that writes each record as a human-readable line to a file descriptor (a terminal). */
export function prettyDestination(fd: number, options: PrettyOptions = {}): { write(line: string): void } {
  return {
    write(chunk: string) {
      // pino hands over one record per call; a chunk may still end with the newline only.
      for (const line of chunk.split('\n')) if (line) writeSync(fd, formatLogLine(line, options));
    },
  };
}
