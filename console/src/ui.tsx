import type { ReactNode } from 'react';
import { href, navigate } from './router';

/** An in-app link (plain href so it also opens in a new tab). */
export function Link({ to, children, testId }: { to: string; children: ReactNode; testId?: string }) {
  return (
    <a
      href={href(to)}
      data-testid={testId}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.button !== 0) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** The page shown for a deep link to something that does not exist. */
export function NotFound({ what }: { what: string }) {
  return (
    <section data-testid="not-found" className="not-found">
      <h2>Not found</h2>
      <p>{what} does not exist, or was deleted.</p>
      <Link to="/">Back to pipelines</Link>
    </section>
  );
}

/** An error box for failed loads. */
export function ErrorBox({ error }: { error: unknown }) {
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

/** Shown while data loads. */
export function Loading() {
  return <p className="muted">Loading…</p>;
}
