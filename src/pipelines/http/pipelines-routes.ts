import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Type } from 'typebox';
import { CapstanError } from '../../core/errors.js';
import { assertName } from '../../core/names.js';
import { parsePipelineYaml } from '../pipeline-source.js';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { PipelineService } from '../pipeline-service.js';

const tags = ['pipelines'];
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });
const ExecParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }), id: Type.String({ minLength: 1, maxLength: 100 }) });
const Any = Type.Unknown();
const ApplyBody = Type.Object({
  yaml: Type.String({ minLength: 1, description: 'The pipeline definition (YAML or JSON text)' }),
  file: Type.Optional(Type.String({ maxLength: 200, description: 'File name shown in validation errors' })),
  files: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'The code directory: relative path → base64 content' })),
});
const RunBody = Type.Object({ params: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });

// Fastify's TypeBox inference does not reach handlers registered on the plain plugin instance, so
// (as in the other route files) the validated shapes are named here.
interface ApplyInput {
  yaml: string;
  file?: string;
  files?: Record<string, string>;
}
type NameP = { name: string };
type ExecP = { name: string; id: string };

/** Writes uploaded code files into a temp dir (paths checked to stay inside it). */
async function materialise(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'capstan-apply-'));
  for (const [rel, b64] of Object.entries(files)) {
    const parts = rel.split('/');
    if (rel.startsWith('/') || parts.some((p) => p === '..' || p === '' || p === '.') || rel.includes('\\') || rel.includes('\0')) {
      await rm(dir, { recursive: true, force: true });
      throw new CapstanError('CAPSTAN_PIPELINE_CODE_INVALID', `code file path ${JSON.stringify(rel.slice(0, 100))} is not a safe relative path`);
    }
    await mkdir(path.join(dir, ...parts.slice(0, -1)), { recursive: true });
    await writeFile(path.join(dir, ...parts), Buffer.from(b64, 'base64'));
  }
  return dir;
}

