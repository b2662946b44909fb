import type { Kysely } from 'kysely';
import type { Database } from '../../storage/database.js';

interface Tables {
  pipeline_webhook_deliveries: { delivery_key: string; pipeline: string; trigger: string; execution_id: string | null; received_at: number; expires_at: number };
}

/** The outcome of claiming a delivery: the caller may act on it, or it was seen before (and what it started). */
export type DeliveryClaim = { claimed: true } | { claimed: false; executionId: string | null };

class AlreadySeen extends Error {
  constructor(readonly key: string) {
    super('webhook delivery already seen');
  }
}

/**
 * Webhook deliveries already acted on, in the metadata database so a replay is refused across restarts
 * and server processes. A row lives as long as its delivery could still verify (7 days for schemes
 * without a signed time); older ones are purged.
 */
export class WebhookDeliveryStore {
  constructor(private readonly db: Database) {}

  private get k(): Kysely<Tables> {
    return this.db.as<Tables>();
  }

  /**
   * Records every key of one delivery, or none: exactly one of several concurrent identical deliveries
   * gets `claimed: true` (the primary key decides, on SQLite and PostgreSQL alike). The others learn
   * which execution the first started, once it is linked.
   */
  async claim(keys: string[], at: { pipeline: string; trigger: string; nowMs: number; expiresAtMs: number }): Promise<DeliveryClaim> {
    await this.k.deleteFrom('pipeline_webhook_deliveries').where('expires_at', '<', at.nowMs).execute();
    try {
      await this.db.transaction(async (trx) => {
        const t = trx as unknown as Kysely<Tables>;
        for (const key of keys) {
          const r = await t
            .insertInto('pipeline_webhook_deliveries')
            .values({ delivery_key: key, pipeline: at.pipeline, trigger: at.trigger, execution_id: null, received_at: at.nowMs, expires_at: at.expiresAtMs })
            .onConflict((oc) => oc.column('delivery_key').doNothing())
            .executeTakeFirst();
          // Throwing rolls back the keys this delivery already inserted.
          if (Number(r.numInsertedOrUpdatedRows ?? 0) !== 1) throw new AlreadySeen(key);
        }
      });
      return { claimed: true };
    } catch (err) {
      if (!(err instanceof AlreadySeen)) throw err;
      const row = await this.k.selectFrom('pipeline_webhook_deliveries').select('execution_id').where('delivery_key', '=', err.key).executeTakeFirst();
      return { claimed: false, executionId: row?.execution_id ?? null };
    }
  }

  /** Links claimed keys to the execution the delivery started. */
  async link(keys: string[], executionId: string): Promise<void> {
    await this.k.updateTable('pipeline_webhook_deliveries').set({ execution_id: executionId }).where('delivery_key', 'in', keys).execute();
  }

  /** Forgets claimed keys whose delivery started nothing (the start failed), so the sender's retry can succeed. */
  async release(keys: string[]): Promise<void> {
    await this.k.deleteFrom('pipeline_webhook_deliveries').where('delivery_key', 'in', keys).execute();
  }

  /** How many deliveries are remembered (for tests and diagnostics). */
  async count(): Promise<number> {
    const r = await this.k.selectFrom('pipeline_webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
