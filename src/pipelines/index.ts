/**
 * The pipelines context's public surface: the pipeline service (definitions, executions, step logs,
 * triggers), the records it answers with, the local API the CLI and SDK share, and the context module
 * the platform installs.
 */
import path from 'node:path';
import { defineContext } from '../storage/context-module.js';
import type { RegistryService } from '../registry/index.js';
import type { FeatureService } from '../features/index.js';
import { deployStep } from './deploy-step.js';
import { pipelinesRoutes } from './http/pipelines-routes.js';
import { pipelines as pipelineTables } from './migrations/0003-pipelines.js';
import { webhookDeliveries } from './migrations/0006-webhook-deliveries.js';
import { pipelineFencing } from './migrations/0007-pipeline-fencing.js';
import { installPipelineMetrics } from './pipeline-metrics.js';
import { PipelineService } from './pipeline-service.js';
import type { PipelineTransformer } from './steps/index.js';
import { kubernetesExecutorFromConfig, missingKubernetesSettings } from './executor/kubernetes/kubernetes-config.js';

export { PipelineService, type PipelinesDeps, type PipelineDescription, type RunInput } from './pipeline-service.js';
export type * from './execution.js';
export { isFinalStepState } from './execution.js';
export { compileParams, parseParamPairs } from './parameters.js';
export { localPipelinesApi, readCodeFiles, type DefinitionInput, type PipelinesApi } from './pipelines-api.js';
export { parsePipelineYaml, readPipelineFile, type PipelineSource, type ValidationIssue } from './pipeline-source.js';
export { codeDirectoryDigest } from './code-snapshot.js';
export type { ApplyResult } from './pipeline-service.js';
export type { TriggerDefinition } from './definition.js';
export type { FunctionContext, FunctionEvent } from './steps/function-step.js';
export type { DeployRequest, PipelineDeployer, PipelineFeatureProvider, StepTrainingSet, StepTrainingSetRequest } from './steps/index.js';
export type { PipelineTransformer, TransformRequest } from './steps/index.js';

export { kubernetesExecutorFromConfig, missingKubernetesSettings } from './executor/kubernetes/kubernetes-config.js';
export { readStepIoSpec, stageIn, stageOut } from './executor/kubernetes/step-io.js';

/** Pipelines: `platform.pipelines`, its scheduler and trigger watcher (work services), its metrics, `/api/v1/pipelines`. */
export const pipelinesContext = defineContext<PipelineService>({
  name: 'pipelines',
  migrations: { '0003_pipelines': pipelineTables, '0006_webhook_deliveries': webhookDeliveries, '0007_pipeline_fencing': pipelineFencing },
  create({ config, db, artifacts, logger, events, metrics, use }) {
    // Register-model steps use the registry and deploy steps serving, both looked up when a step runs.
    const pipelines = new PipelineService({ db, artifacts, logger, events, registry: () => use<RegistryService>('registry') }, {
      scheduler: { leaseMs: config.pipelines.leaseMs },
      // Step working directories live in the home, where a restart sweeps what a killed process left.
      local: { killGraceMs: config.pipelines.killGraceMs, workRoot: path.join(config.home, 'tmp') },
      kubernetesMissing: missingKubernetesSettings(config),
    });
    const kubernetes = kubernetesExecutorFromConfig(config, artifacts);
    if (kubernetes) pipelines.registerExecutor(kubernetes);
    pipelines.setFeatureProvider({
      trainingSet: (r) =>
        use<FeatureService>('features').trainingSet({
          entities: /^[a-z][a-z0-9+.-]*:\/\//.test(r.entities) ? { uri: r.entities } : { key: r.entities },
          features: r.features,
          out: { key: r.outKey, format: r.format },
          asOfKnownTime: r.asOfKnownTime,
          timestampColumn: r.timestampColumn,
        }),
    });
    pipelines.setTransformer({ transform: (request) => use<PipelineTransformer>('batch').transform(request) });
    pipelines.setDeployer({ deploy: (request) => deployStep(request, use) });
    installPipelineMetrics({ metrics, events, execution: (id) => pipelines.execution(id) });
    const workServices = [pipelines.scheduler, pipelines.triggerWatcher];
    return { service: pipelines, background: workServices, workServices, close: () => pipelines.close() };
  },
  routes: [pipelinesRoutes],
});
/** Reads metric series from step logs (the console charts them). */
export { MetricsFromLogs, type MetricPoint } from './metrics-from-logs.js';
