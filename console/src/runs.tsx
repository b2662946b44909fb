import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError } from './api';
import { fmt } from './charts';
import { navigate } from './router';
import { MAX_COMPARE, type Run, type RunPage } from './run-types';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';
import { VirtualRows } from './virtual-rows';

const PAGE = 100;
const ROW_H = 28;
const STATUSES = ['', 'running', 'finished', 'failed', 'killed'];
const FIXED = [
  { sort: '', label: '', width: 32 },
  { sort: 'name', label: 'Name', width: 200 },
  { sort: '', label: 'Experiment', width: 130 },
  { sort: 'status', label: 'Status', width: 90 },
  { sort: 'startedAt', label: 'Started', width: 180 },
];
const KEY_W = 110;
const MAX_KEYS = 12;

interface Filters {
  experiment: string;
  status: string;
  name: string;
  sort: string;
  order: 'asc' | 'desc';
}

function readFilters(experiment?: string): Filters {
  const q = new URLSearchParams(window.location.search);
  return {
    experiment: experiment ?? q.get('experiment') ?? '',
    status: q.get('status') ?? '',
    name: q.get('name') ?? '',
    sort: q.get('sort') ?? 'startedAt',
    order: q.get('order') === 'asc' ? 'asc' : 'desc',
  };
}

function searchQuery(f: Filters): string {
  const q = new URLSearchParams();
  if (f.experiment) q.set('experiment', f.experiment);
  if (f.status) q.set('status', f.status);
  if (f.name) q.set('name', f.name);
  if (f.sort !== 'startedAt') q.set('sort', f.sort);
  if (f.order !== 'desc') q.set('order', f.order);
  return q.toString();
}

/** The runs of one experiment (`/experiments/:name`); a missing experiment shows the not-found view. */
export function ExperimentRuns({ name }: { name: string }) {
  const exp = useLoad(() => api<{ name: string; description: string }>('GET', `/api/v1/experiments/${encodeURIComponent(name)}`), [name]);
  if (exp.notFound || (exp.error instanceof ApiError && exp.error.code === 'CAPSTAN_NAME_INVALID')) return <NotFound what={`Experiment "${name}"`} />;
  if (exp.error) return <ErrorBox error={exp.error} />;
  if (!exp.data) return <Loading />;
  return <RunsTable experiment={name} description={exp.data.description} />;
}

/**
 * Runs across experiments (or of one) as a virtualized table: pages of 100 rows are fetched from the
 * server as they scroll into view, sorted and filtered there; params and latest metrics are columns;
 * ticked runs (up to 100) open the comparison view. Filters live in the URL, so the view deep-links.
 */
