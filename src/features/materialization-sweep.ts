import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import { enqueueMaterialization } from './local-feature-service.js';
import type { SqlDefinitionStore } from './sql-definition-store.js';

/**
 * Materialization on a schedule: every `intervalMs`, each group version whose newest ingestion is
 * after its materialization watermark gets a `features.materialize` job (one per ingestion, by
 * idempotency key). The job enqueued right after an ingestion usually did this already; the sweep
 * covers a process killed between publishing a batch and enqueuing its job, and online stores
 * emptied and refilled out of band.
 */
export class MaterializationSweep implements BackgroundService {
  readonly name = 'features-materialization-sweep';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: SqlDefinitionStore,
    private readonly queue: JobQueue,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Enqueues the pending materializations once; answers how many group versions were pending. */
  async sweep(): Promise<number> {
    const pending = await this.store.pendingMaterializations();
    for (const p of pending) await enqueueMaterialization(this.queue, p);
    return pending.length;
  }

  async start(): Promise<void> {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, 'feature materialization sweep failed; retrying at the next interval'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
