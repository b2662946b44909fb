import { useState } from 'react';
import { api, can, type Session } from './api';
import { BarChart } from './charts';
import { ErrorBox, Link, Loading, NotFound } from './ui';
import { useLoad } from './use-load';

interface ModelGroup {
  name: string;
  description: string;
  latestVersion: number;
  aliases: Record<string, number>;
  updatedAt: string;
}

interface ModelVersion {
  name: string;
  version: number;
  framework: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  description: string;
  approval: 'PendingManualApproval' | 'Approved' | 'Rejected';
  aliases: string[];
  lineage: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
}

/** Model groups. */
export function ModelList() {
  const { data, error } = useLoad(() => api<ModelGroup[]>('GET', '/api/v1/models'), []);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  return (
    <section>
      <h2>Models</h2>
      <table data-testid="models">
        <thead>
          <tr><th>Name</th><th>Description</th><th>Latest</th><th>Aliases</th></tr>
        </thead>
        <tbody>
          {data.map((m) => (
            <tr key={m.name}>
              <td><Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link></td>
              <td>{m.description}</td>
              <td>{m.latestVersion}</td>
              <td>{Object.entries(m.aliases).map(([a, v]) => `${a}→${v}`).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One model group: its versions with metrics, lineage and approval (approvers only see the buttons). */
export function ModelDetail({ name, session }: { name: string; session: Session }) {
  const group = useLoad(() => api<ModelGroup>('GET', `/api/v1/models/${encodeURIComponent(name)}`), [name]);
  const versions = useLoad(() => api<ModelVersion[]>('GET', `/api/v1/models/${encodeURIComponent(name)}/versions`), [name]);
  if (group.notFound) return <NotFound what={`Model "${name}"`} />;
  if (group.error) return <ErrorBox error={group.error} />;
  if (!group.data || !versions.data) return <Loading />;
  const list = [...versions.data].reverse();
  const metricNames = [...new Set(list.flatMap((v) => Object.keys(v.metrics)))];
  return (
    <section>
      <h2 data-testid="model-name">{group.data.name}</h2>
      <p data-testid="model-description">{group.data.description}</p>
      <div className="charts">
        {metricNames.slice(0, 4).map((m) => (
          <BarChart key={m} title={`${m} by version`} values={list.filter((v) => m in v.metrics).map((v) => ({ label: `v${v.version}`, value: v.metrics[m] }))} />
        ))}
      </div>
      {list.map((v) => (
        <VersionCard key={v.version} v={v} session={session} onChange={versions.reload} />
      ))}
    </section>
  );
}

function VersionCard({ v, session, onChange }: { v: ModelVersion; session: Session; onChange: () => void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>();
  const decide = async (status: 'Approved' | 'Rejected') => {
    setError(undefined);
    try {
      await api('PUT', `/api/v1/models/${encodeURIComponent(v.name)}/versions/${v.version}/approval`, { status, comment: comment || undefined });
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <article className="card" data-testid={`version-${v.version}`}>
      <h3>
        Version {v.version} <span className={`approval approval-${v.approval}`} data-testid="approval">{v.approval}</span>
      </h3>
      <p data-testid="version-description">{v.description}</p>
      <p className="muted">
        {v.framework} · by {v.createdBy} · {v.createdAt} {v.aliases.length > 0 && `· aliases ${v.aliases.join(', ')}`}
      </p>
      <table className="kv">
        <tbody>
          {Object.entries(v.metrics).map(([k, val]) => (
            <tr key={k}><th>{k}</th><td data-testid={`metric-${k}`}>{val}</td></tr>
          ))}
          {Object.entries(v.params).map(([k, val]) => (
            <tr key={`p-${k}`}><th>param {k}</th><td>{val}</td></tr>
          ))}
        </tbody>
      </table>
      <details>
        <summary>Lineage</summary>
        <pre>{JSON.stringify(v.lineage, null, 2)}</pre>
      </details>
      {can(session, 'approver') && (
        <div className="approve">
          <input data-testid="approval-comment" placeholder="Comment" value={comment} onChange={(e) => setComment(e.target.value)} />
          <button data-testid="approve" onClick={() => decide('Approved')} disabled={v.approval === 'Approved'}>Approve</button>
          <button data-testid="reject" onClick={() => decide('Rejected')} disabled={v.approval === 'Rejected'}>Reject</button>
          {error !== undefined && <ErrorBox error={error} />}
        </div>
      )}
    </article>
  );
}