export function RunsTable({ experiment, description }: { experiment?: string; description?: string }) {
  const [filters, setFilters] = useState<Filters>(() => readFilters(experiment));
  const [nameInput, setNameInput] = useState(filters.name);
  const [pages, setPages] = useState<Map<number, Run[]>>(new Map());
  const [meta, setMeta] = useState<Omit<RunPage, 'runs' | 'offset'> | null>(null);
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState<string[]>([]);
  const pending = useRef(new Set<number>());
  const generation = useRef(0);
  const experiments = useLoad(() => api<{ name: string }[]>('GET', '/api/v1/experiments'), []);

  const query = searchQuery(filters);
  useEffect(() => {
    const path = window.location.pathname;
    const own = experiment ? searchQuery({ ...filters, experiment: '' }) : query;
    window.history.replaceState(null, '', own ? `${path}?${own}` : path);
  }, [query]);

  // The name filter applies a moment after typing stops, not per key.
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => (f.name === nameInput ? f : { ...f, name: nameInput })), 250);
    return () => clearTimeout(t);
  }, [nameInput]);

  const load = useCallback((page: number) => {
    if (pending.current.has(page)) return;
    pending.current.add(page);
    const gen = generation.current;
    api<RunPage>('GET', `/api/v1/runs/search?${query}${query ? '&' : ''}offset=${page * PAGE}&limit=${PAGE}`).then(
      (p) => {
        if (gen !== generation.current) return;
        setMeta({ total: p.total, paramKeys: p.paramKeys, metricKeys: p.metricKeys });
        setPages((m) => new Map(m).set(page, p.runs));
      },
      (e) => gen === generation.current && setError(e),
    );
  }, [query]);

  useEffect(() => {
    generation.current++;
    pending.current = new Set();
    setPages(new Map());
    setMeta(null);
    setError(undefined);
    load(0);
  }, [load]);

  const onRange = useCallback((first: number, last: number) => {
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) load(p);
  }, [load]);

  const paramKeys = meta?.paramKeys.slice(0, MAX_KEYS) ?? [];
  const metricKeys = meta?.metricKeys.slice(0, MAX_KEYS) ?? [];
  const columns = useMemo(
    () => [...FIXED, ...paramKeys.map((k) => ({ sort: `param:${k}`, label: k, width: KEY_W })), ...metricKeys.map((k) => ({ sort: `metric:${k}`, label: k, width: KEY_W }))],
    [paramKeys.join('\n'), metricKeys.join('\n')],
  );
  const grid = columns.map((c) => `${c.width}px`).join(' ');
  const width = columns.reduce((s, c) => s + c.width, 0);

  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= MAX_COMPARE ? s : [...s, id]));
  const sortBy = (sort: string) =>
    setFilters((f) => ({ ...f, sort, order: f.sort === sort && f.order === 'desc' ? 'asc' : 'desc' }));

  const row = (i: number) => {
    const r = pages.get(Math.floor(i / PAGE))?.[i % PAGE];
    if (!r) return <div className="vcells muted" style={{ gridTemplateColumns: grid }}>…</div>;
    return (
      <div className="vcells" style={{ gridTemplateColumns: grid }} data-testid="run-row" data-run={r.id}>
        <span><input type="checkbox" aria-label={`select ${r.name}`} data-testid="select-run" checked={selected.includes(r.id)} onChange={() => toggle(r.id)} /></span>
        <span><Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.name}</Link></span>
        <span>{r.experiment}</span>
        <span className={`state-${r.status}`}>{r.status}</span>
        <span>{r.startedAt.replace('T', ' ').slice(0, 19)}</span>
        {paramKeys.map((k) => <span key={`p${k}`}>{r.params[k] ?? ''}</span>)}
        {metricKeys.map((k) => <span key={`m${k}`} data-metric={k}>{k in r.metrics ? fmt(r.metrics[k]) : ''}</span>)}
      </div>
    );
  };

  return (
    <section>
      <h2>{experiment ? `Experiment ${experiment}` : 'Runs'}</h2>
      {description && <p data-testid="experiment-description">{description}</p>}
      <div className="filters">
        {!experiment && (
          <label>
            Experiment{' '}
            <select data-testid="filter-experiment" value={filters.experiment} onChange={(e) => setFilters((f) => ({ ...f, experiment: e.target.value }))}>
              <option value="">all</option>
              {(experiments.data ?? []).map((x) => <option key={x.name} value={x.name}>{x.name}</option>)}
            </select>
          </label>
        )}
        <label>
          Status{' '}
          <select data-testid="filter-status" value={filters.status} onChange={(e) => setFilters((f) => ({ ...f, status: e.target.value }))}>
            {STATUSES.map((s) => <option key={s} value={s}>{s || 'any'}</option>)}
          </select>
        </label>
        <label>
          Name <input data-testid="filter-name" value={nameInput} onChange={(e) => setNameInput(e.target.value)} placeholder="contains…" />
        </label>
        <span data-testid="runs-total">{meta ? `${meta.total} runs` : ''}</span>
        <button data-testid="compare-selected" disabled={selected.length === 0} onClick={() => navigate(`/compare?runs=${selected.map(encodeURIComponent).join(',')}`)}>
          Compare {selected.length > 0 ? `(${selected.length})` : ''}
        </button>
        {selected.length > 0 && <button onClick={() => setSelected([])}>Clear</button>}
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {!meta && error === undefined && <Loading />}
      {meta && (
        <div className="vtable" data-testid="runs-table">
          <div style={{ width }}>
            <div className="vcells vhead" style={{ gridTemplateColumns: grid }}>
              {columns.map((c, i) => (
                <span key={i} title={c.label}>
                  {c.sort ? (
                    <button className="sort" data-testid={`sort-${c.sort}`} onClick={() => sortBy(c.sort)}>
                      {c.label}
                      {filters.sort === c.sort ? (filters.order === 'desc' ? ' ▼' : ' ▲') : ''}
                    </button>
                  ) : (
                    c.label
                  )}
                </span>
              ))}
            </div>
            <VirtualRows count={meta.total} rowHeight={ROW_H} height={Math.min(560, Math.max(ROW_H, meta.total * ROW_H) + 2)} renderRow={row} onRange={onRange} testId="runs-scroll" />
          </div>
        </div>
      )}
    </section>
  );
}
