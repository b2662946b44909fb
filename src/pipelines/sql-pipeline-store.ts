import { randomUUID } from 'node:crypto';
import { CapstanError } from '../core/errors.js';
import { parseJson, type Database } from '../storage/database.js';
import { appendEvent, type OutboxEvent } from '../storage/outbox/index.js';
import type { PipelineDefinition, StepType } from './definition.js';
import type { ExecutionRecord, ExecutionState, ExecutionTrigger, ExecutionWork, PipelineRecord, StepRecord, StepState } from './execution.js';
import { fencedStepUpdate, type Fence } from './fence.js';

interface PipelinesTable {
  name: string;
  version: number;
  definition: string;
  source: string | null;
  code_prefix: string | null;
  code_digest: string | null;
  created_at: number;
  updated_at: number;
}
interface ExecutionsTable {
  id: string;
  pipeline: string;
  pipeline_version: number;
  definition: string;
  code_prefix: string | null;
  code_digest: string | null;
  params: string;
  state: string;
  trigger: string;
  error: string | null;
  cancel_requested: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  lease_token: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}
interface StepsTable {
  execution_id: string;
  name: string;
  type: string;
  state: string;
  attempts: number;
  failures: number;
  next_attempt_at: number | null;
  cache_key: string | null;
  cached_from: string | null;
  outputs: string;
  properties: string;
  metrics: string;
  warnings: string;
  error_code: string | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  attempt_token: string | null;
  attempt_owner: string | null;
  attempt_pgid: number | null;
  attempt_run_id: string | null;
}
interface Tables {
  pipelines: PipelinesTable;
  pipeline_executions: ExecutionsTable;
  pipeline_steps: StepsTable;
}

/** Fields of a step the scheduler changes. */
export interface StepPatch {
  state?: StepState;
  attempts?: number;
  failures?: number;
  nextAttemptAt?: number | null;
  cacheKey?: string | null;
  cachedFrom?: string | null;
  outputs?: StepRecord['outputs'];
  properties?: Record<string, unknown>;
  metrics?: Record<string, number>;
  warnings?: string[];
  error?: { code: string; message: string } | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  /** The attempt's fencing token; a new attempt sets a fresh one, a reset clears it. */
  attemptToken?: string | null;
  /** Lease owner that runs the attempt (`host:pid:…`). */
  attemptOwner?: string | null;
  /** Process group of the attempt's child process, so a restart can stop an orphan. */
  attemptPgid?: number | null;
  /** Registry run the attempt keeps, so a restart can close it. */
  attemptRunId?: string | null;
}

