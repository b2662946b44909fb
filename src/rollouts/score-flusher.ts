import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodic-task.js';
import type { ScoreBook } from './score-book.js';
import type { SqlDeploymentStore } from './sql-deployment-store.js';

/**
 * The background service, in every `capstan up` process, that keeps this process's score book
 * collecting the endpoints whose running deployment has a quality alarm, and flushes it — so a
 * quality alarm sees the scores of every serving process, not only the driving one's.
 */
export class ScoreFlusher implements BackgroundService {
  readonly name = 'rollout-score-flusher';
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: SqlDeploymentStore,
    private readonly book: ScoreBook,
    logger: Logger,
    everyMs: number,
  ) {
    this.task = new PeriodicTask(everyMs, () => this.tick(), (err) => logger.warn({ err }, 'score flush failed'));
  }

  async start(): Promise<void> {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    await this.book.flushQuietly();
  }

  /** Refreshes the watched endpoints from the running deployments, then flushes. */
  async tick(): Promise<void> {
    this.book.watchOnly(await this.store.qualityWatchedEndpoints());
    await this.book.flushQuietly();
  }
}
