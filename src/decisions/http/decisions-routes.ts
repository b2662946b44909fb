import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { DecisionCallback, DecisionService } from '../decision-service.js';
import type { DecisionQuery, DecisionRecord } from '../decision-types.js';
import { PARQUET_CONTENT_TYPE, recordsParquet } from '../parquet-export.js';

const UseCase = Type.Object({ usecase: Type.String() });
const Name = Type.Object({ name: Type.String() });
const Id = Type.Object({ id: Type.String() });

const recordFilters = {
  usecase: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  outcome: Type.Optional(Type.String()),
  status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('error')])),
  role: Type.Optional(Type.Union([Type.Literal('champion'), Type.Literal('challenger')])),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  since: Type.Optional(Type.String({ description: 'ISO time, inclusive' })),
  until: Type.Optional(Type.String({ description: 'ISO time, exclusive' })),
  before: Type.Optional(Type.String({ description: 'Page: records with ids before this one' })),
};
const RecordQuery = Type.Object({ ...recordFilters, limit: Type.Optional(Type.Integer({ description: 'Default 100, 1 to 1000' })) }, { additionalProperties: false });
const ExportQuery = Type.Object(
  {
    ...recordFilters,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Most records; default 100000' })),
    format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('parquet')], { description: 'jsonl (default) or parquet' })),
  },
  { additionalProperties: false },
);

/** Every record a search matches (newest first, up to `want`), page by page. */
async function* matching(service: DecisionService, query: DecisionQuery, want: number): AsyncGenerator<DecisionRecord[]> {
  let before = query.before;
  let got = 0;
  while (got < want) {
    const asked = Math.min(1000, want - got);
    const page = await service.records({ ...query, before, limit: asked });
    if (page.length > 0) yield page;
    got += page.length;
    if (page.length < asked) return;
    before = page[page.length - 1].id;
  }
}

/** Use cases, decisions (sync and async), records, export, replay and champion/challenger under `/api/v1/decisions`. */
export const decisionsRoutes: ContextRoutes<DecisionService> = async (app, { service }) => {
  app.post(
    '/api/v1/decisions/usecases',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['decisions'],
        summary: 'Apply a use-case definition as its next version (a draft unless activate); refused when it does not compile, names an unknown task, has a cycle or a blocked URL',
        body: Type.Object({ definition: Type.Record(Type.String(), Type.Unknown()), activate: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const body = request.body as { definition: unknown; activate?: boolean };
      const result = await service.apply(body.definition, { activate: body.activate, actor: actorOf(request) });
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );
  app.get('/api/v1/decisions/usecases', { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: 'List use cases with their latest, active and challenger versions' } }, async () => ({ items: await service.useCases() }));
  app.get(
    '/api/v1/decisions/usecases/:name',
    { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: "A use case's version definition (default the active one)", params: Name, querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }) } },
    async (request) => service.describe((request.params as { name: string }).name, (request.query as { version?: number }).version),
  );
  app.post(
    '/api/v1/decisions/usecases/:name/activate',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['decisions'],
        summary: 'Make a version active, or the shadow challenger (version null with challenger stops the shadow; without it retires the use case)',
        params: Name,
        body: Type.Object({ version: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), challenger: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const body = request.body as { version: number | null; challenger?: boolean };
      return service.activate((request.params as { name: string }).name, body.version, { challenger: body.challenger });
    },
  );
  app.post(
    '/api/v1/decisions/usecases/:name/replay',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['decisions'],
        summary: "Re-evaluate recorded decisions against a version's rules and thresholds (no model calls)",
        params: Name,
        body: Type.Object(
          { version: Type.Integer({ minimum: 1 }), since: Type.String(), until: Type.Optional(Type.String()), examples: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => service.replay((request.params as { name: string }).name, request.body as { version: number; since: string }),
  );
  app.get(
    '/api/v1/decisions/usecases/:name/compare',
    { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: 'Champion and challenger outcome rates since a time', params: Name, querystring: Type.Object({ since: Type.String() }, { additionalProperties: false }) } },
    async (request) => service.compare((request.params as { name: string }).name, (request.query as { since: string }).since),
  );
  app.get('/api/v1/decisions', { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: 'Search decision records, newest first', querystring: RecordQuery } }, async (request) => ({
    items: await service.records(request.query as DecisionQuery),
  }));
  app.get(
    '/api/v1/decisions/export',
    { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: 'Decision records with their snapshots as JSON Lines (streamed) or a Parquet file', querystring: ExportQuery } },
    async (request, reply) => {
      const { format = 'jsonl', limit = 100_000, ...query } = request.query as DecisionQuery & { format?: 'jsonl' | 'parquet' };
      const pages = matching(service, query, limit);
      // The first page is read before answering, so a bad query or unknown use case answers its problem, not a broken stream.
      const first = await pages.next();
      if (format === 'parquet') {
        const records = first.done ? [] : [...first.value];
        for await (const page of pages) records.push(...page);
        return reply
          .header('content-type', PARQUET_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${query.usecase ?? 'decisions'}.parquet"`)
          .send(Buffer.from(recordsParquet(records)));
      }
      const lines = async function* () {
        if (first.done) return;
        yield first.value.map((r) => `${JSON.stringify(r)}\n`).join('');
        for await (const page of pages) yield page.map((r) => `${JSON.stringify(r)}\n`).join('');
      };
      return reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines()));
    },
  );
  app.get('/api/v1/decisions/records/:id', { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: 'One decision record with its point-in-time snapshot', params: Id } }, async (request) =>
    service.record((request.params as { id: string }).id),
  );
  app.get('/api/v1/decisions/requests/:id', { config: { access: 'viewer' }, schema: { tags: ['decisions'], summary: 'An asynchronous decision request: queued, done or failed, with its record', params: Id } }, async (request) =>
    service.request((request.params as { id: string }).id),
  );
  app.post(
    '/api/v1/decisions/:usecase',
    { config: { access: 'invoker' }, schema: { tags: ['decisions'], summary: "Make a decision with the use case's active version; the body is the input its schema describes", params: UseCase } },
    async (request) => service.decide((request.params as { usecase: string }).usecase, request.body),
  );
  app.post(
    '/api/v1/decisions/:usecase/async',
    {
      config: { access: 'invoker' },
      schema: {
        tags: ['decisions'],
        summary: 'Queue a decision; answers 202 with a request id at once; the result is read by id and POSTed, signed, to the callback',
        params: UseCase,
        body: Type.Object(
          { input: Type.Unknown(), callback: Type.Optional(Type.Object({ url: Type.String(), secret: Type.Optional(Type.String()) }, { additionalProperties: false })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const body = request.body as { input: unknown; callback?: DecisionCallback };
      return reply.code(202).send(await service.decideAsync((request.params as { usecase: string }).usecase, body.input, body.callback));
    },
  );
};
