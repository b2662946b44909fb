import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import type { MetricPoint, Run, RunStatus } from '../../registry/index.js';
import { allOptions, integerOption, keyValues, printResult, table, withService } from '../cli-context.js';
import { comparisonText } from '../comparison-text.js';
import type { CommandModule } from './index.js';
import { list, registryAccess as access } from './models-command.js';

const STATUSES: RunStatus[] = ['running', 'finished', 'failed', 'killed'];

function parseStatus(v: string): RunStatus {
  if (!(STATUSES as string[]).includes(v)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(v)}`);
  return v as RunStatus;
}

/** Latest metric values, rounded for a table. */
const rounded = (m: Record<string, number>) => keyValues(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toFixed(4))])));

function runText(r: Run): string {
  const rows: [string, unknown][] = [
    ['id', r.id], ['experiment', r.experiment], ['name', r.name], ['status', r.status], ['started', r.startedAt], ['ended', r.endedAt],
    ['duration', r.durationMs == null ? null : `${(r.durationMs / 1000).toFixed(1)}s`], ['created by', r.createdBy],
    ['pipeline', r.pipelineExecutionId ? `${r.pipelineExecutionId} step ${r.pipelineStep}` : null], ['artifacts', r.artifactUri],
    ['metrics', rounded(r.metrics)], ['params', keyValues(r.params)], ['tags', keyValues(r.tags)],
  ];
  return rows.filter(([, v]) => v != null && v !== '').map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`).join('\n');
}

/**
 * A metric's history as one bar per point (at most `rows`, evenly sampled, the last always kept): the
 * shape of a training curve is quicker to read than its numbers.
 */
export function metricChart(points: MetricPoint[], rows = 40, width = 40): string {
  if (points.length === 0) return '(no points)';
  const picked = points.length <= rows ? points : Array.from({ length: rows }, (_, i) => points[Math.round((i * (points.length - 1)) / (rows - 1))]);
  const values = picked.map((p) => p.value);
  const lo = Math.min(0, ...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const label = Math.max(4, ...picked.map((p) => String(p.step ?? 0).length));
  const lines = picked.map((p) => `${String(p.step ?? 0).padStart(label)} ${'█'.repeat(Math.max(1, Math.round(((p.value - lo) / span) * width))).padEnd(width)} ${Number(p.value.toFixed(6))}`);
  return [`${'step'.padStart(label)} ${points[0].key} (${points.length} points${points.length > rows ? `, ${rows} shown` : ''})`, ...lines].join('\n');
}

/** `capstan experiments list` and `capstan runs list|show|metric|compare`: experiment tracking, embedded or through `--url`. */
export const runsCommand: CommandModule = (program: Command) => {
  program
    .command('experiments')
    .description('experiments: named sets of runs')
    .command('list')
    .description('list experiments')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const experiments = await withService(cmd, access, (s) => s.listExperiments());
      printResult(cmd, experiments, () => table(experiments.map((e) => ({ name: e.name, description: e.description, created: e.createdAt }))));
    });

  const runs = program.command('runs').description('tracked runs: params, metrics over time, artifacts, comparison');

  runs
    .command('list')
    .description('list runs, newest first')
    .option('--experiment <name>', 'only this experiment')
    .option('--status <status>', `only runs in this status (${STATUSES.join(', ')})`, parseStatus)
    .option('--limit <n>', 'at most this many, 1-1000; default 100', integerOption('--limit', 1, 1000))
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = allOptions<{ experiment?: string; status?: RunStatus; limit?: number }>(cmd);
      const found = await withService(cmd, access, (s) => s.listRuns({ experiment: o.experiment, status: o.status, limit: o.limit }));
      printResult(cmd, found, () =>
        table(found.map((r) => ({ id: r.id, experiment: r.experiment, name: r.name, status: r.status, started: r.startedAt, duration: r.durationMs == null ? '' : `${(r.durationMs / 1000).toFixed(1)}s`, metrics: rounded(r.metrics) }))),
      );
    });

  runs
    .command('show <id>')
    .description('show a run with its params, latest metrics, tags and where it came from')
    .option('--json', 'print JSON')
    .action(async (id: string, _o, cmd: Command) => {
      const run = await withService(cmd, access, (s) => s.getRun(id));
      printResult(cmd, run, () => runText(run));
    });

  runs
    .command('metric <id> <key>')
    .description("a metric's history, drawn as a bar per step")
    .option('--json', 'print JSON')
    .action(async (id: string, key: string, _o, cmd: Command) => {
      const points = await withService(cmd, access, (s) => s.metricHistory(id, key));
      printResult(cmd, points, () => metricChart(points));
    });

  runs
    .command('compare <ids...>')
    .description('compare metrics and params across runs (a table, and bars on a terminal)')
    .option('--metrics <list>', 'comma-separated metrics; default all', list)
    .option('--params <list>', 'comma-separated params; default the ones that differ', list)
    .option('--json', 'print JSON')
    .action(async (ids: string[], _o, cmd: Command) => {
      const o = allOptions<{ metrics?: string[]; params?: string[] }>(cmd);
      const c = await withService(cmd, access, (s) => s.compareRuns({ runs: ids, metrics: o.metrics, params: o.params }));
      printResult(cmd, c, () => comparisonText(c, Boolean(process.stdout.isTTY), o.params !== undefined));
    });
};
