import { Type } from 'typebox';
import { assertName } from '../../core/names.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { GitopsService } from '../gitops-service.js';
import { writeUploadedCode } from './uploaded-code.js';

const tags = ['gitops'];
const Name = Type.String({ minLength: 1, maxLength: 63 });
const ApplyBody = Type.Object({
  files: Type.Array(Type.Object({ path: Type.String({ minLength: 1, maxLength: 500 }), text: Type.String() }), { minItems: 1, maxItems: 1000 }),
  code: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()), { description: '`<file>#<code>` → the code directory a Pipeline names: relative path → base64' })),
  dryRun: Type.Optional(Type.Boolean()),
  prune: Type.Optional(Type.Boolean()),
  set: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
});
const RepoBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63 }),
  url: Type.String({ minLength: 1, maxLength: 2000 }),
  branch: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  path: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
});

interface ApplyBodyT {
  files: { path: string; text: string }[];
  code?: Record<string, Record<string, string>>;
  dryRun?: boolean;
  prune?: boolean;
  set?: string;
}

/** `/api/v1/apply`, `/api/v1/resources/:kind[/:name]` and `/api/v1/repositories` (with the push webhook). */
export const gitopsRoutes: ContextRoutes<GitopsService> = async (app, { service: svc }) => {
  app.post('/api/v1/apply', { config: { access: 'editor' }, schema: { tags, summary: 'Apply resource files (or plan them with dryRun)', body: ApplyBody } }, async (req) => {
    const body = req.body as ApplyBodyT;
    // Files applied over HTTP never name the server's own directories: code travels with them.
    const uploaded = await writeUploadedCode(body.code ?? {});
    try {
      return await svc.apply({ files: body.files.map((f) => ({ path: f.path, text: f.text })), codeDirs: uploaded.dirs, dryRun: body.dryRun, prune: body.prune, set: body.set, role: req.principal?.role });
    } finally {
      await uploaded.dispose();
    }
  });

  app.get('/api/v1/resources/:kind', { config: { access: 'viewer' }, schema: { tags, summary: 'Resources of a kind as apply documents', params: Type.Object({ kind: Name }) } }, async (req) => ({
    resources: await svc.get((req.params as { kind: string }).kind),
  }));

  app.get('/api/v1/resources/:kind/:name', { config: { access: 'viewer' }, schema: { tags, summary: 'One resource as an apply document', params: Type.Object({ kind: Name, name: Name }) } }, async (req) => {
    const p = req.params as { kind: string; name: string };
    return (await svc.get(p.kind, p.name))[0];
  });

  app.delete('/api/v1/resources/:kind/:name', { config: { access: 'editor' }, schema: { tags, summary: 'Delete one resource', params: Type.Object({ kind: Name, name: Name }) } }, async (req, reply) => {
    const p = req.params as { kind: string; name: string };
    await svc.delete(p.kind, p.name, req.principal?.role);
    return reply.code(204).send();
  });

  app.post('/api/v1/repositories', { config: { access: 'admin' }, schema: { tags, summary: 'Register a git repository', body: RepoBody } }, async (req, reply) => {
    return reply.code(201).send(await svc.addRepository(req.body as { name: string; url: string; branch?: string; path?: string }));
  });

  app.get('/api/v1/repositories', { config: { access: 'viewer' }, schema: { tags, summary: 'List repositories' } }, async () => ({ repositories: await svc.listRepositories() }));

  app.get('/api/v1/repositories/:name', { config: { access: 'viewer' }, schema: { tags, summary: 'A repository with its recent syncs', params: Type.Object({ name: Name }) } }, async (req) =>
    svc.describeRepository((req.params as { name: string }).name),
  );

  app.delete('/api/v1/repositories/:name', { config: { access: 'admin' }, schema: { tags, summary: 'Forget a repository (its resources stay)', params: Type.Object({ name: Name }) } }, async (req, reply) => {
    await svc.removeRepository((req.params as { name: string }).name);
    return reply.code(204).send();
  });

  app.post('/api/v1/repositories/:name/sync', { config: { access: 'editor' }, schema: { tags, summary: 'Fetch and apply the branch head now', params: Type.Object({ name: Name }) } }, async (req) =>
    svc.syncRepository((req.params as { name: string }).name),
  );

  // The signature covers the exact bytes, so this route parses nothing before it is verified.
  await app.register(async (hook) => {
    hook.removeContentTypeParser('application/json');
    hook.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    hook.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    hook.post(
      '/api/v1/repositories/:name/webhook',
      { config: { access: 'signature' }, schema: { tags, summary: 'Push webhook (GitHub X-Hub-Signature-256, Gitea X-Gitea-Signature, GitLab X-Gitlab-Token)', params: Type.Object({ name: Name }) } },
      async (req, reply) => {
        const name = assertName((req.params as { name: string }).name, 'repository name');
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        return reply.code(202).send(await svc.receivePush(name, req.headers, body));
      },
    );
  });
};
