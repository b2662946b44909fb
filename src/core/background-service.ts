import type { Logger } from '../core/logger.js';

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

/** Stops services in reverse start order (later ones may depend on earlier ones); a failure is logged so the rest still stop. */
export async function stopServices(services: readonly BackgroundService[], logger: Logger): Promise<void> {
  for (const service of [...services].reverse()) {
    try {
      await service.stop();
    } catch (err) {
      logger.error({ err, service: service.name }, 'background service failed to stop cleanly');
    }
  }
}
