import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

type LogMethod = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a real pino child only when a record is written through it.
 * Fastify gives every request a child logger carrying its id; pino serialises the bindings when a
 * child is made, through the redaction paths, which was a tenth of the gateway's garbage per
 * invocation although almost no request ever logs.
 */
export class LazyRequestLogger {
  private real: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The level in effect: the child's once it exists, else the route's or the parent's. */
  get level(): string {
    return this.real?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  /** Whether a record at `level` would be written. */
  isLevelEnabled(level: string): boolean {
    return this.real || this.options.level ? this.logger().isLevelEnabled(level) : this.parent.isLevelEnabled(level);
  }

  /** Writes at fatal. */
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  /** Writes at error. */
  error(...args: unknown[]): void {
    this.write('error', args);
  }

  /** Writes at warn. */
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  /** Writes at info. */
  info(...args: unknown[]): void {
    this.write('info', args);
  }

  /** Writes at debug. */
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  /** Writes at trace. */
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  /** Writes nothing, as pino's `silent` does. */
  silent(): void {}

  /** A child of this request's logger (which is created for it). */
  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    const logger = this.logger();
    (logger[level] as LogMethod).apply(logger, args);
  }

  private logger(): Logger {
    return (this.real ??= this.parent.child(this.bindings, this.options));
  }
}
