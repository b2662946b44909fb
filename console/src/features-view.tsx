import { api } from './api';
import { ErrorBox, Loading } from './ui';
import { useLoad } from './use-load';

interface Column {
  name: string;
  type: string;
}

interface Group {
  name: string;
  version: number;
  entities: string[];
  joinKeys: Column[];
  eventTimeColumn: string;
  ttlMs: number | null;
  features: Column[];
  owner: string | null;
  description: string;
  updatedAt: string;
}

interface Freshness {
  group: string;
  version: number;
  newestEventAt: string | null;
  ageSeconds: number | null;
  materializedAt: string;
  rowsWritten: number;
}

/** An age in the largest unit that keeps it readable. */
export function age(seconds: number | null): string {
  if (seconds === null) return 'no values';
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** Feature groups: each version's schema (join keys, event time, features with types), TTL and how fresh its online values are. */
export function FeatureGroupsView() {
  const groups = useLoad(() => api<{ items: Group[] }>('GET', '/api/v1/feature-groups'), []);
  const fresh = useLoad(() => api<{ items: Freshness[] }>('GET', '/api/v1/features/freshness'), []);
  if (groups.error) return <ErrorBox error={groups.error} />;
  if (!groups.data) return <Loading />;
  const freshnessOf = (g: Group) => fresh.data?.items.find((f) => f.group === g.name && f.version === g.version);
  return (
    <section data-testid="feature-groups">
      <h2>Feature groups</h2>
      {groups.data.items.length === 0 && <p className="muted">No feature groups.</p>}
      {groups.data.items.map((g) => {
        const f = freshnessOf(g);
        return (
          <div className="card" key={`${g.name}@${g.version}`} data-testid="feature-group" data-group={g.name}>
            <h3>
              {g.name} <span className="muted">v{g.version}</span>
            </h3>
            {g.description && <p>{g.description}</p>}
            <p>
              Entities {g.entities.join(', ')} · keys {g.joinKeys.map((k) => `${k.name}: ${k.type}`).join(', ')} · event time {g.eventTimeColumn} · TTL{' '}
              {g.ttlMs === null ? 'none' : age(g.ttlMs / 1000)}
              {g.owner ? ` · owner ${g.owner}` : ''}
            </p>
            <p data-testid="freshness">
              Freshness:{' '}
              {f ? (
                <>
                  newest value <strong data-testid="freshness-age">{age(f.ageSeconds)}</strong> old ({f.newestEventAt ?? '–'}), materialized {f.materializedAt}, {f.rowsWritten} rows
                </>
              ) : (
                <span data-testid="freshness-age">never materialized</span>
              )}
            </p>
            <table data-testid="feature-schema">
              <thead>
                <tr><th>Feature</th><th>Type</th></tr>
              </thead>
              <tbody>
                {g.features.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>{c.type}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
    </section>
  );
}
