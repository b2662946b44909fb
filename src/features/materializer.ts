import { queryRows, type DuckDbEngine } from './duckdb-engine.js';
import type { FeatureGroup } from './feature-types.js';
import type { MaterializeResult } from './feature-service.js';
import { OfflineFiles } from './offline-files.js';
import { latestPerKeySql } from './offline-sql.js';
import { encodeEntityKey, onlineTable, type OnlineRecord, type OnlineStore } from './online-store.js';
import type { SqlDefinitionStore } from './sql-definition-store.js';

const WRITE_CHUNK = 2000;

/** JSON value of an offline cell for the online store (DuckDB hands BIGINT over as text). */
function onlineValue(type: FeatureGroup['features'][number]['type'], v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'int64') return Number(v);
  if (type === 'timestamp') return new Date(`${String(v).replace(' ', 'T')}Z`).toISOString();
  return v;
}

/**
 * Offline → online: the newest row per record id among rows ingested after the group's watermark,
 * written under the online store's newer-wins rule, then the watermark moves to the newest ingestion
 * time read. Re-running changes nothing; a run after an ingestion reads only that ingestion's rows.
 */
export class Materializer {
  constructor(
    private readonly engine: DuckDbEngine,
    private readonly files: OfflineFiles,
    private readonly online: OnlineStore,
    private readonly store: SqlDefinitionStore,
  ) {}

  /** Materializes one group version. */
  async run(group: FeatureGroup): Promise<MaterializeResult> {
    const state = await this.store.materialization(group.name, group.version);
    const watermark = state?.watermarkMs ?? -1;
    const keys = await this.files.partitionKeys(group.name, group.version);
    let rowsRead = 0;
    let rowsWritten = 0;
    let newWatermark = watermark;
    let newestEvent = state?.newestEventMs ?? null;
    if (keys.length > 0) {
      const staged = await this.files.open(keys);
      try {
        await this.engine.withConnection(async (conn) => {
          const rows = await queryRows(conn, latestPerKeySql(staged.paths, group, watermark));
          rowsRead = rows.length;
          for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
            const records: OnlineRecord[] = rows.slice(i, i + WRITE_CHUNK).map((r) => {
              const eventMs = Number(r.__event_ms);
              newWatermark = Math.max(newWatermark, Number(r.__ingested_ms));
              newestEvent = newestEvent === null ? eventMs : Math.max(newestEvent, eventMs);
              return { entityKey: encodeEntityKey(group.joinKeys, r), eventMs, createdMs: Number(r.__created_ms), values: Object.fromEntries(group.features.map((f) => [f.name, onlineValue(f.type, r[f.name])])) };
            });
            rowsWritten += await this.online.write(onlineTable(group.name, group.version), records);
          }
        });
      } finally {
        await staged.dispose();
      }
    }
    await this.store.putMaterialization(group.name, group.version, { watermarkMs: newWatermark, newestEventMs: newestEvent, rowsWritten: (state?.rowsWritten ?? 0) + rowsWritten, materializedAt: Date.now() });
    return {
      group: group.name,
      version: group.version,
      rowsRead,
      rowsWritten,
      watermark: newWatermark < 0 ? null : new Date(newWatermark).toISOString(),
      newestEventTime: newestEvent === null ? null : new Date(newestEvent).toISOString(),
    };
  }
}
