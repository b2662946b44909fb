import type { InvocationBody } from './invocation-body.js';
import { performance } from 'node:perf_hooks';
import { CapstanError, isCapstanError } from '../core/errors.js';
import type { ModelManifest, TensorSpec } from '../core/model-manifest.js';
import type { WorkerResult } from './model-worker.js';
import type { StoredPipelineStage } from './pipeline-config.js';
import { compileContentTypeCheck } from './request-validation.js';
import type { Tensors } from './runtimes/tensors.js';
import { acceptedContentTypes, type PoolScalingState, type VariantPool } from './variant-pool.js';

/** One loaded stage: its configuration, manifest and pool of workers. */
export interface PipelineStage {
  config: StoredPipelineStage;
  manifest: ModelManifest;
  pool: VariantPool;
}

/** One stage's input and output, for per-stage data capture. */
export interface StageTrace {
  stage: string;
  requestContentType: string;
  request: InvocationBody;
  responseContentType: string;
  response: InvocationBody;
}

/** A pipeline's answer: the last stage's, plus the traces of stages that capture. */
export interface PipelineResult extends WorkerResult {
  stages?: StageTrace[];
}

/** The synthetic manifest of an `http` stage: an external server that takes and answers any media type. */
export function httpStageManifest(name: string, url: string): ModelManifest {
  return { name, framework: 'http', entry: '', url, signature: { inputs: [], outputs: [] }, contentTypes: ['*/*'], assets: {}, metadata: {} };
}

function disconnected(from: string, to: string, detail: string, fields: Record<string, unknown>): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_PIPELINE_STAGES_DISCONNECTED', `pipeline stage ${from} does not connect to stage ${to}: ${detail}`, { fields: { from, to, ...fields } });
}

/**
 * Refuses a pipeline whose neighbouring stages cannot connect, where the packages say enough to
 * know: a declared output media type the next stage does not accept, or output names that miss an
 * input the next stage's signature requires (for stages that read named fields: onnx without a
 * handler, js).
 */
export function checkStagesConnect(stages: readonly { config: StoredPipelineStage; manifest: ModelManifest }[]): void {
  for (let i = 0; i + 1 < stages.length; i++) {
    const a = stages[i];
    const b = stages[i + 1];
    if (a.config.outputContentType) {
      try {
        compileContentTypeCheck(acceptedContentTypes(b.manifest))(a.config.outputContentType);
      } catch {
        const accepts = acceptedContentTypes(b.manifest) ?? ['application/json'];
        throw disconnected(a.config.name, b.config.name, `it answers ${a.config.outputContentType}, ${b.config.name} accepts ${accepts.join(', ')}`, { outputContentType: a.config.outputContentType, accepts });
      }
    }
    const outputs = a.manifest.signature.outputs.map((o) => o.name);
    const readsFields = (b.manifest.framework === 'onnx' && !b.manifest.handler) || b.manifest.framework === 'js';
    if (outputs.length === 0 || !readsFields) continue;
    const missing = b.manifest.signature.inputs.map((s: TensorSpec) => s.name).filter((n) => !outputs.includes(n));
    if (missing.length > 0) {
      throw disconnected(a.config.name, b.config.name, `${b.config.name} needs input ${missing.join(', ')}, ${a.config.name} outputs ${outputs.join(', ')}`, { missing, outputs });
    }
  }
}

/** The error a failing stage answers: it names the stage, its position and the stage's own status and code. */
function stageError(err: unknown, stage: string, index: number, count: number): CapstanError {
  const status = isCapstanError(err) ? err.status : 500;
  const code = isCapstanError(err) ? err.code : 'CAPSTAN_INTERNAL';
  const message = isCapstanError(err) ? err.message : 'internal error';
  const fields = { stage, stageIndex: index, stageStatus: status, stageCode: code };
  const where = `pipeline stage ${stage} (${index + 1} of ${count})`;
  if (code === 'CAPSTAN_SERVING_MODEL_TIMEOUT') return new CapstanError('CAPSTAN_SERVING_PIPELINE_STAGE_TIMEOUT', `${where} did not answer in time: ${message}`, { cause: err, fields });
  // Only the first stage sees the client's own request; a later stage refusing its input is the pipeline's fault.
  if (index === 0 && status >= 400 && status < 500) return new CapstanError('CAPSTAN_SERVING_PIPELINE_STAGE_REJECTED', `${where} refused the request with ${status} ${code}: ${message}`, { cause: err, fields });
  return new CapstanError('CAPSTAN_SERVING_PIPELINE_STAGE_FAILED', `${where} failed with ${status} ${code}: ${message}`, { cause: err, fields });
}

