// The shapes of the registry's run and audit answers, as the console reads them.

/** A tracked run with params and the latest value of each metric. */
export interface Run {
  id: string;
  experiment: string;
  name: string;
  status: 'running' | 'finished' | 'failed' | 'killed';
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  createdBy: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
}

/** One page of `GET /api/v1/runs/search`. */
export interface RunPage {
  runs: Run[];
  total: number;
  offset: number;
  paramKeys: string[];
  metricKeys: string[];
}

/** One run's metric from `GET /api/v1/runs/metric-series`, already cut on the server. */
export interface RunSeries {
  runId: string;
  key: string;
  total: number;
  points: [number, number][];
}

/** One registry audit event. */
export interface AuditEvent {
  id: string;
  model: string;
  version: number | null;
  action: string;
  actor: string;
  from: string | null;
  to: string | null;
  alias: string | null;
  comment: string;
  at: string;
}

/** The most runs the comparison view takes (the metric-series endpoint's limit). */
export const MAX_COMPARE = 100;

/** A stable colour per position, spread around the hue circle so 100 runs stay apart. */
export function runColor(i: number): string {
  return `hsl(${Math.round((i * 137.508) % 360)}, 65%, 45%)`;
}
