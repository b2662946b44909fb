import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import type { LocalDecisionService } from './local-decision-service.js';
import type { SqlDecisionStore } from './sql-decision-store.js';

const SWEEP_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Deletes each use case's records older than its active version's `retentionDays` (default 90), hourly. */
export class RecordRetention implements BackgroundService {
  readonly name = 'decision-retention';
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly store: SqlDecisionStore,
    private readonly service: LocalDecisionService,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((err) => this.logger.warn({ err }, 'decision record retention failed'))
        .finally(() => (this.running = undefined));
    }, SWEEP_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep; returns how many records each use case lost. */
  async sweep(now = Date.now()): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const s of await this.store.useCases()) {
      const uc = await this.service.version(s.name, s.activeVersion ?? s.latestVersion);
      out[s.name] = await this.store.deleteRecordsBefore(s.name, now - uc.retentionDays * DAY_MS);
    }
    return out;
  }
}