/** Pipelines: `/api/v1/pipelines` — validate, apply, run, executions, logs (JSON or SSE), log search, webhooks. */
export const pipelinesRoutes: ContextRoutes<PipelineService> = async (app, { service: svc, logger }) => {

  app.post('/api/v1/pipelines/validate', { config: { access: 'viewer' }, schema: { tags, summary: 'Validate a definition without storing it', body: ApplyBody } }, async (req) => {
    const body = req.body as ApplyInput;
    const def = svc.validateYaml(body.yaml, body.file ?? 'pipeline.yaml');
    return { valid: true, pipeline: def };
  });

  app.put('/api/v1/pipelines', { config: { access: 'editor' }, schema: { tags, summary: 'Create or update a pipeline', body: ApplyBody } }, async (req) => {
    // A definition applied over HTTP may only snapshot code it uploads, never the server's own files.
    const body = req.body as ApplyInput;
    const dir = await materialise(body.files ?? {});
    try {
      // The uploaded files are the code directory's contents, whatever path `code` names on the client.
      const source = { ...parsePipelineYaml(body.yaml, body.file ?? 'pipeline.yaml', dir), codeDir: body.files ? dir : undefined };
      const result = await svc.apply(source);
      logger.info({ pipeline: result.pipeline.name, version: result.pipeline.version, actor: actorOf(req) }, 'pipeline applied');
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  app.get('/api/v1/pipelines', { config: { access: 'viewer' }, schema: { tags, summary: 'List pipelines' } }, async () => ({ pipelines: await svc.list() }));

  app.get('/api/v1/pipelines/:name', { config: { access: 'viewer' }, schema: { tags, summary: 'Describe a pipeline', params: NameParams } }, async (req) => svc.describe((req.params as NameP).name));

  app.delete('/api/v1/pipelines/:name', { config: { access: 'editor' }, schema: { tags, summary: 'Delete a pipeline (executions stay)', params: NameParams } }, async (req, reply) => {
    await svc.delete((req.params as NameP).name);
    return reply.code(204).send();
  });

  app.post('/api/v1/pipelines/:name/executions', { config: { access: 'editor' }, schema: { tags, summary: 'Start an execution with parameter overrides', params: NameParams, body: Type.Optional(RunBody) } }, async (req, reply) => {
    const exec = await svc.start((req.params as NameP).name, { params: (req.body as { params?: Record<string, unknown> } | undefined)?.params, trigger: { type: 'manual', by: actorOf(req) } });
    return reply.code(201).send(exec);
  });

  app.get(
    '/api/v1/pipelines/:name/executions',
    { config: { access: 'viewer' }, schema: { tags, summary: 'List executions, newest first', params: NameParams, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) } },
    async (req) => ({ executions: await svc.executions({ pipeline: (req.params as NameP).name, limit: (req.query as { limit?: number }).limit }) }),
  );

  app.get('/api/v1/pipelines/:name/executions/:id', { config: { access: 'viewer' }, schema: { tags, summary: 'One execution with its steps', params: ExecParams, response: { 200: Any } } }, async (req) => {
    const p = req.params as ExecP;
    const exec = await svc.execution(p.id);
    if (exec.pipeline !== p.name) throw new CapstanError('CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND', `no execution "${p.id}" of pipeline "${p.name}"`);
    return exec;
  });

  app.get(
    '/api/v1/pipeline-executions',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Executions of every pipeline, newest first', querystring: Type.Object({ pipeline: Type.Optional(Type.String({ maxLength: 63 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) } },
    async (req) => {
      const q = req.query as { pipeline?: string; limit?: number };
      return { executions: await svc.executions({ pipeline: q.pipeline, limit: q.limit }) };
    },
  );

  app.get('/api/v1/pipeline-executions/:id', { config: { access: 'viewer' }, schema: { tags, summary: 'One execution by id', params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }), response: { 200: Any } } }, async (req) => svc.execution((req.params as { id: string }).id));

  app.post('/api/v1/pipelines/:name/executions/:id/cancel', { config: { access: 'editor' }, schema: { tags, summary: 'Cancel an execution', params: ExecParams } }, async (req) => svc.cancel((req.params as ExecP).id));

  app.get(
    '/api/v1/pipelines/:name/executions/:id/logs',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Step logs: JSON, or a live Server-Sent Events stream with `Accept: text/event-stream` or `follow=true`',
        params: ExecParams,
        querystring: Type.Object({ step: Type.Optional(Type.String({ maxLength: 63 })), attempt: Type.Optional(Type.Integer({ minimum: 1 })), follow: Type.Optional(Type.Boolean()) }),
      },
    },
    async (req, reply) => {
      const p = req.params as ExecP;
      const query = req.query as { step?: string; attempt?: number; follow?: boolean };
      const exec = await svc.execution(p.id);
      if (exec.pipeline !== p.name) throw new CapstanError('CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND', `no execution "${p.id}" of pipeline "${p.name}"`);
      const sse = query.follow === true || (req.headers.accept ?? '').includes('text/event-stream');
      if (!sse) return { lines: await svc.executionLogs(p.id, { step: query.step, attempt: query.attempt }) };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let open = true;
      req.raw.on('close', () => (open = false));
      const follower = svc.follow(p.id, query.step);
      while (open) {
        for (const line of await follower.next()) res.write(`event: log\ndata: ${JSON.stringify(line)}\n\n`);
        const state = (await svc.execution(p.id)).state;
        if (state === 'succeeded' || state === 'failed' || state === 'cancelled') {
          for (const line of await follower.next()) res.write(`event: log\ndata: ${JSON.stringify(line)}\n\n`);
          res.write(`event: end\ndata: ${JSON.stringify({ state })}\n\n`);
          break;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      res.end();
    },
  );

  app.get(
    '/api/v1/pipeline-logs',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Search step logs across executions by text or regex and time range',
        querystring: Type.Object({
          q: Type.String({ minLength: 1, maxLength: 500 }),
          regex: Type.Optional(Type.Boolean()),
          pipeline: Type.Optional(Type.String({ maxLength: 63 })),
          execution: Type.Optional(Type.String({ maxLength: 100 })),
          step: Type.Optional(Type.String({ maxLength: 63 })),
          since: Type.Optional(Type.String({ description: 'ISO time' })),
          until: Type.Optional(Type.String({ description: 'ISO time' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
        }),
      },
    },
    async (req) => {
      const q = req.query as { q: string; regex?: boolean; pipeline?: string; execution?: string; step?: string; since?: string; until?: string; limit?: number };
      const time = (s: string | undefined, what: string) => {
        if (s === undefined) return undefined;
        const t = Date.parse(s);
        if (Number.isNaN(t)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${what} is not an ISO time`);
        return t;
      };
      return { lines: await svc.searchLogs({ pattern: q.q, regex: q.regex, pipeline: q.pipeline, executionId: q.execution, step: q.step, since: time(q.since, 'since'), until: time(q.until, 'until'), limit: q.limit }) };
    },
  );

  // Documented only (all optional): which headers are required depends on the scheme, which the receiver works out.
  const opt = (description: string) => Type.Optional(Type.String({ description }));
  const WebhookHeaders = Type.Object({
    'webhook-id': opt('Standard Webhooks: message id, the same on every retry'),
    'webhook-timestamp': opt('Standard Webhooks: Unix seconds of this attempt; refused when more than 5 minutes from now'),
    'webhook-signature': opt('Standard Webhooks: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, several space-separated'),
    'x-hub-signature-256': opt('GitHub: `sha256=<hex HMAC-SHA256 of the body>`'),
    'x-github-delivery': opt('GitHub: delivery GUID'),
    'x-gitlab-token': opt("GitLab: the trigger's secret itself"),
    'idempotency-key': opt('GitLab: the same on every retry of one event'),
    'x-gitlab-event-uuid': opt('GitLab: event id'),
    'x-capstan-signature': opt('Deprecated: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`'),
    'x-capstan-delivery': opt('Deprecated: sender id for the X-Capstan-Signature scheme'),
  });

  // The webhook needs the exact bytes that were signed, so this one route parses JSON itself.
  await app.register(async (hook) => {
    hook.removeContentTypeParser('application/json');
    hook.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    hook.post(
      '/api/v1/pipelines/:name/webhooks/:trigger',
      {
        config: { access: 'signature' },
        schema: {
          tags,
          summary: 'Start an execution from a signed webhook (Standard Webhooks, GitHub X-Hub-Signature-256 or GitLab X-Gitlab-Token)',
          params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }), trigger: Type.String({ minLength: 1, maxLength: 63 }) }),
          headers: WebhookHeaders,
        },
      },
      async (req, reply) => {
        const { name, trigger } = req.params as { name: string; trigger: string };
        assertName(name, 'pipeline name');
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const out = await svc.webhooks.receive({ pipeline: name, trigger, body, headers: req.headers });
        if (out.deprecation) reply.header('deprecation', out.deprecation);
        // A replay or a sender's retry is acknowledged (so the sender stops retrying) and starts nothing.
        if (!out.started) return reply.code(200).send({ duplicate: true, started: false, executionId: out.executionId });
        return reply.code(202).send(out.execution);
      },
    );
  });
};