/**
 * A serial inference pipeline: each stage's answer (body and media type) is the next stage's
 * request. Each stage has its own pool, timeout and scaling; the whole pipeline looks like one pool
 * to the endpoint host.
 */
export class PipelineRunner {
  private running = 0;

  constructor(readonly stages: readonly PipelineStage[]) {}

  /** Starts every stage; if one fails, stops the others and rethrows, naming the stage. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.stages.map((s) => s.pool.start()));
    const i = results.findIndex((r) => r.status === 'rejected');
    if (i >= 0) {
      await this.close();
      const err = (results[i] as PromiseRejectedResult).reason;
      if (isCapstanError(err)) throw new CapstanError(err.code, `pipeline stage ${this.stages[i].config.name}: ${err.message}`, { cause: err, fields: { ...err.fields, stage: this.stages[i].config.name } });
      throw err;
    }
  }

  /** Workers across the stages. */
  get size(): number {
    return this.stages.reduce((n, s) => n + s.pool.size, 0);
  }

  /** Requests inside the pipeline. */
  get inFlight(): number {
    return this.running;
  }

  /** Worker replacements across the stages. */
  get restarts(): number {
    return this.stages.reduce((n, s) => n + s.pool.restarts, 0);
  }

  /** The first stage's inputs and the last stage's outputs. */
  get signature(): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
    return { inputs: this.stages[0].pool.signature.inputs, outputs: this.stages[this.stages.length - 1].pool.signature.outputs };
  }

  /** The first stage's scaling state, when it scales (every stage follows the variant's rule). */
  get scaling(): PoolScalingState | undefined {
    return this.stages[0].pool.scaling;
  }

  /** Runs the request through every stage in order. */
  async invoke(body: InvocationBody, contentType: string, customAttributes?: string, accept?: string): Promise<PipelineResult> {
    this.running++;
    try {
      let current: { body: InvocationBody; contentType: string } = { body, contentType };
      let modelMs = 0;
      let traces: StageTrace[] | undefined;
      const started = performance.now();
      for (const [i, s] of this.stages.entries()) {
        let r: WorkerResult;
        try {
          // Only the last stage answers the client, so only it sees the client's Accept.
          r = await s.pool.invoke(current.body, current.contentType, customAttributes, i === this.stages.length - 1 ? accept : undefined);
        } catch (err) {
          throw stageError(err, s.config.name, i, this.stages.length);
        }
        modelMs += r.modelMs;
        if (s.config.capture) (traces ??= []).push({ stage: s.config.name, requestContentType: current.contentType, request: current.body, responseContentType: r.contentType, response: r.body });
        current = { body: r.body, contentType: r.contentType };
      }
      // Hand-offs between stages are part of the model's time here, not the gateway's overhead.
      modelMs = Math.max(modelMs, performance.now() - started);
      return { body: current.body, contentType: current.contentType, modelMs, ...(traces ? { stages: traces } : {}) };
    } finally {
      this.running--;
    }
  }

  /** Tensors go to a single model, not through a pipeline. */
  async infer(_inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }> {
    throw new CapstanError('CAPSTAN_SERVING_PROTOCOL_UNSUPPORTED', 'a pipeline variant takes invocations, not Open Inference Protocol tensors');
  }

  /** Lets in-flight requests finish, then stops every stage. */
  async drain(graceMs?: number): Promise<void> {
    await Promise.all(this.stages.map((s) => s.pool.drain(graceMs)));
  }

  /** Stops every stage now. */
  async close(): Promise<void> {
    await Promise.all(this.stages.map((s) => s.pool.close()));
  }
}
