import type { ActionContext, CreateRunInput, RegistryService } from '../../registry/index.js';
import type { Logger } from '../../core/logger.js';
import type { MetricPoint } from '../metrics-from-logs.js';

/** How often metric points parsed from a running step's log reach its registry run. */
const FLUSH_MS = 1000;

/**
 * The registry run of one step attempt, kept current while the step runs: created `running` when the
 * step starts, fed the metric points parsed from its log about once a second (so `capstan runs metric`
 * draws a training curve as it grows), and closed `finished` or `failed` with the step. The run is
 * bookkeeping: a registry failure is logged and never fails a step.
 */
export class LiveRun {
  private buffer: MetricPoint[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly id: string,
    private readonly registry: RegistryService,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Starts the run, or answers undefined (logged) when the registry cannot record it. */
  static async start(registry: RegistryService, input: CreateRunInput, ctx: ActionContext, logger: Logger): Promise<LiveRun | undefined> {
    try {
      const run = await registry.createRun(input, ctx);
      return new LiveRun(run.id, registry, logger);
    } catch (err) {
      logger.warn({ err, run: input.name }, 'could not record the registry run');
      return undefined;
    }
  }

  /** Queues one parsed metric point for the next flush. */
  add(point: MetricPoint): void {
    this.buffer.push(point);
  }

  /** Writes the queued points (in batches of at most 10,000, the registry's limit) after any still being written. */
  flush(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, 10_000).map((p) => ({ key: p.name, value: p.value, step: p.step, timestamp: p.at }));
      this.writing = this.writing
        .then(() => this.registry.logMetrics(this.id, batch))
        .then(
          () => undefined,
          (err) => this.logger.warn({ err, runId: this.id }, 'could not record metric points of the run'),
        );
    }
    return this.writing;
  }

  /** Stops the periodic flush, writes what is left and closes the run with the step's outcome. */
  async finish(status: 'finished' | 'failed'): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.registry.updateRun(this.id, { status }).catch((err) => this.logger.warn({ err, runId: this.id }, 'could not close the registry run'));
  }
}
