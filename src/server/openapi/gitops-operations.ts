import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';

const files = [{ path: 'ml/config.yaml', text: 'kind: ModelGroup\nname: fraud-detector\napprovalPolicy:\n  autoApprove: metrics["auc"] >= 0.8\n' }];
const Change = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('unchanged'), Type.Literal('delete')]),
  file: Type.Optional(Type.String()),
  diff: Type.String({ description: '`-`/`+` line diff of the YAML documents (current → desired); empty when unchanged' }),
});
const Report = Type.Object({
  dryRun: Type.Boolean(),
  set: Type.String(),
  changes: Type.Array(Change),
  secrets: Type.Record(Type.String(), Type.Record(Type.String(), Type.String()), { description: '`Kind/name` → secrets created now (webhook triggers), shown only here' }),
});
const View = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  document: Type.Record(Type.String(), Type.Unknown(), { description: 'The resource as a document `apply` accepts' }),
  managed: Type.Union([Type.Null(), Type.Object({ set: Type.String(), source: Type.Object({ file: Type.Optional(Type.String()), repository: Type.Optional(Type.String()), commit: Type.Optional(Type.String()) }), appliedAt: Type.String() })]),
});
const Repository = Type.Object({
  name: Type.String(),
  url: Type.String(),
  branch: Type.String(),
  path: Type.String(),
  status: Type.String({ description: 'pending, syncing, synced, failed (a commit did not apply) or unreachable (fetch failed)' }),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  appliedCommit: Type.Union([Type.String(), Type.Null()]),
  syncingCommit: Type.Union([Type.String(), Type.Null()]),
  lastSyncAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});
const Sync = Type.Object({
  id: Type.String(),
  repository: Type.String(),
  commit: Type.Union([Type.String(), Type.Null()]),
  state: Type.String({ description: 'running, applied, unchanged, failed or unreachable' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  summary: Type.Record(Type.String(), Type.Unknown()),
  startedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});

/** GitOps: declarative apply, resources as documents, repositories and their push webhooks. */
export const gitopsOperations: OperationDocs = {
  'POST /api/v1/apply': {
    operationId: 'applyResources',
    description:
      'Validates every document of the files (`kind:` Pipeline, ModelGroup, Endpoint, …), refuses the whole apply with every issue (file, line, path) when any is invalid (`CAPSTAN_GITOPS_INVALID`) or refers to a missing resource (`CAPSTAN_GITOPS_REFERENCE_MISSING`), then plans each resource against its current state. With `dryRun` nothing changes; otherwise resources are created or updated in kind order, and with `prune` the resources of the managed `set` the files no longer declare are deleted. Applying the same files twice changes nothing. Code directories of pipelines travel in `code` (`<file>#<code>` → relative path → base64).',
    errors: ['CAPSTAN_GITOPS_INVALID', 'CAPSTAN_GITOPS_REFERENCE_MISSING', 'CAPSTAN_PIPELINE_CODE_INVALID', 'CAPSTAN_REQUEST_YAML_LIMIT'],
    responseDescription: 'The plan, carried out unless dryRun. A change needing more than the key role (an approval policy: approver; a notification: admin) answers 403 CAPSTAN_AUTH_FORBIDDEN for the whole apply.',
    requestExample: { files, dryRun: true },
    responses: { 200: Report },
  },
  'GET /api/v1/resources/:kind': {
    operationId: 'listResources',
    description: 'Every resource of a kind (`Pipeline`, `pipelines`, `ModelGroup`, `models`, `Endpoint`, …) as documents `apply` accepts, with the set and source of those applied from files.',
    errors: ['CAPSTAN_GITOPS_KIND_UNKNOWN'],
    responses: { 200: Type.Object({ resources: Type.Array(View) }) },
  },
  'GET /api/v1/resources/:kind/:name': {
    operationId: 'getResource',
    description: 'One resource as a document `apply` accepts.',
    errors: ['CAPSTAN_GITOPS_KIND_UNKNOWN', 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND'],
    responses: { 200: View },
  },
  'DELETE /api/v1/resources/:kind/:name': {
    operationId: 'deleteResource',
    description: 'Deletes one resource. A ModelGroup keeps its versions (the registry keeps them); its policy, description and tags are cleared.',
    errors: ['CAPSTAN_GITOPS_KIND_UNKNOWN', 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND'],
    responses: { 204: null },
  },
  'POST /api/v1/repositories': {
    operationId: 'addRepository',
    description: "Registers a git repository (URL or a path on the server's machine; role `admin`). Its resources under `path` are applied on each new commit of `branch`, by polling and by push webhooks; the webhook secret is returned only here.",
    errors: ['CAPSTAN_GITOPS_REPOSITORY_EXISTS', 'CAPSTAN_GITOPS_REPOSITORY_INVALID', 'CAPSTAN_NAME_INVALID'],
    requestExample: { name: 'fraud-ml', url: 'https://github.com/acme/fraud-ml.git', branch: 'main', path: 'ml' },
    responses: { 201: Type.Intersect([Repository, Type.Object({ webhookSecret: Type.String(), webhookPath: Type.String() })]) },
  },
  'GET /api/v1/repositories': { operationId: 'listRepositories', description: 'Every repository with its status and applied commit.', responses: { 200: Type.Object({ repositories: Type.Array(Repository) }) } },
  'GET /api/v1/repositories/:name': {
    operationId: 'describeRepository',
    description: 'A repository, why its last sync failed (if it did), and its recent syncs.',
    errors: ['CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND'],
    responses: { 200: Type.Intersect([Repository, Type.Object({ webhookPath: Type.String(), syncs: Type.Array(Sync) })]) },
  },
  'DELETE /api/v1/repositories/:name': {
    operationId: 'removeRepository',
    description: 'Forgets a repository; the resources it applied stay.',
    errors: ['CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND'],
    responses: { 204: null },
  },
  'POST /api/v1/repositories/:name/sync': {
    operationId: 'syncRepository',
    description: 'Fetches the branch now and, when its head moved, applies its resources and starts the pipelines whose definition or code changed. A commit that fails to validate changes nothing; the answer and the repository status say why.',
    errors: ['CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND', 'CAPSTAN_GITOPS_SYNC_BUSY'],
    responses: { 200: Sync },
  },
  'POST /api/v1/repositories/:name/webhook': {
    operationId: 'repositoryPushWebhook',
    description:
      "A push webhook from GitHub (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`), Gitea (`X-Gitea-Signature: <hex>`) or GitLab (`X-Gitlab-Token: <secret>`), with the repository's webhook secret. Anything else answers 401 before the body is read or the repository fetched. A push to the repository's branch asks for a sync (202 `{accepted: true}`), done by the repository poller of `capstan up` / `capstan worker` within a second; other refs are acknowledged and ignored.",
    errors: ['CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID', 'CAPSTAN_NAME_INVALID'],
    requestBody: { description: "The forge's push event; the exact bytes are signed.", content: { 'application/json': { schema: Type.Object({ ref: Type.Optional(Type.String()) }), example: { ref: 'refs/heads/main' } } } },
    responses: { 202: Type.Object({ format: Type.String(), accepted: Type.Boolean(), repository: Type.String() }) },
  },
};
