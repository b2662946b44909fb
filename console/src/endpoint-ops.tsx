import { useEffect, useState, type FormEvent } from 'react';
import { api, can, rawCall, type Session } from './api';
import { LineChart, type Series } from './charts';
import { ErrorBox, Link, Loading } from './ui';
import { useLoad } from './use-load';

interface VariantStat {
  variant: string;
  requests: number;
  errors5xx: number;
  errorRate: number;
  latencyMs: { p50: number; p95: number; p99: number } | null;
}

/** How many polls of the statistics the live charts keep (one a few seconds). */
const KEEP = 60;

/** Live per-variant requests, error rate and p95 latency: the last minute's window polled every few seconds, drawn over time. */
export function LiveTraffic({ name, variants }: { name: string; variants: string[] }) {
  const [samples, setSamples] = useState<{ t: number; stats: VariantStat[] }[]>([]);
  useEffect(() => {
    let live = true;
    const poll = () =>
      api<{ variants: VariantStat[] }>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}/stats?windowMs=60000`).then(
        (s) => live && setSamples((xs) => [...xs, { t: Date.now(), stats: s.variants }].slice(-KEEP)),
        () => {},
      );
    void poll();
    const timer = setInterval(poll, 3000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [name]);
  if (samples.length === 0) return <Loading />;
  const t0 = samples[0].t;
  const series = (pick: (v: VariantStat) => number): Series[] =>
    variants.map((variant) => ({ name: variant, points: samples.map((s) => [(s.t - t0) / 1000, pick(s.stats.find((v) => v.variant === variant) ?? ({} as VariantStat)) || 0] as [number, number]) }));
  return (
    <div className="charts" data-testid="live-traffic">
      <LineChart title="requests per minute" series={series((v) => v.requests)} />
      <LineChart title="error rate" series={series((v) => v.errorRate)} />
      <LineChart title="p95 latency ms" series={series((v) => v.latencyMs?.p95 ?? 0)} />
    </div>
  );
}

/** The "try it" form: a JSON body sent to the endpoint (optionally one variant) through the session; shows status, variant, latency and the answer. */
export function TryIt({ name, variants, session }: { name: string; variants: string[]; session: Session }) {
  const [body, setBody] = useState('{}');
  const [target, setTarget] = useState('');
  const [result, setResult] = useState<{ status: number; variant: string; ms: number; text: string } | null>(null);
  const [error, setError] = useState<unknown>();
  if (!can(session, 'invoker')) return null;
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setResult(null);
    try {
      JSON.parse(body);
    } catch (err) {
      setError(new Error(`The body is not valid JSON: ${(err as Error).message}`));
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (target) headers['x-capstan-target-variant'] = target;
    const started = performance.now();
    try {
      const res = await rawCall('POST', `/endpoints/${encodeURIComponent(name)}/invocations`, body, headers);
      setResult({ status: res.status, variant: res.headers.get('x-capstan-invoked-variant') ?? '', ms: performance.now() - started, text: pretty(res.text) });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" onSubmit={send} data-testid="try-it">
      <h3>Try it</h3>
      <label>
        Body (JSON)
        <br />
        <textarea data-testid="try-body" rows={4} cols={60} value={body} onChange={(e) => setBody(e.target.value)} />
      </label>
      <br />
      <label>
        Variant{' '}
        <select data-testid="try-variant" value={target} onChange={(e) => setTarget(e.target.value)}>
          <option value="">by weight</option>
          {variants.map((v) => (
            <option key={v} value={v}>{v}</option>
          ))}
        </select>
      </label>{' '}
      <button type="submit" data-testid="try-send">Invoke</button>
      {error !== undefined && <ErrorBox error={error} />}
      {result && (
        <div data-testid="try-result">
          <p>
            Status <strong data-testid="try-status">{result.status}</strong> · variant <span data-testid="try-invoked">{result.variant || '–'}</span> · <span data-testid="try-latency">{result.ms.toFixed(0)} ms</span>
          </p>
          <pre data-testid="try-response">{result.text}</pre>
        </div>
      )}
    </form>
  );
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

interface Sample {
  time: string;
  variant: string;
  inferenceId?: string;
  status: number;
  request: string;
  response: string;
  shadowOf?: string;
}

/** Recent captured request/response pairs, a page at a time (newer pages first); refreshable. */
export function CaptureSamples({ name }: { name: string }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () => api<{ items: Sample[]; nextCursor: string | null }>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}/data-capture?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    [name, cursor],
  );
  return (
    <section data-testid="capture">
      <h3>Data capture samples</h3>
      <button data-testid="capture-refresh" onClick={() => (cursors.length === 1 ? page.reload() : setCursors([undefined]))}>Refresh</button>
      {page.error !== undefined && <ErrorBox error={page.error} />}
      {!page.data ? (
        <Loading />
      ) : page.data.items.length === 0 ? (
        <p className="muted" data-testid="capture-empty">No captured invocations (data capture off, or nothing written yet).</p>
      ) : (
        <table data-testid="capture-samples">
          <thead>
            <tr><th>Time</th><th>Variant</th><th>Status</th><th>Request</th><th>Response</th></tr>
          </thead>
          <tbody>
            {page.data.items.map((s, i) => (
              <tr key={`${s.time}-${i}`} data-testid="capture-sample">
                <td>{s.time}</td>
                <td>{s.variant}{s.shadowOf ? ` (shadow of ${s.shadowOf})` : ''}</td>
                <td>{s.status}</td>
                <td><code>{s.request.slice(0, 200)}</code></td>
                <td><code>{s.response.slice(0, 200)}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursors.length > 1 && <button onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>}
      {page.data?.nextCursor && <button data-testid="capture-older" onClick={() => setCursors([...cursors, page.data!.nextCursor!])}>Older</button>}
    </section>
  );
}

/** The endpoint's deployments, newest first, each linking to its traffic chart. */
export function RolloutList({ name }: { name: string }) {
  const list = useLoad(() => api<{ items: { id: string; status: string; phase: string; greenPercent: number; startedAt: string; finishedAt?: string; policy: { strategy: string } }[] }>('GET', `/api/v1/endpoints/${encodeURIComponent(name)}/deployments`), [name]);
  if (list.error) return <ErrorBox error={list.error} />;
  if (!list.data) return <Loading />;
  return (
    <section>
      <h3>Rollouts</h3>
      {list.data.items.length === 0 ? (
        <p className="muted">No deployments yet.</p>
      ) : (
        <table data-testid="rollouts">
          <thead>
            <tr><th>Started</th><th>Strategy</th><th>Status</th><th>Green %</th><th>Finished</th></tr>
          </thead>
          <tbody>
            {list.data.items.map((d) => (
              <tr key={d.id}>
                <td><Link to={`/endpoints/${encodeURIComponent(name)}/rollouts/${encodeURIComponent(d.id)}`} testId="rollout-link">{d.startedAt}</Link></td>
                <td>{d.policy.strategy}</td>
                <td>{d.status}</td>
                <td>{d.greenPercent}</td>
                <td>{d.finishedAt ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
