import { createReadStream } from 'node:fs';
import os from 'node:os';
import { CapstanError } from '../core/errors.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { directoryPrefix, normalizeRelativePath } from '../storage/artifacts/normalize-key.js';
import { buildComparison, checkColumns } from './comparison.js';
import { isFile } from './package-source.js';
import { checkMetricSeries, checkRunSearch, type MetricSeriesInput, type RunMetricSeries, type RunPage, type RunSearch } from './run-search.js';
import type {
  ActionContext,
  ArtifactFile,
  Comparison,
  CompareRunsInput,
  CreateExperimentInput,
  CreateRunInput,
  Experiment,
  MetricPoint,
  Run,
  RunFilter,
  UpdateRunInput,
} from './registry-service.js';
import type { SqlExperimentStore } from './sql-experiment-store.js';
import type { SqlRunSearch } from './sql-run-search.js';

/** The actor of the embedded CLI and in-process callers: `local:<os user>`. */
export function localActor(): string {
  try {
    return `local:${os.userInfo().username}`;
  } catch {
    return 'local:unknown';
  }
}

/**
 * The experiment-tracking half of the local registry: experiments, runs, metric series, params,
 * tags, run artifacts (under `runs/<id>/artifacts/` in the store) and run comparisons.
 */
export class ExperimentTracking {
  constructor(
    protected readonly runs: SqlExperimentStore,
    private readonly runArtifacts: ArtifactStore,
    private readonly runSearch: SqlRunSearch,
  ) {}

  /** @inheritdoc */
  createExperiment(input: CreateExperimentInput): Promise<Experiment> {
    return this.runs.createExperiment(input);
  }
  /** @inheritdoc */
  listExperiments(): Promise<Experiment[]> {
    return this.runs.listExperiments();
  }
  /** @inheritdoc */
  getExperiment(name: string): Promise<Experiment> {
    return this.runs.getExperiment(name);
  }
  /** @inheritdoc */
  createRun(input: CreateRunInput, ctx: ActionContext = {}): Promise<Run> {
    return this.runs.createRun(input, ctx.actor ?? localActor());
  }
  /** @inheritdoc */
  getRun(id: string): Promise<Run> {
    return this.runs.getRun(id);
  }
  /** @inheritdoc */
  listRuns(filter?: RunFilter): Promise<Run[]> {
    return this.runs.listRuns(filter);
  }
  /** @inheritdoc */
  async searchRuns(search: RunSearch = {}): Promise<RunPage> {
    const { sort, offset, limit } = checkRunSearch(search);
    const found = await this.runSearch.search({ ids: search.ids, experiment: search.experiment, status: search.status, name: search.name, sort, offset, limit });
    return { runs: await this.runs.getRuns(found.ids), total: found.total, offset, paramKeys: found.paramKeys, metricKeys: found.metricKeys };
  }
  /** @inheritdoc */
  async metricSeries(input: MetricSeriesInput): Promise<RunMetricSeries[]> {
    const { runs, key, points } = checkMetricSeries(input);
    await this.runs.getRuns(runs);
    const series = await this.runSearch.metricSeries(runs, key, points);
    return runs.map((runId) => series.get(runId) ?? { runId, key, total: 0, points: [] });
  }
  /** @inheritdoc */
  updateRun(id: string, input: UpdateRunInput): Promise<Run> {
    return this.runs.updateRun(id, input);
  }
  /** @inheritdoc */
  logMetrics(runId: string, points: MetricPoint[]): Promise<{ count: number }> {
    return this.runs.logMetrics(runId, points);
  }
  /** @inheritdoc */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    return this.runs.metricHistory(runId, key);
  }
  /** @inheritdoc */
  logParams(runId: string, params: Record<string, string | number | boolean>): Promise<Run> {
    return this.runs.logParams(runId, params);
  }
  /** @inheritdoc */
  setRunTags(runId: string, tags: Record<string, string>): Promise<Run> {
    return this.runs.setRunTags(runId, tags);
  }

  /** The store prefix of a run's artifacts. */
  private runPrefix(runId: string): string {
    return `runs/${runId}/artifacts/`;
  }

  /** @inheritdoc */
  async uploadRunArtifacts(runId: string, localPath: string, subPath = ''): Promise<ArtifactFile[]> {
    await this.runs.getRun(runId);
    const base = this.runPrefix(runId);
    const sub = directoryPrefix(normalizeRelativePath(subPath, { what: 'artifact path', allowEmpty: true, allowTrailingSlash: true }));
    if (await isFile(localPath)) {
      const name = localPath.split(/[\\/]/).pop()!;
      const info = await this.runArtifacts.put(base + sub + name, createReadStream(localPath));
      return [{ path: info.key.slice(base.length), key: info.key, size: info.size, sha256: info.sha256 }];
    }
    const infos = await this.runArtifacts.uploadDirectory(localPath, base + sub);
    return infos.map((i) => ({ path: i.key.slice(base.length), key: i.key, size: i.size, sha256: i.sha256 }));
  }

  /** @inheritdoc */
  async listRunArtifacts(runId: string): Promise<ArtifactFile[]> {
    await this.runs.getRun(runId);
    const base = this.runPrefix(runId);
    return (await this.runArtifacts.list(base)).map((i) => ({ path: i.key.slice(base.length), key: i.key, size: i.size, sha256: i.sha256 }));
  }

  /** @inheritdoc */
  async compareRuns(input: CompareRunsInput): Promise<Comparison> {
    if (!input || !Array.isArray(input.runs) || input.runs.some((r) => typeof r !== 'string')) {
      throw new CapstanError('CAPSTAN_REGISTRY_COMPARE_INVALID', 'runs must be a list of run ids');
    }
    const metrics = checkColumns(input.metrics, 'metrics');
    const params = checkColumns(input.params, 'params');
    const runs = input.runs.length ? await this.runs.getRuns([...new Set(input.runs)]) : [];
    return buildComparison(runs.map((r) => ({ id: r.id, metrics: r.metrics, params: r.params })), metrics, params);
  }
}
