import { useState, type FormEvent } from 'react';
import { api } from './api';
import { BarChart } from './charts';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

interface ReplayReport {
  usecase: string;
  version: number;
  since: string;
  until: string;
  records: number;
  skipped: number;
  unchanged: number;
  changed: number;
  detailsChanged: number;
  transitions: Record<string, number>;
  examples: { id: string; from: string | null; to: string | null; reasons: string[] }[];
  before: Record<string, number>;
  after: Record<string, number>;
}

interface Described {
  version: number;
  createdAt: string;
  summary: { name: string; latestVersion: number; activeVersion: number | null; challengerVersion: number | null };
}

/** A use case and its replay: re-evaluate recorded decisions over a time range against a version's rules, then show what changed, by direction, with examples. */
export function ReplayView({ name }: { name: string }) {
  const uc = useLoad(() => api<Described>('GET', `/api/v1/decisions/usecases/${encodeURIComponent(name)}`), [name]);
  const [version, setVersion] = useState('');
  const [since, setSince] = useState(() => new Date(Date.now() - 24 * 3600_000).toISOString());
  const [until, setUntil] = useState('');
  const [report, setReport] = useState<ReplayReport | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>();
  if (uc.notFound) return <NotFound what={`Use case "${name}"`} />;
  if (uc.error) return <ErrorBox error={uc.error} />;
  if (!uc.data) return <Loading />;
  const s = uc.data.summary;
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setReport(null);
    setRunning(true);
    try {
      const body: Record<string, unknown> = { version: Number(version || s.latestVersion), since, examples: 20 };
      if (until) body.until = until;
      setReport(await api<ReplayReport>('POST', `/api/v1/decisions/usecases/${encodeURIComponent(name)}/replay`, body));
    } catch (err) {
      setError(err);
    } finally {
      setRunning(false);
    }
  };
  const outcomes = report ? [...new Set([...Object.keys(report.before), ...Object.keys(report.after)])].sort() : [];
  return (
    <section>
      <p><Link to="/decisions">← Decisions</Link></p>
      <h2>{s.name}</h2>
      <p>
        Latest v{s.latestVersion} · active {s.activeVersion === null ? '–' : `v${s.activeVersion}`} · challenger {s.challengerVersion === null ? '–' : `v${s.challengerVersion}`}
      </p>
      <form className="card" onSubmit={run} data-testid="replay-form">
        <h3>Replay</h3>
        <label>
          Version <input data-testid="replay-version" type="number" min="1" size={4} placeholder={String(s.latestVersion)} value={version} onChange={(e) => setVersion(e.target.value)} />
        </label>{' '}
        <label>
          Since <input data-testid="replay-since" size={26} value={since} onChange={(e) => setSince(e.target.value)} />
        </label>{' '}
        <label>
          Until <input data-testid="replay-until" size={26} placeholder="now" value={until} onChange={(e) => setUntil(e.target.value)} />
        </label>{' '}
        <button type="submit" data-testid="replay-run" disabled={running}>{running ? 'Replaying…' : 'Replay'}</button>
      </form>
      {error !== undefined && <ErrorBox error={error} />}
      {report && (
        <div data-testid="replay-report">
          <p>
            v{report.version} over {report.since} – {report.until}: <strong data-testid="replay-records">{report.records}</strong> records, <strong data-testid="replay-changed">{report.changed}</strong> changed outcome, {report.detailsChanged} changed
            only reasons or output, {report.unchanged} unchanged, {report.skipped} skipped
          </p>
          <div className="charts">
            <BarChart title="changes by direction" values={Object.entries(report.transitions).map(([label, value]) => ({ label, value }))} />
          </div>
          <table data-testid="replay-rates">
            <thead>
              <tr><th>Outcome</th><th>Recorded</th><th>Replayed</th></tr>
            </thead>
            <tbody>
              {outcomes.map((o) => (
                <tr key={o}>
                  <td>{o}</td>
                  <td>{report.before[o] ?? 0}</td>
                  <td>{report.after[o] ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Examples</h3>
          <table data-testid="replay-examples">
            <thead>
              <tr><th>Record</th><th>Recorded</th><th>Replayed</th><th>Reasons</th></tr>
            </thead>
            <tbody>
              {report.examples.map((x) => (
                <tr key={x.id}>
                  <td><Link to={`/decisions/${encodeURIComponent(x.id)}`}>{x.id}</Link></td>
                  <td>{x.from ?? '–'}</td>
                  <td>{x.to ?? '–'}</td>
                  <td>{x.reasons.join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
