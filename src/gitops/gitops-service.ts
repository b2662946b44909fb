import type { Role } from '../auth/index.js';
import { CapstanError } from '../core/errors.js';
import { assertName } from '../core/names.js';
import type { SecretBox } from '../core/secret-box.js';
import { newWebhookSecret } from '../core/webhook-signature.js';
import type { ApplyEngine, ApplyInput, ApplyReport, ResourceView } from './apply-engine.js';
import { pushedBranch, verifyPush, type PushFormat } from './push-webhook.js';
import type { RepositoryPoller } from './repository-poller.js';
import type { RepositorySyncer } from './repository-syncer.js';
import type { Repository, SqlRepositoryStore, SyncRecord } from './sql-repository-store.js';

/** Input of `addRepository`. */
export interface AddRepositoryInput {
  name: string;
  /** A git URL (`https://…`, `ssh://…`, `git@host:…`) or a path on the server's machine. */
  url: string;
  /** Default `main`. */
  branch?: string;
  /** Directory inside the repository holding the resource files; default the root (`.`). */
  path?: string;
}

/** A repository as `addRepository` answers: with its push webhook secret, shown only now. */
export interface CreatedRepository extends Repository {
  webhookSecret: string;
  /** Path of the push webhook route on the server. */
  webhookPath: string;
}

/** A repository with its recent syncs. */
export interface RepositoryDescription extends Repository {
  webhookPath: string;
  syncs: SyncRecord[];
}

/** What a push webhook did. */
export interface PushResult {
  format: PushFormat;
  /** False for a push to another branch (or a ping): acknowledged, nothing synced. */
  accepted: boolean;
  repository: string;
}

/** The gitops service: declarative apply of every resource kind, and repositories synced from git. */
export interface GitopsService {
  /** Validates, plans and (unless `dryRun`) applies resource files. */
  apply(input: ApplyInput): Promise<ApplyReport>;
  /** Resources of a kind, or one by name (CAPSTAN_GITOPS_RESOURCE_NOT_FOUND). */
  get(kind: string, name?: string): Promise<ResourceView[]>;
  /** Deletes one resource (`role`: the caller's, checked like apply's). */
  delete(kind: string, name: string, role?: Role): Promise<void>;
  /** Registers a repository; its first sync follows at the next poll (or `syncRepository`). */
  addRepository(input: AddRepositoryInput): Promise<CreatedRepository>;
  listRepositories(): Promise<Repository[]>;
  describeRepository(name: string): Promise<RepositoryDescription>;
  /** Forgets a repository; the resources it applied stay. */
  removeRepository(name: string): Promise<void>;
  /** Fetches and applies the branch head now (waiting for a sync in progress elsewhere, up to the sync lease). */
  syncRepository(name: string): Promise<SyncRecord>;
  /** A push webhook's raw body and headers: verified (CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID) before anything else. */
  receivePush(name: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<PushResult>;
}

const BRANCH = /^(?!.*\.\.)(?!\/)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/;

/** A URL with the credentials of its user-info part replaced by `***` (`https://ci:***@host/x.git`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@:]*):[^/@]*@/i, '$1$2:***@');
}

/** The push webhook route of a repository. */
export function webhookPath(name: string): string {
  return `/api/v1/repositories/${encodeURIComponent(name)}/webhook`;
}

function invalid(message: string, field: string): CapstanError {
  return new CapstanError('CAPSTAN_GITOPS_REPOSITORY_INVALID', message, { fields: { field } });
}

/** The service in this process, over the apply engine, the repository store and the syncer. */
export class LocalGitops implements GitopsService {
  constructor(
    private readonly engine: ApplyEngine,
    private readonly repos: SqlRepositoryStore,
    private readonly syncer: RepositorySyncer,
    private readonly box: SecretBox,
    private readonly poller?: RepositoryPoller,
    private readonly syncWaitMs = 0,
  ) {}

  apply(input: ApplyInput): Promise<ApplyReport> {
    return this.engine.apply(input);
  }

  get(kind: string, name?: string): Promise<ResourceView[]> {
    return this.engine.get(kind, name);
  }

  delete(kind: string, name: string, role?: Role): Promise<void> {
    return this.engine.delete(kind, name, role);
  }

  async addRepository(input: AddRepositoryInput): Promise<CreatedRepository> {
    const name = assertName(input.name, 'repository name');
    const url = typeof input.url === 'string' ? input.url.trim() : '';
    if (!url || url.startsWith('-') || /[\0\n\r]/.test(url)) throw invalid('--url must be a git URL or a local path', 'url');
    if (/^(ext|fd)::/i.test(url)) throw invalid('--url may not use the ext:: or fd:: transports', 'url');
    const branch = input.branch ?? 'main';
    if (!BRANCH.test(branch) || branch.startsWith('-')) throw invalid(`--branch ${JSON.stringify(branch)} is not a valid branch name`, 'branch');
    const dir = (input.path ?? '.').replace(/\/+$/, '') || '.';
    if (dir.startsWith('/') || dir.split('/').includes('..') || /[\0\\]/.test(dir)) throw invalid(`--path ${JSON.stringify(input.path)} must be a relative directory inside the repository`, 'path');
    const secret = newWebhookSecret();
    // A token in the URL (https://user:token@host/…) is a secret: kept sealed, shown as ***.
    const shown = redactUrl(url);
    const sealedUrl = shown === url ? null : this.box.seal(url, `repository-url:${name}`);
    const repo = await this.repos.insert({ name, url: shown, sealedUrl, branch, path: dir, sealedSecret: this.box.seal(secret, `repository:${name}`) });
    this.poller?.nudge();
    return { ...repo, webhookSecret: secret, webhookPath: webhookPath(name) };
  }

  listRepositories(): Promise<Repository[]> {
    return this.repos.list();
  }

  async describeRepository(name: string): Promise<RepositoryDescription> {
    return { ...(await this.repos.get(name)), webhookPath: webhookPath(name), syncs: await this.repos.syncs(name) };
  }

  removeRepository(name: string): Promise<void> {
    return this.repos.remove(name);
  }

  syncRepository(name: string): Promise<SyncRecord> {
    // A sync in progress elsewhere (the poller) is waited for, not reported as an error: the caller wants the branch head applied.
    return this.syncer.sync(name, { waitMs: this.syncWaitMs });
  }

  /**
   * A push webhook: checks the signature or token first (401 before anything is read or fetched),
   * then asks for a sync of the repository when the push is to its branch.
   */
  async receivePush(name: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<PushResult> {
    let sealed: string;
    try {
      sealed = await this.repos.sealedSecret(name);
    } catch (err) {
      // An unknown repository answers like a bad signature, so the route does not reveal which names exist.
      throw new CapstanError('CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID', 'the push webhook signature or token does not match', { cause: err });
    }
    const format = verifyPush(this.box.open(sealed, `repository:${name}`), headers, body);
    const repo = await this.repos.get(name);
    const branch = pushedBranch(body);
    if (branch !== repo.branch) return { format, accepted: false, repository: name };
    await this.repos.requestSync(name);
    this.poller?.nudge();
    return { format, accepted: true, repository: name };
  }
}
