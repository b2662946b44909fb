import { useEffect, useState } from 'react';
import { api, can, type Session } from './api';
import { BarChart } from './charts';
import { CaptureSamples, LiveTraffic, RolloutList, TryIt } from './endpoint-ops';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

interface Variant {
  name: string;
  model?: string;
  weight?: number;
  [k: string]: unknown;
}

interface Endpoint {
  name: string;
  status: string;
  variants: Variant[];
  [k: string]: unknown;
}

interface Stats {
  variants: { variant: string; requests: number; errors5xx: number; errorRate: number; latencyMs: { p50: number; p95: number; p99: number } | null }[];
}

/** Endpoints. */
export function EndpointList() {
  const { data, error } = useLoad(() => api<{ items: Endpoint[] }>('GET', '/api/v1/endpoints'), []);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  return (
    <section>
      <h2>Endpoints</h2>
      <table data-testid="endpoints">
        <thead>
          <tr><th>Name</th><th>Status</th><th>Variants</th></tr>
        </thead>
        <tbody>
          {data.items.map((e) => (
            <tr key={e.name}>
              <td><Link to={`/endpoints/${encodeURIComponent(e.name)}`}>{e.name}</Link></td>
              <td>{e.status}</td>
              <td>{(e.variants ?? []).map((v) => v.name).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One endpoint: variants with weights (editors may shift them) and per-variant traffic. */
export function EndpointDetail({ name, session }: { name: string; session: Session }) {
  const ep = useLoad(() => api<Endpoint>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}`), [name]);
  const stats = useLoad(() => api<Stats>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}/stats`), [name]);
  const [weights, setWeights] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (ep.data) setWeights(Object.fromEntries(ep.data.variants.map((v) => [v.name, String(v.weight ?? 0)])));
  }, [ep.data]);
  if (ep.notFound) return <NotFound what={`Endpoint "${name}"`} />;
  if (ep.error) return <ErrorBox error={ep.error} />;
  if (!ep.data) return <Loading />;
  const save = async () => {
    setError(undefined);
    setSaved(false);
    try {
      await api('PATCH', `/api/v1/endpoints/${encodeURIComponent(name)}`, { weights: Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, Number(v)])) });
      setSaved(true);
      ep.reload();
    } catch (e) {
      setError(e);
    }
  };
  const editable = can(session, 'editor');
  return (
    <section>
      <h2>{ep.data.name}</h2>
      <p>Status: <span data-testid="endpoint-status">{ep.data.status}</span></p>
      <table data-testid="variants">
        <thead>
          <tr><th>Variant</th><th>Model</th><th>Weight</th></tr>
        </thead>
        <tbody>
          {ep.data.variants.map((v) => (
            <tr key={v.name}>
              <td>{v.name}</td>
              <td>{String(v.model ?? '')}</td>
              <td>
                {editable ? (
                  <input data-testid={`weight-${v.name}`} type="number" min="0" step="any" value={weights[v.name] ?? ''} onChange={(e) => setWeights({ ...weights, [v.name]: e.target.value })} />
                ) : (
                  <span data-testid={`weight-${v.name}`}>{v.weight}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editable && <button data-testid="save-weights" onClick={save}>Shift weights</button>}
      {saved && <span data-testid="weights-saved"> Saved.</span>}
      {error !== undefined && <ErrorBox error={error} />}
      <h3>Traffic (last 5 minutes)</h3>
      {stats.data && (
        <div className="charts">
          <BarChart title="requests" values={stats.data.variants.map((v) => ({ label: v.variant, value: v.requests }))} />
          <BarChart title="error rate" values={stats.data.variants.map((v) => ({ label: v.variant, value: v.errorRate }))} />
          <BarChart title="p95 latency ms" values={stats.data.variants.map((v) => ({ label: v.variant, value: v.latencyMs?.p95 ?? 0 }))} />
        </div>
      )}
      <h3>Live traffic (last minute, refreshed every 3 s)</h3>
      <LiveTraffic name={name} variants={ep.data.variants.map((v) => v.name)} />
      <TryIt name={name} variants={ep.data.variants.map((v) => v.name)} session={session} />
      <RolloutList name={name} />
      <CaptureSamples name={name} />
    </section>
  );
}
