/**
 * The gitops context's public surface: declarative apply of every resource kind (`kind:` documents,
 * one adapter per kind), repositories synced from git by polling and push webhooks, and the context
 * module the platform installs.
 */
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../core/secret-box.js';
import type { PipelineService } from '../pipelines/index.js';
import type { RegistryService } from '../registry/index.js';
import type { EndpointService } from '../serving/index.js';
import { defineContext } from '../storage/context-module.js';
import { ApplyEngine } from './apply-engine.js';
import { LocalGitops, type GitopsService } from './gitops-service.js';
import { gitopsRoutes } from './http/gitops-routes.js';
import { resourceKinds } from './kinds/index.js';
import { gitopsTables } from './migrations/0015-gitops.js';
import { RepositoryPoller } from './repository-poller.js';
import { RepositorySyncer } from './repository-syncer.js';
import { SqlRepositoryStore } from './sql-repository-store.js';
import { SqlResourceStore } from './sql-resource-store.js';

export type { ApplyInput, ApplyOptions, ApplyReport, ChangeAction, ResourceChange, ResourceView } from './apply-engine.js';
export type { AddRepositoryInput, CreatedRepository, GitopsService, PushResult, RepositoryDescription } from './gitops-service.js';
export { webhookPath } from './gitops-service.js';
export type { KindAdapter, KindContext, KindServices, ResourceState } from './kind-adapter.js';
export { formatIssues, type ResourceFile, type ResourceIssue } from './resource-document.js';
export { readResourceFiles } from './resource-files.js';
export { toYaml } from './plan-diff.js';
export type { Repository, RepositoryStatus, SyncRecord } from './sql-repository-store.js';
export type { ManagedResource, ResourceSource } from './sql-resource-store.js';

/** GitOps: `platform.context('gitops')`, the repository poller (a work service), `/api/v1/apply|resources|repositories`. */
export const gitopsContext = defineContext<GitopsService>({
  name: 'gitops',
  migrations: { '0015_gitops': gitopsTables },
  create({ config, db, logger, use }) {
    const engine = new ApplyEngine(
      resourceKinds,
      {
        pipelines: () => use<PipelineService>('pipelines'),
        registry: () => use<RegistryService>('registry'),
        serving: () => use<EndpointService>('serving'),
        use,
      },
      new SqlResourceStore(db),
      db,
    );
    const repos = new SqlRepositoryStore(db);
    const box = new SecretBox({ secretKey: config.secretKey, keyFile: path.join(config.home, 'secret.key') });
    const syncer = new RepositorySyncer({
      fetchUrl: async (name, shown) => {
        const sealed = await repos.sealedUrl(name);
        return sealed ? box.open(sealed, `repository-url:${name}`) : shown;
      },
      repos,
      engine,
      pipelines: () => use<PipelineService>('pipelines'),
      logger,
      home: config.home,
      owner: `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
      leaseMs: config.gitops.leaseMs,
      gitTimeoutMs: config.gitops.gitTimeoutMs,
      pauseMarker: config.testing.gitopsSyncPause,
      pauseAfter: config.testing.gitopsSyncPauseAfter,
    });
    const poller = new RepositoryPoller(repos, syncer, logger, config.gitops.pollMs);
    const service = new LocalGitops(engine, repos, syncer, box, poller, config.gitops.leaseMs);
    return { service, background: [poller], workServices: [poller] };
  },
  routes: [gitopsRoutes],
});
