import { Cron } from 'croner';
import { sleep } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { BackgroundService } from '../../core/background-service.js';
import type { ArtifactStore } from '../../storage/artifacts/artifact-store.js';
import { inputKey } from '../artifact-digest.js';
import type { TriggerDefinition } from '../definition.js';
import type { ExecutionRecord, ExecutionTrigger, PipelineRecord } from '../execution.js';
import type { TriggerStore } from './trigger-store.js';

/** What the watcher needs from the pipelines context. */
export interface TriggerTarget {
  listPipelines(): Promise<PipelineRecord[]>;
  start(name: string, input: { params?: Record<string, unknown>; trigger: ExecutionTrigger }): Promise<ExecutionRecord>;
}

/** Options; every field has a default. */
export interface TriggerWatcherOptions {
  /** How often cron schedules are checked; default 1000 ms. */
  tickMs?: number;
  /** How often artifact prefixes are listed; default 5000 ms. */
  artifactPollMs?: number;
}

/** The newest schedule slot at or before `now` that is after `after`, or undefined. */
export function dueSlot(schedule: string, timezone: string, after: number, now: number): number | undefined {
  const cron = new Cron(schedule, { timezone, paused: true });
  let due: number | undefined;
  let cursor = new Date(after);
  // A long downtime fires only the latest missed slot, not a backlog.
  for (let i = 0; i < 100_000; i++) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > now) break;
    due = next.getTime();
    cursor = next;
  }
  return due;
}

/**
 * Fires cron and artifact-arrival triggers. Cron slots are claimed with a compare-and-set on the
 * trigger row, so several watchers fire each slot once. Artifact keys are recorded in
 * `pipeline_trigger_objects` before the execution starts: each object starts at most one execution,
 * also across restarts. Objects older than the trigger itself do not fire.
 */
export class TriggerWatcher implements BackgroundService {
  readonly name = 'pipeline-triggers';
  private running = false;
  private loop: Promise<void> | undefined;
  private lastArtifactPoll = 0;
  private readonly o: Required<TriggerWatcherOptions>;

  constructor(
    private readonly target: TriggerTarget,
    private readonly triggers: TriggerStore,
    private readonly artifacts: ArtifactStore,
    private readonly logger: Logger,
    options: TriggerWatcherOptions = {},
  ) {
    this.o = { tickMs: options.tickMs ?? 1000, artifactPollMs: options.artifactPollMs ?? 5000 };
  }

  /** Starts the tick loop. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.tick().catch((err) => this.logger.warn({ err }, 'pipeline trigger check failed'));
        await sleep(this.o.tickMs);
      }
    })();
  }

  /** Stops after the current tick. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = undefined;
  }

  /** One pass over every trigger (exposed for tests and `capstan up --once`). */
  async tick(now = Date.now()): Promise<ExecutionRecord[]> {
    const started: ExecutionRecord[] = [];
    const pollArtifacts = now - this.lastArtifactPoll >= this.o.artifactPollMs;
    if (pollArtifacts) this.lastArtifactPoll = now;
    for (const p of await this.target.listPipelines()) {
      const stored = new Map((await this.triggers.list(p.name)).map((t) => [t.name, t]));
      for (const t of p.definition.triggers) {
        const rec = stored.get(t.name);
        if (!rec) continue;
        try {
          if (t.type === 'cron') started.push(...(await this.fireCron(p.name, t, Date.parse(rec.lastFiredAt ?? rec.createdAt), now)));
          else if (t.type === 'artifact' && pollArtifacts) started.push(...(await this.fireArtifacts(p.name, t)));
        } catch (err) {
          this.logger.warn({ err, pipeline: p.name, trigger: t.name }, 'pipeline trigger failed');
        }
      }
    }
    return started;
  }

  private async fireCron(pipeline: string, t: Extract<TriggerDefinition, { type: 'cron' }>, after: number, now: number): Promise<ExecutionRecord[]> {
    const slot = dueSlot(t.schedule, t.timezone, after, now);
    if (slot === undefined || !(await this.triggers.claimFire(pipeline, t.name, slot))) return [];
    const at = new Date(slot).toISOString();
    return [await this.target.start(pipeline, { params: t.params, trigger: { type: 'cron', by: `cron:${t.name}`, detail: { schedule: t.schedule, timezone: t.timezone, slot: at } } })];
  }

  /** Every object under the prefix that is not seen yet (objects there before the trigger are, see `apply`). */
  private async fireArtifacts(pipeline: string, t: Extract<TriggerDefinition, { type: 'artifact' }>): Promise<ExecutionRecord[]> {
    const prefix = inputKey(this.artifacts, t.prefix);
    const seen = await this.triggers.seenKeys(pipeline, t.name);
    const out: ExecutionRecord[] = [];
    for (const obj of await this.artifacts.list(prefix)) {
      if (seen.has(obj.key)) continue;
      if (!(await this.triggers.markSeen(pipeline, t.name, obj.key, obj.sha256))) continue;
      const exec = await this.target.start(pipeline, {
        params: { ...t.params, [t.parameter]: this.artifacts.uriFor(obj.key) },
        trigger: { type: 'artifact', by: `artifact:${t.name}`, detail: { key: obj.key, sha256: obj.sha256 } },
      });
      await this.triggers.linkExecution(pipeline, t.name, obj.key, exec.id);
      out.push(exec);
    }
    return out;
  }
}
