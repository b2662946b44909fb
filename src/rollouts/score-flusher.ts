import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import type { ScoreBook } from './score-book.js';
import type { SqlDeploymentStore } from './sql-deployment-store.js';

/**
 * The background service, in every `capstan up` process, that keeps this process's score book
 * collecting the endpoints whose running deployment has a quality alarm, and flushes it — so a
 * quality alarm sees the scores of every serving process, not only the driving one's.
 */
export class ScoreFlusher implements BackgroundService {
  readonly name = 'rollout-score-flusher';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: SqlDeploymentStore,
    private readonly book: ScoreBook,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((err) => this.logger.warn({ err }, 'score flush failed'))
        .finally(() => (this.running = undefined));
    }, this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.book.flushQuietly();
  }

  /** Refreshes the watched endpoints from the running deployments, then flushes. */
  async tick(): Promise<void> {
    this.book.watchOnly(await this.store.qualityWatchedEndpoints());
    await this.book.flushQuietly();
  }
}
