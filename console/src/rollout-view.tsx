import { api } from './api';
import { fmt } from './charts';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

interface Step {
  at: string;
  phase: string;
  greenPercent: number;
  note?: string;
}

interface Evaluation {
  at: string;
  alarm: string;
  fired: boolean | null;
  value?: number;
  threshold?: number;
  green: { requests: number; errorRate: number; p99: number };
  blue: { requests: number; errorRate: number; p99: number };
}

interface Deployment {
  id: string;
  endpoint: string;
  status: string;
  phase: string;
  policy: { strategy: string; [k: string]: unknown };
  greenPercent: number;
  startedAt: string;
  finishedAt?: string;
  actor: string;
  steps: Step[];
  evaluations: Evaluation[];
  alarm?: { alarm: string; at: string };
  reason?: string;
  blue: { name: string; model?: string }[];
  green: { name: string; model?: string }[];
}

/** Green's traffic share as a step line over time, with a marker for every alarm evaluation that fired. */
export function TrafficShareChart({ deployment, width = 640, height = 220 }: { deployment: Deployment; width?: number; height?: number }) {
  const steps = deployment.steps;
  if (steps.length === 0) return <p className="muted">No steps yet.</p>;
  const t = (iso: string) => Date.parse(iso);
  const x0 = t(deployment.startedAt);
  const fired = deployment.evaluations.filter((e) => e.fired === true);
  const x1 = Math.max(t(deployment.finishedAt ?? steps[steps.length - 1].at), ...steps.map((s) => t(s.at)), ...fired.map((e) => t(e.at)), x0 + 1000);
  const pad = 36;
  const sx = (ms: number) => pad + ((ms - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (pct: number) => height - pad - (pct / 100) * (height - 2 * pad);
  // A step holds its share until the next one: the line goes across, then up or down.
  const points: string[] = [];
  let prev = 0;
  points.push(`${sx(x0)},${sy(0)}`);
  for (const s of steps) {
    points.push(`${sx(t(s.at))},${sy(prev)}`, `${sx(t(s.at))},${sy(s.greenPercent)}`);
    prev = s.greenPercent;
  }
  points.push(`${sx(x1)},${sy(prev)}`);
  return (
    <figure className="chart" data-testid="traffic-chart">
      <figcaption>Green traffic share (%) over time · {((x1 - x0) / 1000).toFixed(0)} s</figcaption>
      <svg width={width} height={height} role="img" aria-label="green traffic share over time">
        <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#999" />
        <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#999" />
        <text x={4} y={pad + 4} fontSize="10">100</text>
        <text x={4} y={height - pad} fontSize="10">0</text>
        <text x={pad} y={height - 8} fontSize="10">{new Date(x0).toISOString().slice(11, 19)}</text>
        <text x={width - pad} y={height - 8} fontSize="10" textAnchor="end">{new Date(x1).toISOString().slice(11, 19)}</text>
        <polyline fill="none" stroke="#16a34a" strokeWidth={2} points={points.join(' ')} />
        {steps.map((s, i) => (
          <circle key={i} cx={sx(t(s.at))} cy={sy(s.greenPercent)} r={4} fill="#16a34a" data-testid="traffic-step" data-percent={s.greenPercent} data-phase={s.phase}>
            <title>{`${s.at} ${s.phase}: ${s.greenPercent}%${s.note ? ` — ${s.note}` : ''}`}</title>
          </circle>
        ))}
        {fired.map((e, i) => (
          <g key={`a${i}`} data-testid="alarm-marker">
            <line x1={sx(t(e.at))} y1={pad} x2={sx(t(e.at))} y2={height - pad} stroke="#dc2626" strokeDasharray="4 3" />
            <text x={sx(t(e.at)) + 3} y={pad + 10} fontSize="10" fill="#dc2626">{e.alarm}</text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** One deployment: its policy, traffic share over time with alarm events, steps, evaluations and outcome. */
export function RolloutView({ endpoint, id }: { endpoint: string; id: string }) {
  const d = useLoad(() => api<Deployment>('GET', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/deployments/${encodeURIComponent(id)}`), [endpoint, id]);
  if (d.notFound) return <NotFound what={`Rollout "${id}" of endpoint "${endpoint}"`} />;
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <Loading />;
  const dep = d.data;
  return (
    <section>
      <p><Link to={`/endpoints/${encodeURIComponent(endpoint)}`}>← {endpoint}</Link></p>
      <h2>Rollout {dep.id}</h2>
      <p>
        {dep.policy.strategy} · status <strong data-testid="rollout-status">{dep.status}</strong> · phase {dep.phase} · green {dep.greenPercent}% · by {dep.actor}
      </p>
      <p>
        Blue: {dep.blue.map((v) => `${v.name} (${String(v.model ?? '')})`).join(', ')} → green: {dep.green.map((v) => `${v.name} (${String(v.model ?? '')})`).join(', ')}
      </p>
      {dep.reason && <p data-testid="rollout-reason">Outcome: {dep.reason}</p>}
      <TrafficShareChart deployment={dep} />
      <h3>Steps</h3>
      <table data-testid="rollout-steps">
        <thead>
          <tr><th>At</th><th>Phase</th><th>Green %</th><th>Note</th></tr>
        </thead>
        <tbody>
          {dep.steps.map((s, i) => (
            <tr key={i}>
              <td>{s.at}</td>
              <td>{s.phase}</td>
              <td>{s.greenPercent}</td>
              <td>{s.note ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Alarm evaluations</h3>
      {dep.evaluations.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table data-testid="rollout-evaluations">
          <thead>
            <tr><th>At</th><th>Alarm</th><th>Result</th><th>Value</th><th>Threshold</th><th>Green req / err / p99</th><th>Blue req / err / p99</th></tr>
          </thead>
          <tbody>
            {dep.evaluations.map((e, i) => (
              <tr key={i} className={e.fired ? 'state-failed' : undefined}>
                <td>{e.at}</td>
                <td>{e.alarm}</td>
                <td>{e.fired === null ? 'skipped' : e.fired ? 'fired' : 'held'}</td>
                <td>{e.value === undefined ? '' : fmt(e.value)}</td>
                <td>{e.threshold === undefined ? '' : fmt(e.threshold)}</td>
                <td>{e.green.requests} / {fmt(e.green.errorRate)} / {fmt(e.green.p99)}</td>
                <td>{e.blue.requests} / {fmt(e.blue.errorRate)} / {fmt(e.blue.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
