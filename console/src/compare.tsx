import { useEffect, useMemo, useState } from 'react';
import { api } from './api';
import { fmt } from './charts';
import { ParallelCoordinates } from './parallel-coordinates';
import { OverlayChart } from './run-charts';
import { MAX_COMPARE, runColor, type Run, type RunPage, type RunSeries } from './run-types';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

const CHART_POINTS = 300;
const DEFAULT_CHARTS = 4;

/** The run ids a comparison link names: `/compare?runs=a,b,c`. */
function idsFromUrl(): string[] {
  const raw = new URLSearchParams(window.location.search).get('runs') ?? '';
  return [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
}

/** `/compare?runs=…`: up to 100 runs side by side. */
export function CompareView() {
  const ids = idsFromUrl();
  if (ids.length === 0) {
    return (
      <section>
        <h2>Compare runs</h2>
        <p>No runs chosen: tick runs in the <Link to="/runs">runs table</Link> and press Compare.</p>
      </section>
    );
  }
  return <Comparison key={ids.join(',')} ids={ids.slice(0, MAX_COMPARE)} dropped={Math.max(0, ids.length - MAX_COMPARE)} />;
}

/** `/runs/:id`: one run's params, metrics and charts (a comparison of one). */
export function RunView({ id }: { id: string }) {
  return <Comparison ids={[id]} dropped={0} single />;
}

/**
 * Runs compared: each metric's series overlaid (cut on the server, one request per metric for all
 * runs), a table of params and latest metrics with the rows that differ marked, and parallel
 * coordinates over chosen params and a metric.
 */
function Comparison({ ids, dropped, single = false }: { ids: string[]; dropped: number; single?: boolean }) {
  const page = useLoad(() => api<RunPage>('GET', `/api/v1/runs/search?ids=${ids.map(encodeURIComponent).join(',')}&limit=${ids.length}`), [ids.join(',')]);
  if (page.error) return <ErrorBox error={page.error} />;
  if (!page.data) return <Loading />;
  const byId = new Map(page.data.runs.map((r) => [r.id, r]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) return <NotFound what={`Run "${missing[0]}"`} />;
  const runs = ids.map((id) => byId.get(id)!);
  return (
    <section>
      <h2 data-testid="compare-title">{single ? `Run ${runs[0].name}` : `Comparing ${runs.length} runs`}</h2>
      {single && (
        <p className="muted">
          experiment <Link to={`/experiments/${encodeURIComponent(runs[0].experiment)}`}>{runs[0].experiment}</Link> · {runs[0].status} · by {runs[0].createdBy} · started {runs[0].startedAt}
        </p>
      )}
      {dropped > 0 && <p className="error">Only the first {MAX_COMPARE} runs are compared; {dropped} left out.</p>}
      <RunCharts runs={runs} metricKeys={page.data.metricKeys} />
      <CompareTable runs={runs} paramKeys={page.data.paramKeys} metricKeys={page.data.metricKeys} />
      {!single && <ParallelPanel runs={runs} paramKeys={page.data.paramKeys} metricKeys={page.data.metricKeys} />}
    </section>
  );
}

function RunCharts({ runs, metricKeys }: { runs: Run[]; metricKeys: string[] }) {
  const [shown, setShown] = useState<string[]>(() => metricKeys.slice(0, DEFAULT_CHARTS));
  const [series, setSeries] = useState<Record<string, RunSeries[]>>({});
  const [error, setError] = useState<unknown>();
  const ids = runs.map((r) => encodeURIComponent(r.id)).join(',');
  useEffect(() => {
    let live = true;
    for (const key of shown) {
      if (series[key]) continue;
      api<RunSeries[]>('GET', `/api/v1/runs/metric-series?runs=${ids}&key=${encodeURIComponent(key)}&points=${CHART_POINTS}`).then(
        (s) => live && setSeries((m) => ({ ...m, [key]: s })),
        (e) => live && setError(e),
      );
    }
    return () => {
      live = false;
    };
  }, [shown.join('\n'), ids]);
  const drawn = shown.every((k) => series[k]);
  const names = new Map(runs.map((r, i) => [r.id, { label: r.name, i }]));
  return (
    <>
      {metricKeys.length > DEFAULT_CHARTS && (
        <div className="filters">
          Charts:
          {metricKeys.map((k) => (
            <label key={k}>
              <input type="checkbox" checked={shown.includes(k)} onChange={() => setShown((s) => (s.includes(k) ? s.filter((x) => x !== k) : [...s, k]))} /> {k}
            </label>
          ))}
        </div>
      )}
      {error !== undefined && <ErrorBox error={error} />}
      <div className="charts" data-testid="compare-charts" data-drawn={drawn ? 'true' : 'false'}>
        {shown.map((k) =>
          series[k] ? (
            <OverlayChart key={k} metric={k} lines={series[k].map((s) => ({ runId: s.runId, label: `${names.get(s.runId)?.label ?? s.runId} (${s.total} points)`, colorIndex: names.get(s.runId)?.i ?? 0, points: s.points }))} />
          ) : (
            <Loading key={k} />
          ),
        )}
      </div>
    </>
  );
}

/** True when the runs do not all have the same value (a missing value counts as different). */
function differs(values: (string | number | undefined)[]): boolean {
  return new Set(values.map((v) => (v === undefined ? '\u0000none' : String(v)))).size > 1;
}

function CompareTable({ runs, paramKeys, metricKeys }: { runs: Run[]; paramKeys: string[]; metricKeys: string[] }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const rows = [
    ...paramKeys.map((k) => ({ kind: 'param', key: k, values: runs.map((r) => r.params[k]) as (string | number | undefined)[] })),
    ...metricKeys.map((k) => ({ kind: 'metric', key: k, values: runs.map((r) => r.metrics[k]) as (string | number | undefined)[] })),
  ].map((r) => ({ ...r, differs: differs(r.values) }));
  return (
    <>
      <h3>Params and latest metrics</h3>
      {runs.length > 1 && (
        <label>
          <input type="checkbox" data-testid="only-differences" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> only rows that differ
        </label>
      )}
      <div className="wide">
        <table data-testid="compare-table" className="compare">
          <thead>
            <tr>
              <th />
              {runs.map((r, i) => (
                <th key={r.id} style={{ borderTop: `3px solid ${runColor(i)}` }}>
                  <Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.name}</Link>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.filter((r) => !onlyDiff || r.differs).map((r) => (
              <tr key={`${r.kind}:${r.key}`} className={r.differs && runs.length > 1 ? 'differs' : undefined} data-testid={`compare-row-${r.kind}-${r.key}`} data-differs={r.differs ? 'true' : 'false'}>
                <th>{r.kind} {r.key}</th>
                {r.values.map((v, i) => <td key={i}>{v === undefined ? '–' : typeof v === 'number' ? fmt(v) : v}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ParallelPanel({ runs, paramKeys, metricKeys }: { runs: Run[]; paramKeys: string[]; metricKeys: string[] }) {
  // By default the params that vary (at most six): constant ones would draw a flat, uninformative axis.
  const varying = useMemo(() => paramKeys.filter((k) => differs(runs.map((r) => r.params[k]))), [paramKeys, runs]);
  const [params, setParams] = useState<string[]>(() => (varying.length ? varying : paramKeys).slice(0, 6));
  const [metric, setMetric] = useState(metricKeys[0] ?? '');
  if (!metric) return null;
  const rows = runs.map((r) => ({ id: r.id, label: r.name, values: { ...Object.fromEntries(params.map((p) => [`p:${p}`, r.params[p]])), [`m:${metric}`]: r.metrics[metric] } }));
  return (
    <>
      <h3>Params against a metric</h3>
      <div className="filters">
        {paramKeys.map((k) => (
          <label key={k}>
            <input type="checkbox" data-testid={`pc-param-${k}`} checked={params.includes(k)} onChange={() => setParams((s) => (s.includes(k) ? s.filter((x) => x !== k) : [...s, k]))} /> {k}
          </label>
        ))}
        <label>
          metric{' '}
          <select data-testid="pc-metric" value={metric} onChange={(e) => setMetric(e.target.value)}>
            {metricKeys.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
      </div>
      <ParallelCoordinates params={params} metric={metric} rows={rows} />
    </>
  );
}
