import type { Logger } from '../core/logger.js';
import { readManifest } from '../core/model-manifest.js';
import type { OutboundSettings } from '../core/outbound-guard.js';
import type { StoredVariant } from './endpoint.js';
import type { ModelSource } from './model-source.js';
import { checkStagesConnect, httpStageManifest, PipelineRunner } from './pipeline-runner.js';
import type { VariantMetrics } from './serving-metrics.js';
import { VariantPool } from './variant-pool.js';

/** What serves one variant: a pool of workers for one model, or a pipeline of stage pools. */
export type VariantRunner = VariantPool | PipelineRunner;

/** What building a variant's runner needs. */
export interface VariantRunnerDeps {
  models: ModelSource;
  logger: Logger;
  outbound: OutboundSettings;
}

/**
 * Builds (without starting) the runner of a stored variant. A pipeline's packages are fetched and
 * its stages checked to connect before any worker starts, so a pipeline that cannot work is refused
 * without loading anything.
 */
export async function buildVariantRunner(deps: VariantRunnerDeps, v: StoredVariant, metrics: VariantMetrics): Promise<VariantRunner> {
  const common = {
    instances: v.instances,
    logger: deps.logger,
    onRestart: () => metrics.workerRestarts.inc(),
    ...(v.scaling ? { scaling: v.scaling, onColdStart: (ms: number) => metrics.coldStart.observe(ms / 1000) } : {}),
  };
  const runtime = {
    intraOpThreads: v.intraOpThreads,
    interOpThreads: v.interOpThreads,
    batching: v.batching,
    outbound: deps.outbound,
    ...(v.interpreter ? { interpreter: v.interpreter } : {}),
  };
  if (!v.pipeline) {
    const dir = await deps.models.localPackage(v.resolved);
    const spec = { dir, manifest: readManifest(dir), options: { ...runtime, handlerOptions: v.handlerOptions, ...(v.url ? { url: v.url } : {}) } };
    return new VariantPool(spec, { ...common, timeoutMs: v.timeoutMs, onResize: (n) => metrics.workers.set(n) });
  }
  const loaded = await Promise.all(
    v.pipeline.map(async (s) => {
      if (s.url !== undefined || !s.resolved) return { config: s, dir: '', manifest: httpStageManifest(s.name, s.url ?? '') };
      const dir = await deps.models.localPackage(s.resolved);
      return { config: s, dir, manifest: readManifest(dir) };
    }),
  );
  checkStagesConnect(loaded);
  const pools: VariantPool[] = [];
  const resize = () => metrics.workers.set(pools.reduce((n, p) => n + p.size, 0));
  const stages = loaded.map((s) => {
    const pool = new VariantPool(
      { dir: s.dir, manifest: s.manifest, options: { ...runtime, handlerOptions: s.config.handlerOptions, ...(s.config.url ? { url: s.config.url } : {}) } },
      { ...common, timeoutMs: s.config.timeoutMs, onResize: resize },
    );
    pools.push(pool);
    return { config: s.config, manifest: s.manifest, pool };
  });
  return new PipelineRunner(stages);
}
