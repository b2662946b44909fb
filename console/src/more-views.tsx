import { api } from './api';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

type Row = Record<string, unknown>;

/** A cell as text: scalars as they are, objects as compact JSON (never as HTML). */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v).slice(0, 120);
  return String(v);
}

/** A table of the given columns of each row. */
function Table({ rows, columns, testId, link }: { rows: Row[]; columns: string[]; testId: string; link?: (r: Row) => string }) {
  return (
    <table data-testid={testId}>
      <thead>
        <tr>{columns.map((c) => <th key={c}>{c}</th>)}</tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {columns.map((c, j) => (
              <td key={c}>{j === 0 && link ? <Link to={link(r)}>{cell(r[c])}</Link> : cell(r[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Feature group versions: names, entities, schemas and freshness settings. */
export function FeatureGroups() {
  const { data, error } = useLoad(() => api<{ items: Row[] }>('GET', '/api/v1/feature-groups'), []);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  const columns = ['name', 'version', 'entity', 'features', 'ttl', 'createdAt'].filter((c) => data.items.some((r) => c in r));
  return (
    <section>
      <h2>Feature groups</h2>
      <Table rows={data.items} columns={columns.length ? columns : ['name']} testId="feature-groups" />
    </section>
  );
}

/** Decision use cases and the latest decision records. */
export function Decisions() {
  const cases = useLoad(() => api<{ items: Row[] }>('GET', '/api/v1/decisions/usecases'), []);
  const records = useLoad(() => api<{ items: Row[] }>('GET', '/api/v1/decisions?limit=50'), []);
  if (cases.error) return <ErrorBox error={cases.error} />;
  if (!cases.data) return <Loading />;
  const recs = records.data?.items ?? [];
  return (
    <section>
      <h2>Decision use cases</h2>
      <Table rows={cases.data.items} columns={['name', 'latestVersion', 'activeVersion', 'challengerVersion'].filter((c) => cases.data!.items.some((r) => c in r)).concat(cases.data.items.length ? [] : ['name'])} testId="usecases" />
      <h3>Recent decisions</h3>
      <Table rows={recs} columns={['id', 'useCase', 'version', 'createdAt', 'output'].filter((c) => recs.some((r) => c in r)).concat(recs.length ? [] : ['id'])} testId="decision-records" link={(r) => `/decisions/${encodeURIComponent(String(r.id))}`} />
    </section>
  );
}

/** One decision record with its inputs, output and rule trace. */
export function DecisionRecord({ id }: { id: string }) {
  const { data, error, notFound } = useLoad(() => api<Row>('GET', `/api/v1/decisions/records/${encodeURIComponent(id)}`), [id]);
  if (notFound) return <NotFound what={`Decision record "${id}"`} />;
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  return (
    <section>
      <h2>Decision {id}</h2>
      <pre data-testid="decision-record">{JSON.stringify(data, null, 2)}</pre>
    </section>
  );
}
