import { Gauge, type Registry } from 'prom-client';
import type { SqlDefinitionStore } from './sql-definition-store.js';

/**
 * `capstan_features_freshness_seconds{group,version}`: age of the newest event time in the online
 * store, per group version, read from the metadata DB when `/metrics` is scraped so every process
 * reports the same value whichever one materialized.
 */
export function installFeatureMetrics(metrics: Registry, store: SqlDefinitionStore): void {
  new Gauge({
    name: 'capstan_features_freshness_seconds',
    help: 'Age of the newest value in the online store per feature group version, in seconds',
    labelNames: ['group', 'version'],
    registers: [metrics],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const m of await store.materializations().catch(() => [])) {
        if (m.newestEventMs !== null) this.set({ group: m.group, version: String(m.version) }, Math.max(0, (now - m.newestEventMs) / 1000));
      }
    },
  });
}
