import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { parseJson, type Database } from '../storage/database.js';
import { appendEvent } from '../storage/outbox/index.js';
import type { Deployment, DeploymentPhase, DeploymentStatus } from './deployment.js';

interface DeploymentsTable {
  deployments: {
    id: string;
    endpoint: string;
    active_endpoint: string | null;
    status: string;
    phase: string;
    policy: string;
    blue: string;
    green: string;
    step: number;
    green_percent: number;
    started_at: number;
    step_started_at: number;
    last_eval_at: number | null;
    finished_at: number | null;
    actor: string;
    steps: string;
    evaluations: string;
    alarm: string | null;
    reason: string | null;
    lease_owner: string | null;
    lease_until: number | null;
    lineage: string | null;
  };
}

type Row = DeploymentsTable['deployments'];

/** A deployment event for the outbox: `deployment.started|step|paused|succeeded|rolled_back`. */
export interface DeploymentEvent {
  type: 'deployment.started' | 'deployment.step' | 'deployment.paused' | 'deployment.succeeded' | 'deployment.rolled_back' | 'deployment.failed';
  data?: Record<string, unknown>;
}

const iso = (ms: number | null) => (ms === null ? undefined : new Date(Number(ms)).toISOString());

function toDeployment(row: Row): Deployment & { lastEvalAt?: number } {
  const alarm = parseJson(row.alarm, undefined);
  return {
    id: row.id,
    endpoint: row.endpoint,
    status: row.status as DeploymentStatus,
    phase: row.phase as DeploymentPhase,
    policy: parseJson(row.policy, {} as Deployment['policy']),
    blue: parseJson(row.blue, []),
    green: parseJson(row.green, []),
    step: Number(row.step),
    greenPercent: Number(row.green_percent),
    startedAt: iso(row.started_at)!,
    stepStartedAt: iso(row.step_started_at)!,
    ...(row.finished_at !== null ? { finishedAt: iso(row.finished_at) } : {}),
    actor: row.actor,
    steps: parseJson(row.steps, []),
    evaluations: parseJson(row.evaluations, []),
    ...(alarm ? { alarm } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.last_eval_at !== null ? { lastEvalAt: Number(row.last_eval_at) } : {}),
    lineage: parseJson(row.lineage, []),
  };
}

function toRow(d: Deployment & { lastEvalAt?: number }): Omit<Row, 'lease_owner' | 'lease_until'> {
  const active = d.status === 'Running' || d.status === 'Paused';
  return {
    id: d.id,
    endpoint: d.endpoint,
    active_endpoint: active ? d.endpoint : null,
    status: d.status,
    phase: d.phase,
    policy: JSON.stringify(d.policy),
    blue: JSON.stringify(d.blue),
    green: JSON.stringify(d.green),
    step: d.step,
    green_percent: d.greenPercent,
    started_at: Date.parse(d.startedAt),
    step_started_at: Date.parse(d.stepStartedAt),
    last_eval_at: d.lastEvalAt ?? null,
    finished_at: d.finishedAt ? Date.parse(d.finishedAt) : null,
    actor: d.actor,
    steps: JSON.stringify(d.steps),
    evaluations: JSON.stringify(d.evaluations),
    lineage: d.lineage?.length ? JSON.stringify(d.lineage) : null,
    alarm: d.alarm ? JSON.stringify(d.alarm) : null,
    reason: d.reason ?? null,
  };
}

function eventData(d: Deployment, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { deploymentId: d.id, endpoint: d.endpoint, strategy: d.policy.strategy, status: d.status, phase: d.phase, greenPercent: d.greenPercent, ...extra };
}

