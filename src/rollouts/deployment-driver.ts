import { sleep, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { EndpointService, ServingActionContext } from '../serving/index.js';
import { compileAlarms, type AlarmEvaluation } from './alarms.js';
import type { Deployment, DeploymentPhase } from './deployment.js';
import { trafficSteps } from './deployment-policy.js';
import { sideWindow } from './side-window.js';
import type { DeploymentEvent, SqlDeploymentStore } from './sql-deployment-store.js';
import { mixed } from './traffic-plan.js';
import type { ScoreBook } from './score-book.js';

/** A deployment as the driver holds it: with the time of its last alarm evaluation. */
export type DrivenDeployment = Deployment & { lastEvalAt?: number };

const MAX_EVALUATIONS = 50;
const ACTOR = { actor: 'system:rollouts' };

/**
 * Moves one deployment through its policy: traffic steps, alarm evaluations, baking, termination
 * wait, success or rollback. Every decision is saved to the database (with its outbox event) so
 * whichever process holds the lease next continues from there.
 */
export class DeploymentDriver {
  constructor(
    private readonly deps: { store: SqlDeploymentStore; serving: () => EndpointService; logger: Logger; clock: Clock; scores?: ScoreBook },
  ) {}

  private iso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  /** Sets green's share on the endpoint (blue keeps the rest). */
  async applyShare(d: Deployment, greenPercent: number, ctx: ServingActionContext = ACTOR): Promise<void> {
    await this.deps.serving().update(d.endpoint, { variants: mixed(d.blue, d.green, greenPercent) }, ctx);
  }

  /** One pass for a deployment this process leases: returns false when it is no longer Running here. */
  async tick(d: DrivenDeployment, owner: string): Promise<boolean> {
    if (d.status !== 'Running') return false;
    const now = this.deps.clock.now();
    if (now - Date.parse(d.startedAt) > d.policy.maxExecutionSeconds * 1000) {
      await this.rollback(d, owner, `the deployment ran longer than its maximum execution time of ${d.policy.maxExecutionSeconds} s`);
      return false;
    }
    if (d.phase === 'shifting' || d.phase === 'baking') {
      const due = d.lastEvalAt === undefined || now - d.lastEvalAt >= d.policy.evaluationIntervalSeconds * 1000;
      if (due && d.policy.alarms.length > 0) {
        const fired = await this.evaluate(d, now);
        if (fired) return this.onAlarm(d, owner, fired);
        if (!(await this.deps.store.save(d, owner))) return false;
      }
    }
    const held = now - Date.parse(d.stepStartedAt);
    if (d.phase === 'shifting' && held >= d.policy.waitSeconds * 1000) return this.advance(d, owner, d.step + 1);
    if (d.phase === 'baking' && held >= d.policy.bakeSeconds * 1000) return this.enter(d, owner, 'terminating', 'baking done; the old variants stay loaded for the termination wait');
    if (d.phase === 'terminating' && held >= d.policy.terminationWaitSeconds * 1000) return this.finish(d, owner);
    return true;
  }

  /** Evaluates every alarm over its window; the first that fired, or undefined. Evaluations are kept in the history. */
  private async evaluate(d: DrivenDeployment, now: number): Promise<AlarmEvaluation | undefined> {
    const alarms = compileAlarms(d.policy.alarms);
    const blue = d.blue.map((v) => v.name!);
    const green = d.green.map((v) => v.name!);
    const byWindow = new Map<number, Awaited<ReturnType<EndpointService['variantStats']>>>();
    let fired: AlarmEvaluation | undefined;
    const at = new Date(now).toISOString();
    for (const alarm of alarms) {
      let stats = byWindow.get(alarm.windowSeconds);
      if (!stats) {
        stats = await this.deps.serving().variantStats(d.endpoint, { windowMs: alarm.windowSeconds * 1000 });
        byWindow.set(alarm.windowSeconds, stats);
      }
      let evaluation: AlarmEvaluation;
      const greenSide = sideWindow(stats, green);
      const blueSide = sideWindow(stats, blue);
      if (alarm.needsScores && this.deps.scores) {
        // Every serving process collects this endpoint's scores while the deployment runs (score-flusher.ts); the histograms are summed over all of them.
        this.deps.scores.watch(d.endpoint);
        const since = now - alarm.windowSeconds * 1000;
        greenSide.scores = await this.deps.scores.histogram(d.endpoint, green, since);
        blueSide.scores = await this.deps.scores.histogram(d.endpoint, blue, since);
      }
      try {
        evaluation = alarm.evaluate(greenSide, blueSide);
      } catch (err) {
        // A CEL condition that fails at run time (a misspelt key) is recorded, not a reason to stop.
        this.deps.logger.warn({ err, deployment: d.id, alarm: alarm.name }, 'alarm evaluation failed');
        continue;
      }
      d.evaluations.push({ ...evaluation, at });
      if (evaluation.fired && !fired) fired = evaluation;
    }
    // The latest evaluations, and every one that fired, stay in the history.
    const keep = d.evaluations.filter((e, i) => e.fired || i >= d.evaluations.length - MAX_EVALUATIONS);
    d.evaluations = keep;
    d.lastEvalAt = now;
    return fired;
  }

  private async onAlarm(d: DrivenDeployment, owner: string, fired: AlarmEvaluation): Promise<boolean> {
    d.alarm = { alarm: fired.alarm, at: this.iso(), evaluation: fired };
    if (d.policy.onAlarm === 'pause') {
      d.status = 'Paused';
      d.reason = `alarm ${fired.alarm} fired; paused at ${d.greenPercent} % green`;
      d.steps.push({ at: this.iso(), phase: d.phase, greenPercent: d.greenPercent, note: d.reason });
      await this.deps.store.save(d, owner, { type: 'deployment.paused', data: { alarm: d.alarm } });
      this.deps.logger.warn({ deployment: d.id, endpoint: d.endpoint, alarm: fired }, 'deployment paused by an alarm');
      return false;
    }
    await this.rollback(d, owner, `alarm ${fired.alarm} fired`);
    return false;
  }

  /** Moves to traffic step `index` (the last one is 100 %, which starts baking). */
  private async advance(d: DrivenDeployment, owner: string, index: number): Promise<boolean> {
    const steps = trafficSteps(d.policy);
    if (index >= steps.length) return this.enter(d, owner, 'baking', 'green holds 100 %');
    const share = steps[index];
    await this.applyShare(d, share);
    d.step = index;
    d.greenPercent = share;
    d.stepStartedAt = this.iso();
    d.phase = share >= 100 ? 'baking' : 'shifting';
    d.steps.push({ at: d.stepStartedAt, phase: d.phase, greenPercent: share });
    return this.deps.store.save(d, owner, { type: 'deployment.step', data: { step: index, greenPercent: share } });
  }

  private async enter(d: DrivenDeployment, owner: string, phase: DeploymentPhase, note: string): Promise<boolean> {
    d.phase = phase;
    d.stepStartedAt = this.iso();
    d.steps.push({ at: d.stepStartedAt, phase, greenPercent: d.greenPercent, note });
    return this.deps.store.save(d, owner);
  }

  /** Releases the old variants (their in-flight requests finish while they drain) and marks the deployment Succeeded. */
  private async finish(d: DrivenDeployment, owner: string): Promise<boolean> {
    await this.deps.serving().update(d.endpoint, { variants: d.green }, ACTOR);
    d.status = 'Succeeded';
    d.phase = 'done';
    d.finishedAt = this.iso();
    d.steps.push({ at: d.finishedAt, phase: 'done', greenPercent: 100, note: 'old variants released' });
    await this.deps.store.save(d, owner, { type: 'deployment.succeeded' });
    this.deps.logger.info({ deployment: d.id, endpoint: d.endpoint }, 'deployment succeeded');
    return false;
  }

  /**
   * Shifts 100 % back to blue and releases green, marking the deployment RolledBack. The row is
   * saved first, so a controller in another process stops driving it before traffic moves.
   */
  async rollback(d: DrivenDeployment, owner: string | undefined, reason: string, event: DeploymentEvent['type'] = 'deployment.rolled_back'): Promise<boolean> {
    d.status = event === 'deployment.failed' ? 'Failed' : 'RolledBack';
    d.phase = 'done';
    d.reason = reason;
    d.finishedAt = this.iso();
    d.greenPercent = 0;
    d.steps.push({ at: d.finishedAt, phase: 'done', greenPercent: 0, note: reason });
    if (!(await this.deps.store.save(d, owner, { type: event, data: { reason, ...(d.alarm ? { alarm: d.alarm } : {}) } }))) return false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.restoreBlue(d);
        break;
      } catch (err) {
        // The endpoint may be busy with another change for a moment; blue must come back regardless.
        if (attempt >= 10) throw err;
        this.deps.logger.warn({ err, deployment: d.id, attempt }, 'could not restore blue yet; retrying');
        await sleep(200 * attempt);
      }
    }
    this.deps.logger.warn({ deployment: d.id, endpoint: d.endpoint, reason }, 'deployment rolled back');
    return true;
  }

  /** Serves blue alone, with its weights from before the deployment; retried on the next tick if the endpoint is busy. */
  async restoreBlue(d: Deployment): Promise<void> {
    const current = await this.deps.serving().describe(d.endpoint);
    const names = new Set(d.blue.map((v) => v.name));
    if (current.variants.length === names.size && current.variants.every((v) => names.has(v.name) && v.weight === d.blue.find((b) => b.name === v.name)?.weight)) return;
    await this.deps.serving().update(d.endpoint, { variants: d.blue }, ACTOR);
  }
}
