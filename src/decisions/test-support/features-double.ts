import { sql } from 'kysely';
import type { Database } from '../../storage/database.js';
import { defineContext } from '../../storage/context-module.js';
import type { FeatureReader, OnlineFeatureValue, OnlineReadRequest, OnlineReadResult } from '../feature-reader.js';

/**
 * A stand-in for the features context until it lands on this branch: the `readOnline` method of the
 * features/decisions contract, over a real table in the platform's database (SQLite or PostgreSQL).
 * Tests, the examples' test and the benchmark install it as the `features` context.
 */
export class FeaturesDouble implements FeatureReader {
  private ready?: Promise<void>;

  constructor(private readonly db: Database) {}

  private table(): Promise<void> {
    this.ready ??= sql`create table if not exists features_double_values (ref text not null, entity text not null, value text, event_time bigint not null, primary key (ref, entity))`.execute(this.db.kysely).then(() => undefined);
    return this.ready;
  }

  /** Stores one value of `ref` ('group:feature') for an entity. */
  async put(ref: string, entity: Record<string, string | number>, value: unknown, eventTime = new Date()): Promise<void> {
    await this.table();
    const row = { ref, entity: JSON.stringify(entity), value: JSON.stringify(value), event_time: eventTime.getTime() };
    await this.db.kysely
      .insertInto('features_double_values')
      .values(row)
      .onConflict((oc) => oc.columns(['ref', 'entity']).doUpdateSet({ value: row.value, event_time: row.event_time }))
      .execute();
  }

  async readOnline(request: OnlineReadRequest): Promise<OnlineReadResult> {
    await this.table();
    const results = [];
    for (const entity of request.entities) {
      const rows = await this.db.kysely.selectFrom('features_double_values').selectAll().where('entity', '=', JSON.stringify(entity)).where('ref', 'in', request.features).execute();
      const byRef = new Map(rows.map((r) => [r.ref as string, r]));
      const values: Record<string, OnlineFeatureValue> = {};
      for (const ref of request.features) {
        const r = byRef.get(ref);
        values[ref] = r ? { value: JSON.parse(r.value as string), status: 'PRESENT', eventTime: new Date(Number(r.event_time)).toISOString() } : { value: null, status: 'NOT_FOUND', eventTime: null };
      }
      results.push({ entity, values });
    }
    return { features: request.features, results };
  }
}

/** The double as a context module named `features`. */
export const featuresDoubleContext = defineContext<FeaturesDouble>({
  name: 'features',
  migrations: {},
  create: (parts) => ({ service: new FeaturesDouble(parts.db) }),
});
