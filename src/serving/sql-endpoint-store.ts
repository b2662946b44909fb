import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Kysely } from 'kysely';
import { nowMs, parseJson, type Database } from '../storage/database.js';
import { appendEvent } from '../storage/outbox/index.js';
import type { DataCaptureConfig, EndpointStatus } from './endpoint-config.js';
import type { TrafficPolicyConfig } from './traffic-policy.js';
import type { ApprovalOverride, Endpoint, StoredVariant } from './endpoint.js';

interface EndpointsTable {
  endpoints: {
    id: string;
    name: string;
    status: string;
    status_reason: string | null;
    config: string;
    generation: number;
    created_by: string;
    created_at: number;
    updated_at: number;
  };
}

/** The configuration part of an endpoint row. */
export interface StoredConfig {
  variants: StoredVariant[];
  dataCapture: DataCaptureConfig;
  /** Absent in rows written before traffic policies existed: weighted random. */
  trafficPolicy?: TrafficPolicyConfig;
  /** Deploys of unapproved versions an admin allowed; kept across updates. */
  approvalOverrides?: ApprovalOverride[];
}

/** Just enough of every endpoint to notice a change without reading configurations. */
export interface EndpointVersionInfo {
  name: string;
  status: EndpointStatus;
  generation: number;
}

type Row = EndpointsTable['endpoints'];

function toEndpoint(row: Row): Endpoint {
  const config = parseJson<StoredConfig>(row.config, { variants: [], dataCapture: { enabled: false, samplingPercent: 100, rotateBytes: 16 * 1024 * 1024, rotateMs: 60_000 } });
  return {
    name: row.name,
    status: row.status as EndpointStatus,
    statusReason: row.status_reason,
    variants: config.variants,
    dataCapture: config.dataCapture,
    trafficPolicy: config.trafficPolicy ?? { kind: 'weighted-random' },
    approvalOverrides: config.approvalOverrides ?? [],
    generation: Number(row.generation),
    createdBy: row.created_by,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/** What an endpoint event says about its variants: name, weight and the model version each serves. */
function variantSummary(config: StoredConfig): { name: string; weight: number; model: string; version: number }[] {
  return config.variants.map((v) => ({ name: v.name, weight: v.weight, model: v.resolved.name, version: v.resolved.version }));
}

/** Endpoint rows in the metadata DB (SQLite or PostgreSQL); every change of configuration appends its outbox event. */
export class SqlEndpointStore {
  constructor(private readonly db: Database) {}

  /** Runs `fn` once the caller's unit of work commits (at once outside one): the in-process switch follows the stored configuration. */
  afterCommit(fn: () => Promise<void> | void): Promise<void> {
    return this.db.afterCommit(fn);
  }

  private get k() {
    return this.db.as<EndpointsTable>();
  }

  /**
   * Inserts a new endpoint and appends `endpoint.created` to the outbox in the same transaction;
   * CAPSTAN_SERVING_ENDPOINT_EXISTS when the name is taken.
   */
  async insert(name: string, status: EndpointStatus, config: StoredConfig, createdBy: string): Promise<Endpoint> {
    const now = nowMs();
    const row: Row = { id: newId('ep'), name, status, status_reason: null, config: JSON.stringify(config), generation: 1, created_by: createdBy, created_at: now, updated_at: now };
    try {
      await this.db.transaction(async (trx) => {
        await (trx as unknown as Kysely<EndpointsTable>).insertInto('endpoints').values(row).execute();
        await appendEvent(trx, { type: 'endpoint.created', subject: `endpoints/${name}`, data: { endpoint: name, generation: 1, variants: variantSummary(config), actor: createdBy }, occurredAt: now });
      });
    } catch (err) {
      if (/unique|duplicate/i.test(String((err as Error).message))) {
        throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_EXISTS', `endpoint ${name} already exists; use update or deploy`, { fields: { endpoint: name } });
      }
      throw err;
    }
    return toEndpoint(row);
  }

  /** One endpoint, or undefined. */
  async find(name: string): Promise<Endpoint | undefined> {
    const row = await this.k.selectFrom('endpoints').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toEndpoint(row) : undefined;
  }

  /** One endpoint; CAPSTAN_SERVING_ENDPOINT_NOT_FOUND when missing. */
  async get(name: string): Promise<Endpoint> {
    const found = await this.find(name);
    if (!found) throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', `no endpoint ${name}`, { fields: { endpoint: name } });
    return found;
  }

  /** Every endpoint, by name. */
  async list(): Promise<Endpoint[]> {
    const rows = await this.k.selectFrom('endpoints').selectAll().orderBy('name').execute();
    return rows.map(toEndpoint);
  }

  /** Name, status and generation of every endpoint: the cheap query servers poll. */
  async versions(): Promise<EndpointVersionInfo[]> {
    const rows = await this.k.selectFrom('endpoints').select(['name', 'status', 'generation']).execute();
    return rows.map((r) => ({ name: r.name, status: r.status as EndpointStatus, generation: Number(r.generation) }));
  }

  /** Sets the status (and reason) without touching the configuration. */
  async setStatus(name: string, status: EndpointStatus, reason: string | null): Promise<void> {
    await this.k.updateTable('endpoints').set({ status, status_reason: reason, updated_at: nowMs() }).where('name', '=', name).execute();
  }

  /**
   * Stores a configuration that has loaded and bumps the generation, only if the generation is still
   * `expected` — two concurrent updates cannot silently overwrite each other (CAPSTAN_DB_CONFLICT).
   * Appends `endpoint.updated` to the outbox in the same transaction.
   */
  async replaceConfig(name: string, expected: number, config: StoredConfig, status: EndpointStatus, actor = 'unknown'): Promise<Endpoint> {
    const now = nowMs();
    await this.db.transaction(async (trx) => {
      const result = await (trx as unknown as Kysely<EndpointsTable>)
        .updateTable('endpoints')
        .set({ config: JSON.stringify(config), generation: expected + 1, status, status_reason: null, updated_at: now })
        .where('name', '=', name)
        .where('generation', '=', expected)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) {
        throw new CapstanError('CAPSTAN_DB_CONFLICT', `endpoint ${name} was changed by someone else meanwhile; describe it and retry`, { fields: { endpoint: name } });
      }
      await appendEvent(trx, { type: 'endpoint.updated', subject: `endpoints/${name}`, data: { endpoint: name, generation: expected + 1, variants: variantSummary(config), actor }, occurredAt: now });
    });
    return this.get(name);
  }

  /** Deletes an endpoint and appends `endpoint.deleted` in the same transaction; false when it did not exist. */
  async delete(name: string, actor = 'unknown'): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const result = await (trx as unknown as Kysely<EndpointsTable>).deleteFrom('endpoints').where('name', '=', name).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await appendEvent(trx, { type: 'endpoint.deleted', subject: `endpoints/${name}`, data: { endpoint: name, actor } });
      return true;
    });
  }
}
