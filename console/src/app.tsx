import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { AuditView } from './audit';
import { CompareView, RunView } from './compare';
import { ExperimentRuns, RunsTable } from './runs';
import { api, setCsrfToken, setSignedOutHandler, type Session } from './api';
import { EndpointDetail, EndpointList } from './endpoints';
import { ExecutionView } from './execution';
import { RolloutView } from './rollout-view';
import { DecisionRecordView, DecisionsView } from './decisions-view';
import { FeatureGroupsView } from './features-view';
import { JobsView } from './jobs-view';
import { ReplayView } from './replay-view';
import { PipelineDetail, PipelineList } from './pipelines';
import { ModelDetail, ModelList } from './registry';
import { match, usePath } from './router';
import { ErrorBox, Link, Loading, NotFound } from './ui';

/** The console: sign-in when needed, then the navigation and the page for the current path. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<unknown>();
  const refresh = useCallback(() => {
    api<Session>('GET', '/console/session').then((s) => {
      setCsrfToken(s.csrfToken);
      setSession(s);
    }, setError);
  }, []);
  useEffect(() => {
    setSignedOutHandler(() => {
      setCsrfToken(null);
      setSession({ authEnabled: true, signedIn: false });
    });
    refresh();
  }, [refresh]);
  if (error) return <ErrorBox error={error} />;
  if (!session) return <Loading />;
  if (!session.signedIn) return <SignIn onSignedIn={(s) => { setCsrfToken(s.csrfToken); setSession(s); }} />;
  const signOut = async () => {
    await api('DELETE', '/console/session').catch(() => {});
    setCsrfToken(null);
    setSession({ authEnabled: true, signedIn: false });
  };
  return (
    <div className="app">
      <header>
        <h1>Capstan</h1>
        <nav>
          <Link to="/">Pipelines</Link>
          <Link to="/runs">Runs</Link>
          <Link to="/models">Models</Link>
          <Link to="/endpoints">Endpoints</Link>
          <Link to="/features">Features</Link>
          <Link to="/decisions">Decisions</Link>
          <Link to="/jobs">Jobs</Link>
          <Link to="/audit">Audit</Link>
        </nav>
        <span className="who" data-testid="who">
          {session.name} ({session.role})
        </span>
        {session.authEnabled && <button data-testid="sign-out" onClick={signOut}>Sign out</button>}
      </header>
      <main>
        <Page session={session} />
      </main>
    </div>
  );
}

function Page({ session }: { session: Session }) {
  const path = usePath();
  let m: Record<string, string> | null;
  if (path === '/' || path === '/pipelines') return <PipelineList />;
  if ((m = match('/pipelines/:name', path))) return <PipelineDetail key={m.name} name={m.name} session={session} />;
  if ((m = match('/pipelines/:name/executions/:id', path))) return <ExecutionView key={m.id} pipeline={m.name} id={m.id} />;
  if (path === '/runs') return <RunsTable />;
  if ((m = match('/runs/:id', path))) return <RunView key={m.id} id={m.id} />;
  if ((m = match('/experiments/:name', path))) return <ExperimentRuns key={m.name} name={m.name} />;
  if (path === '/compare') return <CompareView />;
  if (path === '/audit') return <AuditView />;
  if (path === '/jobs') return <JobsView session={session} />;
  if (path === '/models') return <ModelList />;
  if ((m = match('/models/:name', path))) return <ModelDetail key={m.name} name={m.name} session={session} />;
  if (path === '/endpoints') return <EndpointList />;
  if ((m = match('/endpoints/:name', path))) return <EndpointDetail key={m.name} name={m.name} session={session} />;
  if ((m = match('/endpoints/:name/rollouts/:id', path))) return <RolloutView key={m.id} endpoint={m.name} id={m.id} />;
  if (path === '/features') return <FeatureGroupsView />;
  if (path === '/decisions') return <DecisionsView />;
  if ((m = match('/decisions/usecases/:name', path))) return <ReplayView key={m.name} name={m.name} />;
  if ((m = match('/decisions/:id', path))) return <DecisionRecordView key={m.id} id={m.id} />;
  return <NotFound what={`The page ${path}`} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const s = await api<Session>('POST', '/console/session', { apiKey: key });
      // The key is dropped as soon as it has been exchanged; only the HttpOnly cookie remains.
      setKey('');
      onSignedIn(s);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="sign-in" onSubmit={submit} data-testid="sign-in" autoComplete="off">
      <h1>Capstan console</h1>
      <label>
        API key <input data-testid="api-key" type="password" value={key} onChange={(e) => setKey(e.target.value)} autoComplete="off" />
      </label>
      <button type="submit" data-testid="sign-in-submit">Sign in</button>
      {error !== undefined && <ErrorBox error={error} />}
    </form>
  );
}
