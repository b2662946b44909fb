import { createHmac, timingSafeEqual } from 'node:crypto';
import { CapstanError } from '../core/errors.js';

/** Which forge signed a push. */
export type PushFormat = 'github' | 'gitea' | 'gitlab';

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Checks a push webhook against the repository's secret in any of the three forge formats: GitHub
 * (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`), Gitea (`X-Gitea-Signature: <hex>`)
 * and GitLab (`X-Gitlab-Token: <secret>`, a shared token rather than a signature). Throws
 * CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID (401) when none is present or none matches.
 */
export function verifyPush(secret: string, headers: Record<string, string | string[] | undefined>, body: Buffer): PushFormat {
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  const github = header(headers, 'x-hub-signature-256');
  if (github !== undefined) {
    if (equal(github, `sha256=${hmac}`)) return header(headers, 'x-gitea-event') ? 'gitea' : 'github';
  }
  const gitea = header(headers, 'x-gitea-signature') ?? header(headers, 'x-gogs-signature');
  if (gitea !== undefined && equal(gitea, hmac)) return 'gitea';
  const gitlab = header(headers, 'x-gitlab-token');
  if (gitlab !== undefined && equal(gitlab, secret)) return 'gitlab';
  const any = github !== undefined || gitea !== undefined || gitlab !== undefined;
  throw new CapstanError('CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID', any ? 'the push webhook signature or token does not match' : 'the push webhook carries no X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token header');
}

/** The branch a push names (`refs/heads/main` → `main`), or undefined for pings and tag pushes. */
export function pushedBranch(body: Buffer): string | undefined {
  try {
    const ref = (JSON.parse(body.toString('utf8')) as { ref?: unknown }).ref;
    return typeof ref === 'string' && ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  } catch {
    return undefined;
  }
}
