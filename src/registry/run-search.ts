import { CapstanError } from '../core/errors.js';
import type { Run, RunStatus } from './registry-service.js';
import { assertKey } from './run-inputs.js';

/** Most runs one search page returns. */
export const MAX_RUN_PAGE = 500;
/** Most runs one metric-series request covers (the console's comparison limit). */
export const MAX_SERIES_RUNS = 100;

/**
 * A page of runs for a table: filtered by experiment, status and a name fragment, sorted by start
 * time, name, status, a metric's latest value or a param (`metric:<key>`, `param:<key>`; runs
 * without it come last), paged by offset so a virtualized table can fetch any window.
 */
export interface RunSearch {
  /** Only these runs (at most 500 ids), e.g. the ones a comparison names. */
  ids?: string[];
  experiment?: string;
  status?: RunStatus;
  /** Case-insensitive fragment of the run name. */
  name?: string;
  /** `startedAt` (default), `name`, `status`, `metric:<key>` or `param:<key>` (params sort as text). */
  sort?: string;
  /** Default `desc`. */
  order?: 'asc' | 'desc';
  /** Rows to skip; default 0. */
  offset?: number;
  /** Rows to return; default 100, at most 500. */
  limit?: number;
}

/** One page of a run search, with the total and every param and metric key of the matching runs (the table's columns). */
export interface RunPage {
  runs: Run[];
  total: number;
  offset: number;
  paramKeys: string[];
  metricKeys: string[];
}

/** Input for `metricSeries`: one metric of up to 100 runs, each cut to `points` points. */
export interface MetricSeriesInput {
  runs: string[];
  key: string;
  /** Most points per run (each bucket keeps its lowest and highest point); default 400, 2-5000. */
  points?: number;
}

/** One run's series of a metric as [step, value] points, downsampled; `total` is how many points were logged. */
export interface RunMetricSeries {
  runId: string;
  key: string;
  total: number;
  points: [number, number][];
}

/** A sort order checked and split into its field and key. */
export interface RunSort {
  field: 'startedAt' | 'name' | 'status' | 'metric' | 'param';
  key?: string;
  desc: boolean;
}

function invalid(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_REQUEST_INVALID', detail);
}

function intIn(value: unknown, what: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw invalid(`${what} must be an integer between ${min} and ${max}`);
  return value;
}

/** Checks a search's paging and sort; answers the sort, offset and limit to use. */
export function checkRunSearch(search: RunSearch): { sort: RunSort; offset: number; limit: number } {
  const offset = intIn(search.offset, 'offset', 0, 10_000_000, 0);
  const limit = intIn(search.limit, 'limit', 1, MAX_RUN_PAGE, 100);
  if (search.order !== undefined && search.order !== 'asc' && search.order !== 'desc') throw invalid('order must be asc or desc');
  if (search.ids !== undefined && (!Array.isArray(search.ids) || search.ids.length > MAX_RUN_PAGE || search.ids.some((r) => typeof r !== 'string' || r.length > 100))) throw invalid(`ids must be a list of at most ${MAX_RUN_PAGE} run ids`);
  if (search.name !== undefined && (typeof search.name !== 'string' || search.name.length > 200)) throw invalid('name must be text of at most 200 characters');
  const desc = search.order !== 'asc';
  const s = search.sort ?? 'startedAt';
  if (s === 'startedAt' || s === 'name' || s === 'status') return { sort: { field: s, desc }, offset, limit };
  const m = /^(metric|param):(.*)$/.exec(typeof s === 'string' ? s : '');
  if (!m) throw invalid(`sort must be startedAt, name, status, metric:<key> or param:<key>, not ${JSON.stringify(String(s).slice(0, 80))}`);
  return { sort: { field: m[1] as 'metric' | 'param', key: assertKey(m[2], m[1]), desc }, offset, limit };
}

/** Checks a metric-series request; answers the distinct run ids, key and points per run. */
export function checkMetricSeries(input: MetricSeriesInput): { runs: string[]; key: string; points: number } {
  if (!input || !Array.isArray(input.runs) || input.runs.some((r) => typeof r !== 'string' || r.length === 0 || r.length > 100)) throw invalid('runs must be a list of run ids');
  const runs = [...new Set(input.runs)];
  if (runs.length === 0 || runs.length > MAX_SERIES_RUNS) throw invalid(`runs must name 1 to ${MAX_SERIES_RUNS} runs`);
  return { runs, key: assertKey(input.key, 'metric'), points: intIn(input.points, 'points', 2, 5000, 400) };
}
