import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodic-task.js';
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
  private readonly task: PeriodicTask;

  constructor(
    private readonly store: SqlDefinitionStore,
    private readonly queue: JobQueue,
    private readonly intervalMs: number,
    logger: Logger,
  ) {
    this.task = new PeriodicTask(intervalMs, () => this.sweep(), (err) => logger.warn({ err }, 'feature materialization sweep failed; retrying at the next interval'));
  }

  /** Enqueues the pending materializations once; answers how many group versions were pending. */
  async sweep(): Promise<number> {
    const pending = await this.store.pendingMaterializations();
    for (const p of pending) await enqueueMaterialization(this.queue, p);
    return pending.length;
  }

  async start(): Promise<void> {
    if (this.intervalMs > 0) this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }
}
