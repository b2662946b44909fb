import { useEffect, useState } from 'react';
import { api } from './api';
import type { AuditEvent } from './run-types';
import { ErrorBox, Link, Loading } from './ui';

const ACTIONS = ['', 'version.created', 'approval.changed', 'alias.set', 'alias.deleted', 'policy.evaluated', 'policy.changed'];

/**
 * The registry's audit log across models, newest first: who registered, approved, rejected,
 * aliased or changed a policy, and why. Pages come from the server by cursor ("Older").
 */
export function AuditView() {
  const q = new URLSearchParams(window.location.search);
  const [actor, setActor] = useState(q.get('actor') ?? '');
  const [action, setAction] = useState(q.get('action') ?? '');
  const [model, setModel] = useState(q.get('model') ?? '');
  const [applied, setApplied] = useState({ actor, action, model });
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();

  const query = (after?: string | null) => {
    const p = new URLSearchParams({ limit: '50' });
    if (applied.actor) p.set('actor', applied.actor);
    if (applied.action) p.set('action', applied.action);
    if (applied.model) p.set('model', applied.model);
    if (after) p.set('cursor', after);
    return p.toString();
  };
  useEffect(() => {
    let live = true;
    setEvents(null);
    setError(undefined);
    const own = new URLSearchParams(Object.entries(applied).filter(([, v]) => v)).toString();
    window.history.replaceState(null, '', window.location.pathname + (own ? `?${own}` : ''));
    api<{ events: AuditEvent[]; nextCursor: string | null }>('GET', `/api/v1/audit?${query()}`).then(
      (p) => {
        if (!live) return;
        setEvents(p.events);
        setCursor(p.nextCursor);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [applied.actor, applied.action, applied.model]);

  const older = () =>
    api<{ events: AuditEvent[]; nextCursor: string | null }>('GET', `/api/v1/audit?${query(cursor)}`).then((p) => {
      setEvents((e) => [...(e ?? []), ...p.events]);
      setCursor(p.nextCursor);
    }, setError);

  return (
    <section>
      <h2>Audit log</h2>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); setApplied({ actor, action, model }); }}>
        <label>Actor <input data-testid="audit-actor" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="key:alice" /></label>
        <label>
          Action{' '}
          <select data-testid="audit-action" value={action} onChange={(e) => setAction(e.target.value)}>
            {ACTIONS.map((a) => <option key={a} value={a}>{a || 'any'}</option>)}
          </select>
        </label>
        <label>Model <input data-testid="audit-model" value={model} onChange={(e) => setModel(e.target.value)} /></label>
        <button type="submit" data-testid="audit-apply">Filter</button>
      </form>
      {error !== undefined && <ErrorBox error={error} />}
      {events === null && error === undefined && <Loading />}
      {events && (
        <table data-testid="audit-log">
          <thead>
            <tr><th>When</th><th>Who</th><th>Action</th><th>Model</th><th>Version</th><th>Change</th><th>Comment</th></tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="audit-event">
                <td>{e.at.replace('T', ' ').slice(0, 19)}</td>
                <td data-testid="audit-who">{e.actor}</td>
                <td data-testid="audit-what">{e.action}</td>
                <td><Link to={`/models/${encodeURIComponent(e.model)}`}>{e.model}</Link></td>
                <td>{e.version ?? ''}</td>
                <td>{e.alias ? `${e.alias}: ` : ''}{e.from ?? '∅'} → {e.to ?? '∅'}</td>
                <td data-testid="audit-comment">{e.comment}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {events && events.length === 0 && <p className="muted">No audit events.</p>}
      {cursor && <button data-testid="audit-older" onClick={older}>Older</button>}
    </section>
  );
}
