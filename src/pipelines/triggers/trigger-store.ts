import { newWebhookSecret } from '../../core/webhook-signature.js';
import type { Database } from '../../storage/database.js';
import type { TriggerDefinition } from '../definition.js';

interface Tables {
  pipeline_triggers: { pipeline: string; name: string; type: string; secret: string | null; last_fired_at: number | null; created_at: number };
  pipeline_trigger_objects: { pipeline: string; trigger: string; object_key: string; sha256: string; execution_id: string | null; seen_at: number };
}

/** A stored trigger (without its secret). */
export interface TriggerRecord {
  pipeline: string;
  name: string;
  type: string;
  lastFiredAt: string | null;
  createdAt: string;
}

/** Trigger bookkeeping: webhook secrets, last cron fire times and the artifact keys already seen. */
export class TriggerStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<Tables>();
  }

  /**
   * Makes the stored triggers of a pipeline match its definition. New webhook triggers get a
   * `whsec_` secret (Standard Webhooks; GitHub and GitLab take the whole string), returned here once (`{ trigger: secret }`); existing ones keep theirs.
   */
  async sync(pipeline: string, triggers: TriggerDefinition[]): Promise<Record<string, string>> {
    const now = Date.now();
    const secrets: Record<string, string> = {};
    await this.db.transaction(async (trx) => {
      const t = trx as unknown as ReturnType<Database['as']> & typeof this.k;
      const existing = await t.selectFrom('pipeline_triggers').selectAll().where('pipeline', '=', pipeline).execute();
      for (const row of existing) {
        const def = triggers.find((d) => d.name === row.name);
        if (!def || def.type !== row.type) await t.deleteFrom('pipeline_triggers').where('pipeline', '=', pipeline).where('name', '=', row.name).execute();
      }
      for (const def of triggers) {
        const row = existing.find((r) => r.name === def.name && r.type === def.type);
        if (row) continue;
        const secret = def.type === 'webhook' ? newWebhookSecret() : null;
        if (secret) secrets[def.name] = secret;
        await t.insertInto('pipeline_triggers').values({ pipeline, name: def.name, type: def.type, secret, last_fired_at: null, created_at: now }).execute();
      }
    });
    return secrets;
  }

  /** Every trigger of a pipeline. */
  async list(pipeline: string): Promise<TriggerRecord[]> {
    const rows = await this.k.selectFrom('pipeline_triggers').selectAll().where('pipeline', '=', pipeline).orderBy('name').execute();
    return rows.map((r) => ({ pipeline: r.pipeline, name: r.name, type: r.type, lastFiredAt: r.last_fired_at == null ? null : new Date(r.last_fired_at).toISOString(), createdAt: new Date(r.created_at).toISOString() }));
  }

  /** A webhook trigger's secret, or undefined. */
  async secret(pipeline: string, name: string): Promise<string | undefined> {
    const r = await this.k.selectFrom('pipeline_triggers').select('secret').where('pipeline', '=', pipeline).where('name', '=', name).where('type', '=', 'webhook').executeTakeFirst();
    return r?.secret ?? undefined;
  }

  /** When a cron trigger last fired (epoch ms). */
  async lastFired(pipeline: string, name: string): Promise<number | undefined> {
    const r = await this.k.selectFrom('pipeline_triggers').select('last_fired_at').where('pipeline', '=', pipeline).where('name', '=', name).executeTakeFirst();
    return r?.last_fired_at ?? undefined;
  }

  /**
   * Records a cron fire for `slot` only if no scheduler recorded this slot or a later one — the
   * compare-and-set makes one fire per slot even with several schedulers. True when this caller won.
   */
  async claimFire(pipeline: string, name: string, slot: number): Promise<boolean> {
    const r = await this.k
      .updateTable('pipeline_triggers')
      .set({ last_fired_at: slot })
      .where('pipeline', '=', pipeline)
      .where('name', '=', name)
      .where((eb) => eb.or([eb('last_fired_at', 'is', null), eb('last_fired_at', '<', slot)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Records an artifact key as seen; true only for the first caller ever (the primary key makes it
   * exactly once across restarts and schedulers).
   */
  async markSeen(pipeline: string, trigger: string, key: string, sha256: string): Promise<boolean> {
    const r = await this.k
      .insertInto('pipeline_trigger_objects')
      .values({ pipeline, trigger, object_key: key, sha256, execution_id: null, seen_at: Date.now() })
      .onConflict((oc) => oc.columns(['pipeline', 'trigger', 'object_key']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Records objects as seen without starting anything (the baseline of a new artifact trigger). */
  async markAllSeen(pipeline: string, trigger: string, objects: { key: string; sha256: string }[]): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < objects.length; i += 500) {
      const rows = objects.slice(i, i + 500).map((o) => ({ pipeline, trigger, object_key: o.key, sha256: o.sha256, execution_id: null, seen_at: now }));
      await this.k.insertInto('pipeline_trigger_objects').values(rows).onConflict((oc) => oc.columns(['pipeline', 'trigger', 'object_key']).doNothing()).execute();
    }
  }

  /** Links a seen object to the execution it started. */
  async linkExecution(pipeline: string, trigger: string, key: string, executionId: string): Promise<void> {
    await this.k.updateTable('pipeline_trigger_objects').set({ execution_id: executionId }).where('pipeline', '=', pipeline).where('trigger', '=', trigger).where('object_key', '=', key).execute();
  }

  /** Keys already seen by a trigger. */
  async seenKeys(pipeline: string, trigger: string): Promise<Set<string>> {
    const rows = await this.k.selectFrom('pipeline_trigger_objects').select('object_key').where('pipeline', '=', pipeline).where('trigger', '=', trigger).execute();
    return new Set(rows.map((r) => r.object_key));
  }
}
