import { api, can, type Session } from './api';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';
import { navigate } from './router';
import { useState } from 'react';

interface Pipeline {
  name: string;
  version: number;
  definition: { description?: string; steps: { name: string; type: string; dependsOn: string[] }[] };
  updatedAt: string;
}

/** An execution as listed. */
export interface Execution {
  id: string;
  pipeline: string;
  state: string;
  createdAt: string;
  durationMs: number | null;
  params: Record<string, unknown>;
  error: string | null;
  steps: { name: string; type: string; state: string; cached: boolean; durationMs: number | null; metrics: Record<string, number>; error: { code: string; message: string } | null }[];
}

/** Every pipeline with its latest executions. */
export function PipelineList() {
  const { data, error } = useLoad(() => api<{ pipelines: Pipeline[] }>('GET', '/api/v1/pipelines'), []);
  const execs = useLoad(() => api<{ executions: Execution[] }>('GET', '/api/v1/pipeline-executions?limit=20'), []);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  return (
    <section>
      <h2>Pipelines</h2>
      <table data-testid="pipelines">
        <thead>
          <tr><th>Name</th><th>Version</th><th>Steps</th><th>Updated</th></tr>
        </thead>
        <tbody>
          {data.pipelines.map((p) => (
            <tr key={p.name}>
              <td><Link to={`/pipelines/${encodeURIComponent(p.name)}`}>{p.name}</Link></td>
              <td>{p.version}</td>
              <td>{p.definition.steps.length}</td>
              <td>{p.updatedAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.pipelines.length === 0 && <p className="muted">No pipelines yet: apply one with capstan pipelines apply.</p>}
      <h3>Recent executions</h3>
      <ExecutionTable executions={execs.data?.executions ?? []} />
    </section>
  );
}

function ExecutionTable({ executions }: { executions: Execution[] }) {
  return (
    <table data-testid="executions">
      <thead>
        <tr><th>Execution</th><th>Pipeline</th><th>State</th><th>Started</th><th>Duration</th></tr>
      </thead>
      <tbody>
        {executions.map((e) => (
          <tr key={e.id}>
            <td><Link to={`/pipelines/${encodeURIComponent(e.pipeline)}/executions/${encodeURIComponent(e.id)}`}>{e.id}</Link></td>
            <td>{e.pipeline}</td>
            <td><span className={`state state-${e.state}`}>{e.state}</span></td>
            <td>{e.createdAt}</td>
            <td>{e.durationMs === null ? '' : `${(e.durationMs / 1000).toFixed(1)} s`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One pipeline: its steps, executions and (for editors) a run button with parameter overrides. */
export function PipelineDetail({ name, session }: { name: string; session: Session }) {
  const p = useLoad(() => api<Pipeline>('GET', `/api/v1/pipelines/${encodeURIComponent(name)}`), [name]);
  const execs = useLoad(() => api<{ executions: Execution[] }>('GET', `/api/v1/pipelines/${encodeURIComponent(name)}/executions?limit=50`), [name]);
  const [params, setParams] = useState('{}');
  const [runError, setRunError] = useState<unknown>();
  if (p.notFound) return <NotFound what={`Pipeline "${name}"`} />;
  if (p.error) return <ErrorBox error={p.error} />;
  if (!p.data) return <Loading />;
  const run = async () => {
    setRunError(undefined);
    try {
      const overrides = JSON.parse(params) as Record<string, unknown>;
      const exec = await api<Execution>('POST', `/api/v1/pipelines/${encodeURIComponent(name)}/executions`, { params: overrides });
      navigate(`/pipelines/${encodeURIComponent(name)}/executions/${encodeURIComponent(exec.id)}`);
    } catch (e) {
      setRunError(e);
    }
  };
  return (
    <section>
      <h2 data-testid="pipeline-name">{p.data.name}</h2>
      <p>{p.data.definition.description}</p>
      {can(session, 'editor') && (
        <div className="run-form">
          <label>
            Parameter overrides (JSON) <input data-testid="run-params" value={params} onChange={(e) => setParams(e.target.value)} />
          </label>
          <button data-testid="run-pipeline" onClick={run}>Run</button>
          {runError !== undefined && <ErrorBox error={runError} />}
        </div>
      )}
      <h3>Executions</h3>
      <ExecutionTable executions={execs.data?.executions ?? []} />
    </section>
  );
}
