import type { Logger } from '../core/logger.js';
import type { BackgroundService } from '../core/background-service.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { SqlRegistryStore } from './sql-registry-store.js';

/** Options of the package reconciler; every field has a default. */
export interface PackageReconcilerOptions {
  /** A version folder untouched this long with no version row is abandoned; default 1 hour. */
  abandonedAfterMs?: number;
}

/**
 * Removes model package folders (`models/<name>/<version>/`) that have no version row: a registration
 * killed between reserving its version number and recording the version leaves one. A registration
 * in progress (in another process) has the same shape, so only folders nothing was written to for
 * `abandonedAfterMs` go. The version number stays consumed: versions may have gaps.
 */
export async function removeAbandonedPackages(store: SqlRegistryStore, artifacts: ArtifactStore, options: PackageReconcilerOptions = {}): Promise<string[]> {
  const cutoff = Date.now() - (options.abandonedAfterMs ?? 60 * 60 * 1000);
  const removed: string[] = [];
  for (const group of await store.groupRows()) {
    const newest = new Map<number, number>();
    for (const info of await artifacts.list(`models/${group.name}/`)) {
      const segment = info.key.slice(`models/${group.name}/`.length).split('/')[0];
      if (!/^\d+$/.test(segment)) continue;
      const v = Number(segment);
      newest.set(v, Math.max(newest.get(v) ?? 0, Date.parse(info.modifiedAt)));
    }
    if (newest.size === 0) continue;
    const recorded = new Set((await store.versionRows(group)).map((r) => Number(r.version)));
    for (const [v, at] of newest) {
      if (recorded.has(v) || at >= cutoff) continue;
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
