import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FeatureDefinitionsInput } from '../../src/features/index.js';

/** A customer entity and a transactions group with a 1-hour TTL, used across the feature store tests. */
export const DEFINITIONS: FeatureDefinitionsInput = {
  entities: [{ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }], description: 'a card holder' }],
  featureGroups: [
    {
      name: 'txn',
      entities: ['customer'],
      eventTime: 'event_time',
      ttl: '1h',
      owner: 'fraud-team',
      description: 'transaction aggregates',
      tags: { team: 'fraud' },
      features: [
        { name: 'amount_sum', type: 'float64' },
        { name: 'txn_count', type: 'int64' },
      ],
    },
  ],
};

/** Writes `text` to `dir/name` and returns the path. */
export function writeFile(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Rows of the txn group as CSV. */
export function txnCsv(rows: Array<[string, string, number | string, number | string]>): string {
  return ['customer_id,event_time,amount_sum,txn_count', ...rows.map((r) => r.join(','))].join('\n') + '\n';
}
