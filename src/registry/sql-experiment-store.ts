import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertName } from '../core/names.js';
import { parseJson, type Database } from '../storage/database.js';
import type { CreateExperimentInput, CreateRunInput, Experiment, MetricPoint, Run, RunFilter, RunStatus, UpdateRunInput } from './registry-service.js';
import type { ExperimentRow, RegistryTables, RunRow } from './registry-tables.js';
import { isLater, metricPoints, stringMap } from './run-inputs.js';
import { writeRollups } from './sql-metric-rollups.js';

const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'killed'];
const INSERT_CHUNK = 500;
const iso = (ms: number) => new Date(ms).toISOString();

function toExperiment(row: ExperimentRow): Experiment {
  return { id: row.id, name: row.name, description: row.description, tags: parseJson(row.tags, {}), createdAt: iso(row.created_at), updatedAt: iso(row.updated_at) };
}

function runNotFound(id: string): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_RUN_NOT_FOUND', `no run ${JSON.stringify(String(id).slice(0, 80))}`, { fields: { runId: String(id).slice(0, 80) } });
}

function checkStatus(status: unknown): RunStatus {
  if (!RUN_STATUSES.includes(status as RunStatus)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `run status must be one of ${RUN_STATUSES.join(', ')}`);
  return status as RunStatus;
}

function checkRunName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'run name must be 1-200 characters');
  return name;
}

/**
 * Experiments and runs in the metadata DB: params (write-once), tags, metric time series with the
 * latest point per metric kept on write, and run status and timing.
 */
export class SqlExperimentStore {
  constructor(
    private readonly db: Database,
    /** Builds the artifact URI of a run, so `Run.artifactUri` is filled without the store knowing the artifact store. */
    private readonly runArtifactUri: (runId: string) => string,
  ) {}

  private get q(): Kysely<RegistryTables> {
    return this.db.as<RegistryTables>();
  }

