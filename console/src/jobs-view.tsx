import { useEffect, useState } from 'react';
import { api, can, type Session } from './api';
import { ErrorBox, Loading } from './ui';

/** A queue job as `/api/v1/jobs` answers it. */
interface Job {
  id: string;
  queue: string;
  type: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  updatedAt: string;
}

const STATES = ['dead', 'queued', 'running', 'cancelled', 'succeeded'] as const;
type Stats = Record<(typeof STATES)[number], number>;

/**
 * The durable queue at a glance: how many jobs are in each state (dead first: that is what needs a
 * person), the jobs of one state with their last error, and for editors retry (dead or cancelled) and
 * cancel (queued), as `capstan jobs` does.
 */
export function JobsView({ session }: { session: Session }) {
  const [state, setState] = useState<string>(new URLSearchParams(window.location.search).get('state') ?? 'dead');
  const [stats, setStats] = useState<Stats | null>(null);
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  const editor = can(session, 'editor');
  const page = (after?: string | null) => api<{ jobs: Job[]; nextCursor: string | null }>('GET', `/api/v1/jobs?state=${state}&limit=50${after ? `&cursor=${encodeURIComponent(after)}` : ''}`);

  useEffect(() => {
    let live = true;
    setJobs(null);
    setError(undefined);
    window.history.replaceState(null, '', `${window.location.pathname}?state=${state}`);
    Promise.all([api<Stats>('GET', '/api/v1/jobs/stats'), page()]).then(
      ([s, first]) => {
        if (!live) return;
        setStats(s);
        setJobs(first.jobs);
        setCursor(first.nextCursor);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [state, version]);

  const older = () =>
    page(cursor).then((next) => {
      setJobs((j) => [...(j ?? []), ...next.jobs]);
      setCursor(next.nextCursor);
    }, setError);
  const act = (job: Job, verb: 'retry' | 'cancel') => api('POST', `/api/v1/jobs/${encodeURIComponent(job.id)}/${verb}`).then(() => setVersion((v) => v + 1), setError);

  return (
    <section>
      <h2>Jobs</h2>
      <div className="tabs" data-testid="job-states">
        {STATES.map((s) => (
          <button key={s} data-testid={`job-state-${s}`} className={s === state ? 'active' : ''} onClick={() => setState(s)}>
            {s} <span data-testid="job-count">{stats ? stats[s] : '…'}</span>
          </button>
        ))}
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {jobs === null && error === undefined && <Loading />}
      {jobs && jobs.length === 0 && <p data-testid="jobs-empty">No {state} jobs.</p>}
      {jobs && jobs.length > 0 && (
        <table data-testid="jobs">
          <thead>
            <tr><th>Job</th><th>Type</th><th>Queue</th><th>Attempts</th><th>Updated</th><th>Last error</th>{editor && <th />}</tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-testid="job" data-job={j.id}>
                <td><code>{j.id}</code></td>
                <td>{j.type}</td>
                <td>{j.queue}</td>
                <td>{j.attempts} / {j.maxAttempts}</td>
                <td>{j.updatedAt.replace('T', ' ').slice(0, 19)}</td>
                <td data-testid="job-error" className="error">{j.lastError ?? ''}</td>
                {editor && (
                  <td>
                    {(j.state === 'dead' || j.state === 'cancelled') && <button data-testid="job-retry" onClick={() => act(j, 'retry')}>Retry</button>}
                    {j.state === 'queued' && <button data-testid="job-cancel" onClick={() => act(j, 'cancel')}>Cancel</button>}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && <button data-testid="jobs-older" onClick={older}>Older</button>}
    </section>
  );
}
