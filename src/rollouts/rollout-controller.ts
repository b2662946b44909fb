import os from 'node:os';
import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodic-task.js';
import type { DeploymentDriver } from './deployment-driver.js';
import type { SqlDeploymentStore } from './sql-deployment-store.js';

/** Options of the controller; every field has a default. */
export interface RolloutControllerOptions {
  /** How often running deployments are looked at; default 1000 ms (alarms and steps keep their own intervals). */
  tickMs?: number;
  /** Lease on a deployment this process drives; another process takes over this long after it died; default 10000 ms. */
  leaseMs?: number;
}

/**
 * The background service that drives running deployments, in `capstan up` and `capstan worker`.
 * Each deployment is leased in the database, so exactly one process moves its traffic at a time and
 * another takes over when that process dies.
 */
export class RolloutController implements BackgroundService {
  readonly name = 'rollout-controller';
  private readonly task: PeriodicTask;
  private readonly held = new Set<string>();
  private readonly owner = `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private readonly tickMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly store: SqlDeploymentStore,
    private readonly driver: DeploymentDriver,
    private readonly logger: Logger,
    options: RolloutControllerOptions = {},
    private readonly bandit?: { tick(): Promise<void> },
  ) {
    this.tickMs = options.tickMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.task = new PeriodicTask(this.tickMs, () => this.tick(), (err) => this.logger.error({ err }, 'rollout controller tick failed'));
  }

  async start(): Promise<void> {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
    // Handing the leases back lets another process continue at once instead of after the lease.
    for (const id of this.held) await this.store.release(id, this.owner).catch(() => {});
    this.held.clear();
  }

  /** One pass over every running deployment: claim or renew its lease, then let the driver move it. */
  async tick(): Promise<void> {
    await this.bandit?.tick().catch((err) => this.logger.warn({ err }, 'thompson rebalancing failed'));
    const ids = await this.store.runningIds();
    for (const id of [...this.held]) if (!ids.includes(id)) this.held.delete(id);
    for (const id of ids) {
      if (!(await this.store.claim(id, this.owner, this.leaseMs, Date.now()))) {
        this.held.delete(id);
        continue;
      }
      this.held.add(id);
      try {
        const d = await this.store.get(id);
        if (!(await this.driver.tick(d, this.owner))) this.held.delete(id);
      } catch (err) {
        this.logger.error({ err, deployment: id }, 'could not drive deployment; retrying on the next tick');
      }
    }
  }
}
