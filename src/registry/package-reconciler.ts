import { hostname } from 'node:os';
import type { Logger } from '../core/logger.js';
import type { BackgroundService } from '../core/background-service.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { ModelRegistrationRow } from './registry-tables.js';
import type { SqlRegistryStore } from './sql-registry-store.js';

/** Options of the package reconciler; every field has a default. */
export interface PackageReconcilerOptions {
  /**
   * An unfinished registration whose process cannot be checked (it ran on another host), or a
   * version folder with neither a version row nor a registration row (left by a version without
   * registration rows), is abandoned once this old; default 1 hour (`registry.abandonedAfterMs`).
   */
  abandonedAfterMs?: number;
  /** This machine's name, compared with a registration's owner; default `os.hostname()`. */
  host?: string;
}

/** `host:pid:token` of this process, recorded on the registrations it starts. */
export const registrationOwner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;

/** True when `pid` names no process on this machine (EPERM means one exists that we may not signal). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Whether a registration is abandoned. Its owner is checked when it ran on this host: gone when its
 * pid no longer runs, or when that pid is this process's own under another token (an earlier
 * incarnation, as a container restarted with the same pid); a live pid means in progress (a reused pid
 * errs on the safe side until the age limit). Another host's process cannot be checked, so only age
 * decides there.
 */
function abandoned(row: ModelRegistrationRow, host: string, cutoff: number): boolean {
  const [ownerHost, pid] = row.owner.split(':');
  if (row.owner !== registrationOwner && ownerHost === host && /^\d+$/.test(pid ?? '')) {
    if (Number(pid) === process.pid || processGone(Number(pid))) return true;
  }
  return Number(row.created_at) < cutoff;
}

/**
 * Removes what a killed registration left: the package folder (`models/<name>/<version>/`) and the
 * registration row of every registration whose process died, and version folders no version row and
 * no registration row accounts for once they are `abandonedAfterMs` old. A registration in progress
 * in a live process is never touched. The version number stays consumed: versions may have gaps.
 */
export async function removeAbandonedPackages(store: SqlRegistryStore, artifacts: ArtifactStore, options: PackageReconcilerOptions = {}): Promise<string[]> {
  const cutoff = Date.now() - (options.abandonedAfterMs ?? 60 * 60 * 1000);
  const host = options.host ?? hostname();
  const removed: string[] = [];
  // Folders are listed first and rows read after: a folder exists only once its registration row
  // does, and that row goes in the transaction that writes the version row, so a folder listed here
  // is accounted for by one of the rows read below unless it is abandoned.
  const folders = new Map<string, Map<number, number>>();
  for (const group of await store.groupRows()) {
    const newest = new Map<number, number>();
    for (const info of await artifacts.list(`models/${group.name}/`)) {
      const segment = info.key.slice(`models/${group.name}/`.length).split('/')[0];
      if (!/^\d+$/.test(segment)) continue;
      const v = Number(segment);
      newest.set(v, Math.max(newest.get(v) ?? 0, Date.parse(info.modifiedAt)));
    }
    folders.set(group.name, newest);
  }
  const registrations = await store.registrations();
  for (const r of registrations) {
    if (!abandoned(r, host, cutoff)) continue;
    const prefix = `models/${r.name}/${r.version}/`;
    await artifacts.deletePrefix(prefix);
    await store.transaction((t) => store.endRegistration(t, r.id));
    removed.push(prefix);
  }
  const inProgress = new Set(registrations.map((r) => `${r.name}/${r.version}`));
  for (const group of await store.groupRows()) {
    const newest = folders.get(group.name);
    if (!newest?.size) continue;
    const recorded = new Set((await store.versionRows(group)).map((r) => Number(r.version)));
    for (const [v, at] of newest) {
      if (recorded.has(v) || inProgress.has(`${group.name}/${v}`) || at >= cutoff) continue;
      const prefix = `models/${group.name}/${v}/`;
      await artifacts.deletePrefix(prefix);
      removed.push(prefix);
    }
  }
  return removed;
}

/** Runs the package cleanup once when `capstan up` starts (a restart after a crash). */
export class PackageReconciler implements BackgroundService {
  readonly name = 'registry-package-reconciler';
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: SqlRegistryStore,
    private readonly artifacts: ArtifactStore,
    private readonly logger: Logger,
    private readonly options: PackageReconcilerOptions = {},
  ) {}

  /** Starts one cleanup pass in the background; a failure is logged, never fatal. */
  async start(): Promise<void> {
    this.running = removeAbandonedPackages(this.store, this.artifacts, this.options).then(
      (removed) => {
        if (removed.length) this.logger.warn({ removed }, 'removed model package folders a killed registration left without a version');
      },
      (err) => this.logger.warn({ err }, 'could not look for abandoned model package folders'),
    );
  }

  /** Waits for a pass still running. */
  async stop(): Promise<void> {
    await this.running;
  }
}
