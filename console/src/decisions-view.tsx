import { useState, type FormEvent } from 'react';
import { api } from './api';
import { JdmGraph, type JdmGraphContent } from './jdm-graph';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

interface UseCase {
  name: string;
  latestVersion: number;
  activeVersion: number | null;
  challengerVersion: number | null;
}

interface TaskRecord {
  name: string;
  type: string;
  status: string;
  output: unknown;
  attempts: number;
  startMs?: number;
  latencyMs: number;
  error?: { code: string; message: string };
}

interface DecisionRecord {
  id: string;
  usecase: string;
  version: number;
  role: string;
  subject: string | null;
  status: string;
  outcome: string | null;
  reasons: string[];
  output: Record<string, unknown>;
  latencyMs: number;
  time: string;
  snapshot: {
    input: Record<string, unknown>;
    thresholds: Record<string, unknown>;
    tasks: TaskRecord[];
    rules: { engine: 'cel' | 'jdm'; trace: Record<string, unknown>[] } | null;
    error?: { code: string; message: string };
  };
}

/** Compact JSON of any value, as text. */
function json(v: unknown, max = 160): string {
  const s = JSON.stringify(v) ?? '';
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

const FILTERS = ['usecase', 'outcome', 'status', 'role', 'subject', 'since', 'until'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** Use cases (each linking to its replay page) and decision records searched by filters, a page at a time. */
export function DecisionsView() {
  const cases = useLoad(() => api<{ items: UseCase[] }>('GET', '/api/v1/decisions/usecases'), []);
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const before = pages[pages.length - 1];
  const query = new URLSearchParams({ limit: '50' });
  for (const k of FILTERS) if (filters[k]) query.set(k, filters[k]!);
  if (before) query.set('before', before);
  const records = useLoad(() => api<{ items: DecisionRecord[] }>('GET', `/api/v1/decisions?${query}`), [query.toString()]);
  if (cases.error) return <ErrorBox error={cases.error} />;
  if (!cases.data) return <Loading />;
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
    setPages([undefined]);
  };
  const items = records.data?.items ?? [];
  return (
    <section>
      <h2>Decision use cases</h2>
      <table data-testid="usecases">
        <thead>
          <tr><th>Use case</th><th>Latest</th><th>Active</th><th>Challenger</th></tr>
        </thead>
        <tbody>
          {cases.data.items.map((u) => (
            <tr key={u.name}>
              <td><Link to={`/decisions/usecases/${encodeURIComponent(u.name)}`}>{u.name}</Link></td>
              <td>{u.latestVersion}</td>
              <td>{u.activeVersion ?? '–'}</td>
              <td>{u.challengerVersion ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Decision records</h3>
      <form onSubmit={apply} data-testid="decision-filters" className="card">
        {FILTERS.map((k) => (
          <label key={k}>
            {k}{' '}
            {k === 'usecase' ? (
              <select data-testid={`filter-${k}`} value={draft[k] ?? ''} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}>
                <option value="">any</option>
                {cases.data!.items.map((u) => <option key={u.name} value={u.name}>{u.name}</option>)}
              </select>
            ) : k === 'status' || k === 'role' ? (
              <select data-testid={`filter-${k}`} value={draft[k] ?? ''} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}>
                <option value="">any</option>
                {(k === 'status' ? ['ok', 'error'] : ['champion', 'challenger']).map((o) => <option key={o} value={o}>{o}</option>)}
              </select>
            ) : (
              <input data-testid={`filter-${k}`} size={k === 'since' || k === 'until' ? 22 : 10} placeholder={k === 'since' || k === 'until' ? 'ISO time' : ''} value={draft[k] ?? ''} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} />
            )}{' '}
          </label>
        ))}
        <button type="submit" data-testid="filter-apply">Search</button>
      </form>
      {records.error !== undefined && <ErrorBox error={records.error} />}
      <table data-testid="decision-records">
        <thead>
          <tr><th>Id</th><th>Time</th><th>Use case</th><th>Version</th><th>Role</th><th>Subject</th><th>Status</th><th>Outcome</th><th>Reasons</th></tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id}>
              <td><Link to={`/decisions/${encodeURIComponent(r.id)}`} testId="decision-link">{r.id}</Link></td>
              <td>{r.time}</td>
              <td>{r.usecase}</td>
              <td>{r.version}</td>
              <td>{r.role}</td>
              <td>{r.subject ?? ''}</td>
              <td>{r.status}</td>
              <td>{r.outcome ?? ''}</td>
              <td>{r.reasons.join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pages.length > 1 && <button onClick={() => setPages(pages.slice(0, -1))}>Newer</button>}
      {items.length === 50 && <button onClick={() => setPages([...pages, items[items.length - 1].id])}>Older</button>}
    </section>
  );
}

/** One decision record: outcome, its task results, the rule trace, and the JDM graph with the path taken when the use case has one. */
export function DecisionRecordView({ id }: { id: string }) {
  const rec = useLoad(() => api<DecisionRecord>('GET', `/api/v1/decisions/records/${encodeURIComponent(id)}`), [id]);
  const def = useLoad(
    () => (rec.data ? api<{ definition: { rules?: { engine: string; graph?: JdmGraphContent } } }>('GET', `/api/v1/decisions/usecases/${encodeURIComponent(rec.data.usecase)}?version=${rec.data.version}`) : Promise.resolve(undefined)),
    [rec.data?.usecase, rec.data?.version],
  );
  if (rec.notFound) return <NotFound what={`Decision record "${id}"`} />;
  if (rec.error) return <ErrorBox error={rec.error} />;
  if (!rec.data) return <Loading />;
  const r = rec.data;
  const rules = r.snapshot.rules;
  const graph = def.data?.definition.rules?.engine === 'jdm' ? def.data.definition.rules.graph : undefined;
  const taken = new Set((rules?.trace ?? []).map((t) => String(t.id ?? '')));
  return (
    <section>
      <p><Link to="/decisions">← Decisions</Link></p>
      <h2>Decision {r.id}</h2>
      <p>
        <Link to={`/decisions/usecases/${encodeURIComponent(r.usecase)}`}>{r.usecase}</Link> v{r.version} · {r.role} · {r.time} · subject {r.subject ?? '–'} · {r.latencyMs} ms
      </p>
      <p>
        Status {r.status} · outcome <strong data-testid="decision-outcome">{r.outcome ?? '–'}</strong>
        {r.reasons.length > 0 && <> · reasons: {r.reasons.join('; ')}</>}
      </p>
      {r.snapshot.error && <p className="error">{r.snapshot.error.code}: {r.snapshot.error.message}</p>}
      <h3>Input</h3>
      <pre className="card">{JSON.stringify(r.snapshot.input, null, 2)}</pre>
      <h3>Tasks</h3>
      <table data-testid="decision-tasks">
        <thead>
          <tr><th>Task</th><th>Type</th><th>Status</th><th>Start ms</th><th>Latency ms</th><th>Attempts</th><th>Output</th></tr>
        </thead>
        <tbody>
          {r.snapshot.tasks.map((t) => (
            <tr key={t.name} className={t.status === 'ok' ? undefined : 'state-failed'}>
              <td>{t.name}</td>
              <td>{t.type}</td>
              <td>{t.status}{t.error ? ` (${t.error.code}: ${t.error.message})` : ''}</td>
              <td>{t.startMs ?? ''}</td>
              <td>{t.latencyMs}</td>
              <td>{t.attempts}</td>
              <td><code>{json(t.output)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Rule trace ({rules?.engine ?? 'none'})</h3>
      {rules === null ? (
        <p className="muted">The rules did not run.</p>
      ) : rules.engine === 'cel' ? (
        <table data-testid="rule-trace">
          <thead>
            <tr><th>Rule</th><th>When</th><th>Matched</th></tr>
          </thead>
          <tbody>
            {rules.trace.map((t, i) => (
              <tr key={i} className={t.matched ? 'state-succeeded' : undefined}>
                <td>{String(t.rule)}</td>
                <td><code>{String(t.when)}</code></td>
                <td>{t.matched ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <>
          <table data-testid="rule-trace">
            <thead>
              <tr><th>Node</th><th>Output</th><th>Fired</th></tr>
            </thead>
            <tbody>
              {rules.trace.map((t, i) => (
                <tr key={i}>
                  <td>{String(t.node ?? t.id)}</td>
                  <td><code>{t.output === undefined ? '' : json(t.output)}</code></td>
                  <td><code>{t.fired === undefined ? '' : json(t.fired)}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
          {graph && <JdmGraph graph={graph} taken={taken} />}
        </>
      )}
      <h3>Output</h3>
      <pre className="card">{JSON.stringify(r.output, null, 2)}</pre>
    </section>
  );
}