  /** Creates an experiment; CAPSTAN_REGISTRY_EXPERIMENT_EXISTS when the name is taken. */
  async createExperiment(input: CreateExperimentInput): Promise<Experiment> {
    const name = assertName(input.name, 'experiment name');
    const tags = stringMap(input.tags, 'tag', 5000);
    const now = Date.now();
    const row: ExperimentRow = { id: newId('exp'), name, description: String(input.description ?? ''), tags: JSON.stringify(tags), created_at: now, updated_at: now };
    const inserted = await this.q.insertInto('experiments').values(row).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) {
      throw new CapstanError('CAPSTAN_REGISTRY_EXPERIMENT_EXISTS', `experiment ${name} already exists`, { fields: { experiment: name } });
    }
    return toExperiment(row);
  }

  /** Every experiment, by name. */
  async listExperiments(): Promise<Experiment[]> {
    return (await this.q.selectFrom('experiments').selectAll().orderBy('name').execute()).map(toExperiment);
  }

  /** One experiment by name. */
  async getExperiment(name: string): Promise<Experiment> {
    const row = await this.q.selectFrom('experiments').selectAll().where('name', '=', assertName(name, 'experiment name')).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_REGISTRY_EXPERIMENT_NOT_FOUND', `no experiment ${name}`, { fields: { experiment: name } });
    return toExperiment(row);
  }

  /** The experiment's id, creating the experiment when it does not exist yet. */
  private async experimentId(name: string): Promise<string> {
    const now = Date.now();
    await this.q
      .insertInto('experiments')
      .values({ id: newId('exp'), name, description: '', tags: '{}', created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.q.selectFrom('experiments').select('id').where('name', '=', name).executeTakeFirstOrThrow();
    return row.id;
  }

  /** Starts a run in an experiment (created when needed). */
  async createRun(input: CreateRunInput, actor: string): Promise<Run> {
    const experiment = assertName(input.experiment, 'experiment name');
    const params = stringMap(input.params, 'param');
    const tags = stringMap(input.tags, 'tag', 5000);
    const id = newId('run');
    const name = input.name === undefined ? id.slice(-8) : checkRunName(input.name);
    const experimentId = await this.experimentId(experiment);
    const now = Date.now();
    await this.db.transaction(async (trx) => {
      const t = trx as Kysely<RegistryTables>;
      await t
        .insertInto('runs')
        .values({
          id,
          experiment_id: experimentId,
          name,
          status: 'running',
          pipeline_execution_id: input.pipelineExecutionId ?? null,
          pipeline_step: input.pipelineStep ?? null,
          created_by: actor,
          started_at: now,
          ended_at: null,
          updated_at: now,
        })
        .execute();
      const p = Object.entries(params).map(([key, value]) => ({ run_id: id, key, value }));
      if (p.length) await t.insertInto('run_params').values(p).execute();
      const g = Object.entries(tags).map(([key, value]) => ({ run_id: id, key, value }));
      if (g.length) await t.insertInto('run_tags').values(g).execute();
    });
    return this.getRun(id);
  }

  private async runRow(id: string, q: Kysely<RegistryTables> = this.q): Promise<RunRow & { experiment: string }> {
    if (typeof id !== 'string' || id.length > 100) throw runNotFound(String(id));
    const row = await q
      .selectFrom('runs')
      .innerJoin('experiments', 'experiments.id', 'runs.experiment_id')
      .selectAll('runs')
      .select('experiments.name as experiment')
      .where('runs.id', '=', id)
      .executeTakeFirst();
    if (!row) throw runNotFound(id);
    return row;
  }

  private async hydrate(rows: (RunRow & { experiment: string })[]): Promise<Run[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [params, tags, metrics] = await Promise.all([
      this.q.selectFrom('run_params').selectAll().where('run_id', 'in', ids).execute(),
      this.q.selectFrom('run_tags').selectAll().where('run_id', 'in', ids).execute(),
      this.q.selectFrom('run_latest_metrics').select(['run_id', 'key', 'value']).where('run_id', 'in', ids).execute(),
    ]);
    const group = <T extends { run_id: string; key: string }, V>(list: T[], pick: (x: T) => V) => {
      const m = new Map<string, Record<string, V>>();
      for (const x of [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
        const rec = m.get(x.run_id) ?? {};
        rec[x.key] = pick(x);
        m.set(x.run_id, rec);
      }
      return m;
    };
    const p = group(params, (x) => x.value);
    const t = group(tags, (x) => x.value);
    const mm = group(metrics, (x) => Number(x.value));
    return rows.map((r) => ({
      id: r.id,
      experiment: r.experiment,
      name: r.name,
      status: r.status as RunStatus,
      params: p.get(r.id) ?? {},
      tags: t.get(r.id) ?? {},
      metrics: mm.get(r.id) ?? {},
      pipelineExecutionId: r.pipeline_execution_id,
      pipelineStep: r.pipeline_step,
      artifactUri: this.runArtifactUri(r.id),
      createdBy: r.created_by,
      startedAt: iso(r.started_at),
      endedAt: r.ended_at == null ? null : iso(r.ended_at),
      durationMs: r.ended_at == null ? null : r.ended_at - r.started_at,
    }));
  }

  /** One run by id. */
  async getRun(id: string): Promise<Run> {
    return (await this.hydrate([await this.runRow(id)]))[0];
  }

  /** Runs, newest first. */
  async listRuns(filter: RunFilter = {}): Promise<Run[]> {
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'limit must be between 1 and 1000');
    let q = this.q.selectFrom('runs').innerJoin('experiments', 'experiments.id', 'runs.experiment_id').selectAll('runs').select('experiments.name as experiment');
    if (filter.experiment !== undefined) q = q.where('experiments.name', '=', assertName(filter.experiment, 'experiment name'));
    if (filter.status !== undefined) q = q.where('runs.status', '=', checkStatus(filter.status));
    if (filter.pipelineExecutionId !== undefined) q = q.where('runs.pipeline_execution_id', '=', filter.pipelineExecutionId);
    return this.hydrate(await q.orderBy('runs.started_at', 'desc').orderBy('runs.id', 'desc').limit(limit).execute());
  }

  /** Changes status or name; a final status records the end time, `running` clears it. */
  async updateRun(id: string, input: UpdateRunInput): Promise<Run> {
    const status = input.status === undefined ? undefined : checkStatus(input.status);
    const name = input.name === undefined ? undefined : checkRunName(input.name);
    const row = await this.runRow(id);
    const now = Date.now();
    const ended = status === undefined ? row.ended_at : status === 'running' ? null : (row.ended_at ?? now);
    await this.q
      .updateTable('runs')
      .set({ status: status ?? row.status, name: name ?? row.name, ended_at: ended, updated_at: now })
      .where('id', '=', id)
      .execute();
    return this.getRun(id);
  }

  /** Appends metric points in one transaction, folds them into the series' rollups and moves each metric's latest point forward. */
  async logMetrics(runId: string, points: MetricPoint[]): Promise<{ count: number }> {
    const checked = metricPoints(points, Date.now());
    await this.runRow(runId);
    const latest = new Map<string, (typeof checked)[number]>();
    for (const p of checked) {
      const cur = latest.get(p.key);
      if (!cur || isLater(p, cur)) latest.set(p.key, p);
    }
    await this.db.transaction(async (trx) => {
      const t = trx as Kysely<RegistryTables>;
      for (let i = 0; i < checked.length; i += INSERT_CHUNK) {
        await t
          .insertInto('run_metrics')
          .values(checked.slice(i, i + INSERT_CHUNK).map((p) => ({ run_id: runId, key: p.key, step: p.step, timestamp: p.timestamp, value: p.value })))
          .execute();
      }
      await writeRollups(t, runId, checked);
      const keys = [...latest.keys()];
      const existing = await t.selectFrom('run_latest_metrics').selectAll().where('run_id', '=', runId).where('key', 'in', keys).execute();
      const have = new Map(existing.map((e) => [e.key, { step: Number(e.step), timestamp: Number(e.timestamp) }]));
      for (const p of latest.values()) {
        const cur = have.get(p.key);
        if (cur && !isLater(p, cur)) continue;
        await t
          .insertInto('run_latest_metrics')
          .values({ run_id: runId, key: p.key, step: p.step, timestamp: p.timestamp, value: p.value })
          .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet({ step: p.step, timestamp: p.timestamp, value: p.value }))
          .execute();
      }
      await t.updateTable('runs').set({ updated_at: Date.now() }).where('id', '=', runId).execute();
    });
    return { count: checked.length };
  }

  /** One metric's series by step then timestamp. */
  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    await this.runRow(runId);
    const rows = await this.q
      .selectFrom('run_metrics')
      .select(['key', 'value', 'step', 'timestamp'])
      .where('run_id', '=', runId)
      .where('key', '=', key)
      .orderBy('step')
      .orderBy('timestamp')
      .execute();
    return rows.map((r) => ({ key: r.key, value: Number(r.value), step: Number(r.step), timestamp: Number(r.timestamp) }));
  }

  /** Logs params; a param already logged with a different value is CAPSTAN_REGISTRY_PARAM_CONFLICT and nothing is written. */
  async logParams(runId: string, input: Record<string, string | number | boolean>): Promise<Run> {
    const params = stringMap(input, 'param');
    await this.runRow(runId);
    await this.db.transaction(async (trx) => {
      const t = trx as Kysely<RegistryTables>;
      const keys = Object.keys(params);
      if (keys.length === 0) return;
      const existing = await t.selectFrom('run_params').selectAll().where('run_id', '=', runId).where('key', 'in', keys).execute();
      for (const e of existing) {
        if (e.value !== params[e.key]) {
          throw new CapstanError('CAPSTAN_REGISTRY_PARAM_CONFLICT', `param ${e.key} of run ${runId} is already ${JSON.stringify(e.value)}; params cannot change`, {
            fields: { runId, param: e.key },
          });
        }
      }
      const fresh = keys.filter((k) => !existing.some((e) => e.key === k)).map((key) => ({ run_id: runId, key, value: params[key] }));
      if (fresh.length) await t.insertInto('run_params').values(fresh).execute();
    });
    return this.getRun(runId);
  }

  /** Sets or overwrites tags. */
  async setRunTags(runId: string, input: Record<string, string>): Promise<Run> {
    const tags = stringMap(input, 'tag', 5000);
    await this.runRow(runId);
    await this.db.transaction(async (trx) => {
      const t = trx as Kysely<RegistryTables>;
      for (const [key, value] of Object.entries(tags)) {
        await t
          .insertInto('run_tags')
          .values({ run_id: runId, key, value })
          .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet({ value }))
          .execute();
      }
    });
    return this.getRun(runId);
  }

  /** Runs by id, in the order asked; CAPSTAN_REGISTRY_RUN_NOT_FOUND names the first missing one. */
  async getRuns(ids: string[]): Promise<Run[]> {
    const rows = await this.q
      .selectFrom('runs')
      .innerJoin('experiments', 'experiments.id', 'runs.experiment_id')
      .selectAll('runs')
      .select('experiments.name as experiment')
      .where('runs.id', 'in', ids)
      .execute();
    const runs = new Map((await this.hydrate(rows)).map((r) => [r.id, r]));
    return ids.map((id) => {
      const run = runs.get(id);
      if (!run) throw runNotFound(id);
      return run;
    });
  }
}
