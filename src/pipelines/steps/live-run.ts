import type { ActionContext, CreateRunInput, RegistryService } from '../../registry/index.js';
import type { Logger } from '../../core/logger.js';
import type { MetricPoint } from '../metrics-from-logs.js';

/** How often metric points parsed from a running step's log reach its registry run. */
const FLUSH_MS = 1000;

/** Prefix of the stdout lines the Python client (clients/python) writes inside a step: `::capstan {json}`. */
export const CLIENT_LINE_PREFIX = '::capstan ';

/** Environment variable holding the id of the step's live run, for clients inside the step to attach to. */
export const RUN_ID_ENV = 'CAPSTAN_RUN_ID';

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

  /**
   * Applies one client line (`::capstan {"metrics": [{key, value, step, timestamp}], "params": {...},
   * "tags": {...}}`) to the run. Like parsed metrics, a bad line is logged and never fails the step.
   */
  clientLine(line: string): void {
    let doc: { metrics?: unknown; params?: unknown; tags?: unknown };
    try {
      doc = JSON.parse(line.slice(CLIENT_LINE_PREFIX.length)) as typeof doc;
      if (!doc || typeof doc !== 'object') throw new Error('not an object');
    } catch (err) {
      this.logger.warn({ err, runId: this.id }, 'ignored a malformed client line in the step log');
      return;
    }
    if (Array.isArray(doc.metrics)) {
      for (const m of doc.metrics as { key?: unknown; value?: unknown; step?: unknown; timestamp?: unknown }[]) {
        if (!m || typeof m.key !== 'string' || typeof m.value !== 'number') continue;
        this.buffer.push({ name: m.key, value: m.value, step: typeof m.step === 'number' ? m.step : 0, at: typeof m.timestamp === 'number' ? m.timestamp : Date.now() });
      }
    }
    const record = (what: string, write: () => Promise<unknown>) => {
      this.writing = this.writing.then(write).then(
        () => undefined,
        (err) => this.logger.warn({ err, runId: this.id }, `could not record the ${what} a client logged`),
      );
    };
    if (doc.params && typeof doc.params === 'object') record('params', () => this.registry.logParams(this.id, doc.params as Record<string, string>));
    if (doc.tags && typeof doc.tags === 'object') record('tags', () => this.registry.setRunTags(this.id, doc.tags as Record<string, string>));
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
