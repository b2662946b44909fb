import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { Database } from '../storage/database.js';

interface LeaseTables {
  feature_leases: { lease_key: string; holder: string; expires_at: number };
}

/** Options of the feature group leases; every field has a default. */
export interface FeatureLeaseOptions {
  /** How long a lease lives without renewal (a killed holder's lease frees after this); default 30000 ms. */
  ttlMs?: number;
  /** How long a caller waits for a busy group version before CAPSTAN_FEATURES_BUSY; default 600000 ms. */
  waitMs?: number;
  /** Pause between attempts while waiting; default 100 ms (with jitter). */
  pollMs?: number;
}

/** Fills the defaults of FeatureLeaseOptions and checks them. */
export function compileFeatureLeaseOptions(o: FeatureLeaseOptions = {}): Required<FeatureLeaseOptions> {
  const out = { ttlMs: o.ttlMs ?? 30_000, waitMs: o.waitMs ?? 600_000, pollMs: o.pollMs ?? 100 };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v <= 0) throw new CapstanError('CAPSTAN_CONFIG_INVALID', `feature lease option ${k} must be a positive number of ms`, { fields: { option: k, value: v }, retryable: false });
  }
  return out;
}

/**
 * Mutual exclusion per key across every process sharing the metadata database: a row with a holder
 * and an expiry, taken by insert or by overwriting an expired row, renewed while the work runs.
 * Why not the in-process mutex alone: ingestion rewrites whole date partitions (read, merge, publish),
 * so two processes merging into one partition at once would each publish a file lacking the other's rows.
 */
export class FeatureLeases {
  private readonly q: Kysely<LeaseTables>;
  private readonly options: Required<FeatureLeaseOptions>;
  private readonly holder = randomUUID();

  constructor(db: Database, options: FeatureLeaseOptions = {}) {
    this.q = db.as<LeaseTables>();
    this.options = compileFeatureLeaseOptions(options);
  }

  /** Runs `fn` while holding the lease on `key`, waiting for another holder to finish first. */
  async hold<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const deadline = Date.now() + this.options.waitMs;
    while (!(await this.tryAcquire(key))) {
      if (Date.now() >= deadline) {
        throw new CapstanError('CAPSTAN_FEATURES_BUSY', `another ingestion or materialization of ${key} is still running after ${this.options.waitMs} ms; try again`, {
          fields: { lease: key, waitedMs: this.options.waitMs },
          retryable: true,
        });
      }
      await sleep(this.options.pollMs * (0.5 + Math.random()));
    }
    const renew = setInterval(() => {
      this.q
        .updateTable('feature_leases')
        .set({ expires_at: Date.now() + this.options.ttlMs })
        .where('lease_key', '=', key)
        .where('holder', '=', this.holder)
        .execute()
        .catch(() => {});
    }, Math.max(10, Math.floor(this.options.ttlMs / 3)));
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.q.deleteFrom('feature_leases').where('lease_key', '=', key).where('holder', '=', this.holder).execute();
    }
  }

  private async tryAcquire(key: string): Promise<boolean> {
    const now = Date.now();
    const expires = now + this.options.ttlMs;
    const inserted = await this.q
      .insertInto('feature_leases')
      .values({ lease_key: key, holder: this.holder, expires_at: expires })
      .onConflict((oc) => oc.column('lease_key').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return true;
    const taken = await this.q
      .updateTable('feature_leases')
      .set({ holder: this.holder, expires_at: expires })
      .where('lease_key', '=', key)
      .where('expires_at', '<', now)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }
}
