/**
 * A long-running part of a context (queue worker, pipeline scheduler, trigger watcher, endpoint
 * host) that `capstan up` starts and a graceful shutdown stops.
 */
export interface BackgroundService {
  /** Shown in logs and in `capstan up` output. */
  readonly name: string;
  /** Starts the service; resolves once it runs. */
  start(): Promise<void>;
  /** Stops accepting work, finishes or releases in-flight work, and resolves when done. */
  stop(): Promise<void>;
}
