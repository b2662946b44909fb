import type { BackgroundService } from '../core/background-service.js';
import { isCapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RepositorySyncer } from './repository-syncer.js';
import type { SqlRepositoryStore } from './sql-repository-store.js';

/** How often the poller looks for requested syncs (push webhooks, interrupted syncs), in ms. */
const DUE_TICK_MS = 1000;

/**
 * Keeps repositories in step: syncs those a push webhook asked for (or whose interrupted sync's lease
 * expired) within a second, and fetches every repository each `pollMs` for commits no webhook announced.
 * Runs in `capstan up` and `capstan worker`; the sync lease keeps two processes off one repository.
 */
export class RepositoryPoller implements BackgroundService {
  readonly name = 'gitops-repositories';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastFull = 0;
  private stopped = true;

  constructor(
    private readonly repos: SqlRepositoryStore,
    private readonly syncer: RepositorySyncer,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule(0);
  }

  /** Looks for due syncs now (a push webhook arrived in this process). */
  nudge(): void {
    if (!this.stopped && !this.running) this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(Math.min(DUE_TICK_MS, this.pollMs));
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    try {
      const now = Date.now();
      const full = now - this.lastFull >= this.pollMs;
      if (full) this.lastFull = now;
      const names = full ? (await this.repos.list()).map((r) => r.name) : await this.repos.due(now);
      for (const name of names) {
        if (this.stopped) return;
        try {
          await this.syncer.sync(name);
        } catch (err) {
          if (!isCapstanError(err, 'CAPSTAN_GITOPS_SYNC_BUSY') && !isCapstanError(err, 'CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND')) throw err;
        }
      }
    } catch (err) {
      this.logger.error({ err }, 'repository poll failed');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