/** What a restarted runner needs of a step's last attempt to fence it and clean up after it. */
export interface AttemptRow {
  token: string | null;
  owner: string | null;
  pgid: number | null;
  runId: string | null;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

function toStep(r: StepsTable): StepRecord {
  return {
    name: r.name,
    type: r.type as StepType,
    state: r.state as StepState,
    attempts: r.attempts,
    failures: r.failures,
    nextAttemptAt: r.next_attempt_at,
    cacheKey: r.cache_key,
    cached: r.cached_from != null,
    cachedFrom: r.cached_from,
    outputs: parseJson(r.outputs, {}),
    properties: parseJson(r.properties, {}),
    metrics: parseJson(r.metrics, {}),
    warnings: parseJson(r.warnings, []),
    error: r.error_code ? { code: r.error_code, message: r.error ?? '' } : null,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    durationMs: r.started_at != null && r.finished_at != null ? r.finished_at - r.started_at : null,
  };
}

function toExecution(r: ExecutionsTable, steps: StepsTable[], order: string[]): ExecutionRecord {
  const pos = new Map(order.map((n, i) => [n, i]));
  return {
    id: r.id,
    pipeline: r.pipeline,
    pipelineVersion: r.pipeline_version,
    params: parseJson(r.params, {}),
    state: r.state as ExecutionState,
    trigger: parseJson(r.trigger, { type: 'manual', by: 'unknown' }),
    error: r.error,
    cancelRequested: r.cancel_requested === 1,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    durationMs: r.started_at != null && r.finished_at != null ? r.finished_at - r.started_at : null,
    steps: steps.map(toStep).sort((a, b) => (pos.get(a.name) ?? 0) - (pos.get(b.name) ?? 0)),
  };
}

function toPipeline(r: PipelinesTable): PipelineRecord {
  return {
    name: r.name,
    version: r.version,
    definition: JSON.parse(r.definition),
    source: r.source,
    codePrefix: r.code_prefix,
    codeDigest: r.code_digest,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/** Pipelines, executions and steps in the metadata DB (SQLite or PostgreSQL). */
export class SqlPipelineStore {
  private readonly k;

  constructor(private readonly db: Database) {
    this.k = db.as<Tables>();
  }

  /** Creates or updates a pipeline; the version increments only when definition or code changed. */
  async upsertPipeline(def: PipelineDefinition, source: string | null, codePrefix: string | null, codeDigest: string | null): Promise<{ record: PipelineRecord; changed: boolean }> {
    const now = Date.now();
    const definition = JSON.stringify(def);
    return this.db.transaction(async (trx) => {
      const t = trx as unknown as ReturnType<Database['as']> & typeof this.k;
      const existing = await t.selectFrom('pipelines').selectAll().where('name', '=', def.name).executeTakeFirst();
      if (!existing) {
        const row: PipelinesTable = { name: def.name, version: 1, definition, source, code_prefix: codePrefix, code_digest: codeDigest, created_at: now, updated_at: now };
        await t.insertInto('pipelines').values(row).execute();
        return { record: toPipeline(row), changed: true };
      }
      if (existing.definition === definition && existing.code_digest === codeDigest) return { record: toPipeline(existing), changed: false };
      const row = { ...existing, version: existing.version + 1, definition, source, code_prefix: codePrefix, code_digest: codeDigest, updated_at: now };
      await t.updateTable('pipelines').set(row).where('name', '=', def.name).execute();
      return { record: toPipeline(row), changed: true };
    });
  }

  /** One pipeline; CAPSTAN_PIPELINE_NOT_FOUND when missing. */
  async getPipeline(name: string): Promise<PipelineRecord> {
    const row = await this.k.selectFrom('pipelines').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_PIPELINE_NOT_FOUND', `no pipeline "${name}"`, { fields: { pipeline: name } });
    return toPipeline(row);
  }

  /** Every pipeline, by name. */
  async listPipelines(): Promise<PipelineRecord[]> {
    return (await this.k.selectFrom('pipelines').selectAll().orderBy('name').execute()).map(toPipeline);
  }

  /** Deletes a pipeline definition (executions stay for history). */
  async deletePipeline(name: string): Promise<void> {
    const r = await this.k.deleteFrom('pipelines').where('name', '=', name).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new CapstanError('CAPSTAN_PIPELINE_NOT_FOUND', `no pipeline "${name}"`, { fields: { pipeline: name } });
  }

  /** Inserts a queued execution and one pending row per step, atomically. */
  async createExecution(input: {
    id: string;
    pipeline: PipelineRecord;
    params: Record<string, unknown>;
    trigger: ExecutionTrigger;
  }): Promise<ExecutionRecord> {
    const now = Date.now();
    const p = input.pipeline;
    const row: ExecutionsTable = {
      id: input.id,
      pipeline: p.name,
      pipeline_version: p.version,
      definition: JSON.stringify(p.definition),
      code_prefix: p.codePrefix,
      code_digest: p.codeDigest,
      params: JSON.stringify(input.params),
      state: 'queued',
      trigger: JSON.stringify(input.trigger),
      error: null,
      cancel_requested: 0,
      lease_owner: null,
      lease_expires_at: null,
      lease_token: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
    };
    const steps: StepsTable[] = p.definition.steps.map((s) => ({
      execution_id: input.id, name: s.name, type: s.type, state: 'pending', attempts: 0, failures: 0, next_attempt_at: null, cache_key: null, cached_from: null,
      outputs: '{}', properties: '{}', metrics: '{}', warnings: '[]', error_code: null, error: null, started_at: null, finished_at: null, updated_at: now,
      attempt_token: null, attempt_owner: null, attempt_pgid: null, attempt_run_id: null,
    }));
    await this.db.transaction(async (trx) => {
      await trx.insertInto('pipeline_executions').values(row).execute();
      await trx.insertInto('pipeline_steps').values(steps).execute();
    });
    return toExecution(row, steps, p.definition.steps.map((s) => s.name));
  }

  private async loadSteps(id: string): Promise<StepsTable[]> {
    return this.k.selectFrom('pipeline_steps').selectAll().where('execution_id', '=', id).execute();
  }

  /** One execution with its steps; CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND when missing. */
  async getExecution(id: string): Promise<ExecutionRecord> {
    return (await this.getWork(id));
  }

  /** An execution with its definition snapshot, for the scheduler. */
  async getWork(id: string): Promise<ExecutionWork> {
    const row = await this.k.selectFrom('pipeline_executions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND', `no execution "${id}"`, { fields: { executionId: id } });
    const definition = JSON.parse(row.definition) as PipelineDefinition;
    return {
      ...toExecution(row, await this.loadSteps(id), definition.steps.map((s) => s.name)),
      definition,
      codePrefix: row.code_prefix,
      codeDigest: row.code_digest,
    };
  }

  /** Executions, newest first. */
  async listExecutions(filter: { pipeline?: string; state?: ExecutionState; limit?: number } = {}): Promise<ExecutionRecord[]> {
    let q = this.k.selectFrom('pipeline_executions').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(Math.min(filter.limit ?? 50, 1000));
    if (filter.pipeline) q = q.where('pipeline', '=', filter.pipeline);
    if (filter.state) q = q.where('state', '=', filter.state);
    const rows = await q.execute();
    if (rows.length === 0) return [];
    const steps = await this.k.selectFrom('pipeline_steps').selectAll().where('execution_id', 'in', rows.map((r) => r.id)).execute();
    return rows.map((r) => toExecution(r, steps.filter((s) => s.execution_id === r.id), (JSON.parse(r.definition) as PipelineDefinition).steps.map((s) => s.name)));
  }

  /**
   * Claims one runnable execution (queued, or running with an expired lease — its scheduler died)
   * for `owner` until `now + leaseMs`. The conditional UPDATE makes the claim exclusive across
   * processes on both dialects. Returns the id, or undefined when there is nothing to run.
   */
  async claim(owner: string, leaseMs: number, onlyId?: string, exclude: string[] = []): Promise<string | undefined> {
    const now = Date.now();
    let q = this.k
      .selectFrom('pipeline_executions')
      .select('id')
      .where('state', 'in', ['queued', 'running'])
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
      .orderBy('created_at')
      .limit(5);
    if (onlyId) q = q.where('id', '=', onlyId);
    if (exclude.length) q = q.where('id', 'not in', exclude);
    for (const { id } of await q.execute()) {
      const r = await this.k
        .updateTable('pipeline_executions')
        .set({ lease_owner: owner, lease_expires_at: now + leaseMs, updated_at: now })
        .where('id', '=', id)
        .where('state', 'in', ['queued', 'running'])
        .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return id;
    }
    return undefined;
  }

  /**
   * Starts driving a claimed execution: gives its lease a fresh token (and a full lease length) that
   * every later write must carry, so writes of whoever drove it before are refused from now on.
   * Undefined when `owner` no longer holds the claim.
   */
  async takeLease(id: string, owner: string, leaseMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const r = await this.k
      .updateTable('pipeline_executions')
      .set({ lease_token: token, lease_expires_at: Date.now() + leaseMs })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? token : undefined;
  }

  /** Extends a lease; false when the token is no longer current (the runner must stop touching the execution). */
  async renew(id: string, token: string, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    const r = await this.k.updateTable('pipeline_executions').set({ lease_expires_at: now + leaseMs }).where('id', '=', id).where('lease_token', '=', token).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Gives a lease back so another scheduler may continue at once (graceful stop). */
  async release(id: string, token: string): Promise<void> {
    await this.k.updateTable('pipeline_executions').set({ lease_owner: null, lease_expires_at: null, lease_token: null }).where('id', '=', id).where('lease_token', '=', token).execute();
  }

  /** Marks an execution running (first start keeps its start time); false when the lease token is stale. */
  async markRunning(id: string, token: string): Promise<boolean> {
    const now = Date.now();
    const r = await this.k.updateTable('pipeline_executions').set({ state: 'running', updated_at: now }).where('id', '=', id).where('lease_token', '=', token).executeTakeFirst();
    await this.k.updateTable('pipeline_executions').set({ started_at: now }).where('id', '=', id).where('started_at', 'is', null).where('lease_token', '=', token).execute();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Ends an execution, drops its lease and appends `pipeline_execution.<state>` to the outbox in the
   * same transaction; returns the event, or null (nothing changed) when the lease token is stale.
   */
  async finishExecution(id: string, state: ExecutionState, error: string | null, token: string): Promise<OutboxEvent | null> {
    const now = Date.now();
    return this.db.transaction(async (trx) => {
      const t = trx as unknown as typeof this.k;
      const r = await t
        .updateTable('pipeline_executions')
        .set({ state, error, finished_at: now, updated_at: now, lease_owner: null, lease_expires_at: null, lease_token: null })
        .where('id', '=', id)
        .where('lease_token', '=', token)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const { pipeline } = await t.selectFrom('pipeline_executions').select('pipeline').where('id', '=', id).executeTakeFirstOrThrow();
      return appendEvent(trx, { type: `pipeline_execution.${state}`, subject: `pipelines/${pipeline}/executions/${id}`, data: { pipeline, executionId: id, state }, occurredAt: now });
    });
  }

  /** Asks the running scheduler to cancel; a queued execution is cancelled at once. */
  async requestCancel(id: string): Promise<ExecutionRecord> {
    const exec = await this.getExecution(id);
    if (exec.state === 'succeeded' || exec.state === 'failed' || exec.state === 'cancelled') {
      throw new CapstanError('CAPSTAN_PIPELINE_EXECUTION_FINISHED', `execution ${id} already ${exec.state}`, { fields: { executionId: id, state: exec.state } });
    }
    await this.k.updateTable('pipeline_executions').set({ cancel_requested: 1, updated_at: Date.now() }).where('id', '=', id).execute();
    return this.getExecution(id);
  }

  /** True when someone asked to cancel. */
  async cancelRequested(id: string): Promise<boolean> {
    const r = await this.k.selectFrom('pipeline_executions').select('cancel_requested').where('id', '=', id).executeTakeFirst();
    return r?.cancel_requested === 1;
  }

  /** The last attempt of every step of an execution, by step name. */
  async attemptRows(id: string): Promise<Map<string, AttemptRow>> {
    const rows = await this.k.selectFrom('pipeline_steps').select(['name', 'attempt_token', 'attempt_owner', 'attempt_pgid', 'attempt_run_id']).where('execution_id', '=', id).execute();
    return new Map(rows.map((r) => [r.name, { token: r.attempt_token, owner: r.attempt_owner, pgid: r.attempt_pgid, runId: r.attempt_run_id }]));
  }

  /** Updates one step when `fence` still holds (see fence.ts); false when it was refused. */
  async updateStep(id: string, name: string, patch: StepPatch, fence: Fence): Promise<boolean> {
    const set: Partial<StepsTable> = { updated_at: Date.now() };
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.attempts !== undefined) set.attempts = patch.attempts;
    if (patch.failures !== undefined) set.failures = patch.failures;
    if (patch.nextAttemptAt !== undefined) set.next_attempt_at = patch.nextAttemptAt;
    if (patch.cacheKey !== undefined) set.cache_key = patch.cacheKey;
    if (patch.cachedFrom !== undefined) set.cached_from = patch.cachedFrom;
    if (patch.outputs !== undefined) set.outputs = JSON.stringify(patch.outputs);
    if (patch.properties !== undefined) set.properties = JSON.stringify(patch.properties);
    if (patch.metrics !== undefined) set.metrics = JSON.stringify(patch.metrics);
    if (patch.warnings !== undefined) set.warnings = JSON.stringify(patch.warnings);
    if (patch.error !== undefined) {
      set.error_code = patch.error?.code ?? null;
      set.error = patch.error?.message ?? null;
    }
    if (patch.startedAt !== undefined) set.started_at = patch.startedAt;
    if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
    if (patch.attemptToken !== undefined) set.attempt_token = patch.attemptToken;
    if (patch.attemptOwner !== undefined) set.attempt_owner = patch.attemptOwner;
    if (patch.attemptPgid !== undefined) set.attempt_pgid = patch.attemptPgid;
    if (patch.attemptRunId !== undefined) set.attempt_run_id = patch.attemptRunId;
    return fencedStepUpdate(this.db.kysely, id, name, set, fence);
  }

  /** The newest successful, non-cached step run of a pipeline with this cache key. */
  async findCached(pipeline: string, cacheKey: string, excludeExecution: string): Promise<{ executionId: string; step: StepRecord } | undefined> {
    const row = await this.k
      .selectFrom('pipeline_steps as s')
      .innerJoin('pipeline_executions as e', 'e.id', 's.execution_id')
      .selectAll('s')
      .where('s.cache_key', '=', cacheKey)
      .where('s.state', '=', 'succeeded')
      .where('s.cached_from', 'is', null)
      .where('e.pipeline', '=', pipeline)
      .where('s.execution_id', '!=', excludeExecution)
      .orderBy('s.finished_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { executionId: row.execution_id, step: toStep(row) } : undefined;
  }
}
