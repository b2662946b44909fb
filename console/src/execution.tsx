import { useEffect, useMemo, useState } from 'react';
import { ReactFlow, Background, Controls, Position, type Edge, type Node } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api, ApiError } from './api';
import { BarChart, LineChart, type Series } from './charts';
import type { Execution } from './pipelines';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

interface StepDef {
  name: string;
  type: string;
  dependsOn: string[];
}

/** Columns by dependency depth, so the graph reads left to right. */
function layout(steps: StepDef[]): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>();
  const byName = new Map(steps.map((s) => [s.name, s]));
  const d = (name: string, seen = new Set<string>()): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.has(name)) return 0;
    seen.add(name);
    const deps = byName.get(name)?.dependsOn ?? [];
    const v = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => d(x, seen)));
    depth.set(name, v);
    return v;
  };
  const rows = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const col = d(s.name);
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    out.set(s.name, { x: col * 230, y: row * 90 });
  }
  return out;
}

/** One execution: the live DAG (Server-Sent Events), then the selected step's logs and metric charts. */
export function ExecutionView({ pipeline, id }: { pipeline: string; id: string }) {
  const def = useLoad(() => api<{ definition: { steps: StepDef[] } }>('GET', `/api/v1/pipelines/${encodeURIComponent(pipeline)}`), [pipeline]);
  const first = useLoad(() => api<Execution>('GET', `/api/v1/pipelines/${encodeURIComponent(pipeline)}/executions/${encodeURIComponent(id)}`), [pipeline, id]);
  const [live, setLive] = useState<Execution>();
  const [selected, setSelected] = useState<string>();

  useEffect(() => {
    const source = new EventSource(`/api/v1/pipeline-executions/${encodeURIComponent(id)}/events`);
    source.addEventListener('execution', (e) => setLive(JSON.parse((e as MessageEvent<string>).data) as Execution));
    // The server ends the stream when the execution does; do not let the browser reconnect.
    source.onerror = () => source.close();
    return () => source.close();
  }, [id]);

  const exec = live ?? first.data;
  const steps = def.data?.definition.steps ?? [];
  const { nodes, edges } = useMemo(() => {
    const pos = layout(steps);
    const state = new Map(exec?.steps.map((s) => [s.name, s]) ?? []);
    const nodes: Node[] = steps.map((s) => {
      const st = state.get(s.name);
      const label = `${s.name}\n${st?.state ?? 'pending'}${st?.cached ? ' (cached)' : ''}${st?.durationMs != null ? ` · ${(st.durationMs / 1000).toFixed(1)} s` : ''}`;
      return { id: s.name, position: pos.get(s.name)!, sourcePosition: Position.Right, targetPosition: Position.Left, data: { label }, className: `step step-${st?.state ?? 'pending'}`, ariaLabel: `step ${s.name} ${st?.state ?? 'pending'}` };
    });
    const edges: Edge[] = steps.flatMap((s) => s.dependsOn.map((dep) => ({ id: `${dep}->${s.name}`, source: dep, target: s.name })));
    return { nodes, edges };
  }, [steps, exec]);

  if (first.notFound || (first.error instanceof ApiError && first.error.code === 'CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND')) return <NotFound what={`Execution "${id}" of pipeline "${pipeline}"`} />;
  if (first.error) return <ErrorBox error={first.error} />;
  if (!exec || !def.data) return <Loading />;
  const step = exec.steps.find((s) => s.name === selected);
  return (
    <section>
      <h2>
        <Link to={`/pipelines/${encodeURIComponent(pipeline)}`}>{pipeline}</Link> / {id}
      </h2>
      <p>
        State: <span data-testid="execution-state" className={`state state-${exec.state}`}>{exec.state}</span>
        {exec.error && <span className="error"> {exec.error}</span>}
      </p>
      <p className="muted">Parameters: {JSON.stringify(exec.params)}</p>
      <div className="graph" data-testid="graph">
        <ReactFlow nodes={nodes} edges={edges} fitView nodesDraggable={false} nodesConnectable={false} onNodeClick={(_e, n) => setSelected(n.id)} proOptions={{ hideAttribution: true }}>
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
      <p className="muted">Click a step for its logs and metrics.</p>
      {step && <StepPanel pipeline={pipeline} id={id} step={step} running={exec.state === 'running' || exec.state === 'queued'} />}
    </section>
  );
}

function StepPanel({ pipeline, id, step, running }: { pipeline: string; id: string; step: Execution['steps'][number]; running: boolean }) {
  const [query, setQuery] = useState('');
  const logs = useLoad(() => api<{ lines: { seq: number; line: string; stream: string }[] }>('GET', `/api/v1/pipelines/${encodeURIComponent(pipeline)}/executions/${encodeURIComponent(id)}/logs?step=${encodeURIComponent(step.name)}`), [id, step.name, step.state, running]);
  const series = useLoad(() => api<{ series: { name: string; total: number; points: [number, number][] }[] }>('GET', `/api/v1/pipeline-executions/${encodeURIComponent(id)}/steps/${encodeURIComponent(step.name)}/metric-series`), [id, step.name, step.state]);
  const lines = (logs.data?.lines ?? []).filter((l) => !query || l.line.toLowerCase().includes(query.toLowerCase()));
  const metricValues = Object.entries(step.metrics).map(([label, value]) => ({ label, value }));
  return (
    <section className="step-panel" data-testid="step-panel">
      <h3>Step {step.name}: {step.state}{step.cached ? ' (cached)' : ''}</h3>
      {step.error && <p className="error">{step.error.code}: {step.error.message}</p>}
      <div className="charts">
        {(series.data?.series ?? []).map((s) => (
          <LineChart key={s.name} title={s.name} series={[{ name: s.name, points: s.points } as Series]} />
        ))}
        <BarChart title="metrics" values={metricValues} />
      </div>
      <label>
        Search logs <input data-testid="log-search" value={query} onChange={(e) => setQuery(e.target.value)} />
      </label>
      <pre className="logs" data-testid="logs">
        {lines.map((l) => `${l.line}\n`).join('')}
      </pre>
    </section>
  );
}