/** Deployment rows in the metadata DB; each change that users care about appends its outbox event in the same transaction. */
export class SqlDeploymentStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<DeploymentsTable>();
  }

  /**
   * Inserts a new active deployment with `deployment.started`, leased to `lease` (the starter, so no
   * controller drives it before its first share is applied); CAPSTAN_ROLLOUT_IN_PROGRESS when the
   * endpoint already has one.
   */
  async insert(d: Deployment, lease?: { owner: string; until: number }): Promise<void> {
    try {
      await this.db.transaction(async (trx) => {
        await (trx as unknown as Kysely<DeploymentsTable>).insertInto('deployments').values({ ...toRow(d), lease_owner: lease?.owner ?? null, lease_until: lease?.until ?? null }).execute();
        await appendEvent(trx, { type: 'deployment.started', subject: `endpoints/${d.endpoint}/deployments/${d.id}`, data: eventData(d, { green: d.green.map((v) => ({ name: v.name, model: v.model })) }), occurredAt: Date.parse(d.startedAt) });
      });
    } catch (err) {
      if (/unique|duplicate/i.test(String((err as Error).message))) throw inProgress(d.endpoint);
      throw err;
    }
  }

  /** Saves a deployment's state with its event, only while `owner` holds its lease (or, for `owner` undefined, unconditionally); false when the lease was lost. */
  async save(d: Deployment & { lastEvalAt?: number }, owner: string | undefined, event?: DeploymentEvent): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const k = trx as unknown as Kysely<DeploymentsTable>;
      const { id: _id, ...fields } = toRow(d);
      // Only an active row changes; a controller's save also needs its lease and a Running row, so a
      // rollback or pause made elsewhere is never overwritten by a step computed before it.
      let q = k.updateTable('deployments').set(fields).where('id', '=', d.id).where('active_endpoint', 'is not', null);
      if (owner !== undefined) q = q.where('lease_owner', '=', owner).where('status', '=', 'Running');
      const res = await q.executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      if (event) await appendEvent(trx, { type: event.type, subject: `endpoints/${d.endpoint}/deployments/${d.id}`, data: eventData(d, event.data) });
      return true;
    });
  }

  /** Takes or renews the lease on a deployment (free, expired, or already ours); true when held. */
  async claim(id: string, owner: string, leaseMs: number, now: number): Promise<boolean> {
    const res = await this.k
      .updateTable('deployments')
      .set({ lease_owner: owner, lease_until: now + leaseMs })
      .where('id', '=', id)
      .where('active_endpoint', 'is not', null)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Gives the lease back (on shutdown) so another process takes the deployment at once. */
  async release(id: string, owner: string): Promise<void> {
    await this.k.updateTable('deployments').set({ lease_owner: null, lease_until: null }).where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  /** One deployment; CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND when missing. */
  async get(id: string): Promise<Deployment & { lastEvalAt?: number }> {
    const row = await this.k.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND', `no deployment ${id}`, { fields: { deploymentId: id } });
    return toDeployment(row);
  }

  /** The endpoint's Running or Paused deployment, if any. */
  async active(endpoint: string): Promise<(Deployment & { lastEvalAt?: number }) | undefined> {
    const row = await this.k.selectFrom('deployments').selectAll().where('active_endpoint', '=', endpoint).executeTakeFirst();
    return row ? toDeployment(row) : undefined;
  }

  /** Ids of every Running deployment (Paused ones wait for a person). */
  async runningIds(): Promise<string[]> {
    const rows = await this.k.selectFrom('deployments').select('id').where('active_endpoint', 'is not', null).where('status', '=', 'Running').execute();
    return rows.map((r) => r.id);
  }

  /** Endpoints whose Running deployment has a model-quality alarm (every serving process collects their scores). */
  async qualityWatchedEndpoints(): Promise<string[]> {
    const rows = await this.k.selectFrom('deployments').select(['endpoint', 'policy']).where('active_endpoint', 'is not', null).where('status', '=', 'Running').execute();
    return rows.filter((r) => parseJson<Deployment['policy']>(r.policy, {} as Deployment['policy']).alarms?.some((a) => a.type === 'quality')).map((r) => r.endpoint);
  }

  /** The endpoint's deployments, newest first. */
  async list(endpoint: string, limit = 50): Promise<Deployment[]> {
    const rows = await this.k.selectFrom('deployments').selectAll().where('endpoint', '=', endpoint).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => {
      const { lastEvalAt: _l, ...d } = toDeployment(r);
      return d;
    });
  }
}

/** The 409 of a second deployment while one is active. */
export function inProgress(endpoint: string): CapstanError {
  return new CapstanError('CAPSTAN_ROLLOUT_IN_PROGRESS', `endpoint ${endpoint} already has a deployment running; wait for it, roll it back, or pass force to roll it back first`, { fields: { endpoint } });
}
