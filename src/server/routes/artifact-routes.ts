import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { Type } from 'typebox';
import { CapstanError } from '../../core/errors.js';
import { assertVersionFilesWritable } from '../../registry/index.js';
import { normalizeKey, normalizePrefix } from '../../storage/artifacts/normalize-key.js';
import type { RoutePlugin } from './index.js';

/** Largest single artifact accepted over HTTP (1 GiB); bigger files belong in the store directly (S3). */
export const MAX_ARTIFACT_UPLOAD_BYTES = 1024 * 1024 * 1024;

/** Passes bytes through and fails with CAPSTAN_REQUEST_TOO_LARGE past a limit, so an upload cannot fill the disk. */
function sizeLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) done(new CapstanError('CAPSTAN_REQUEST_TOO_LARGE', `an artifact upload may be at most ${limit} bytes`));
      else done(null, chunk);
    },
  });
}

/** An artifact in the store: key, store URI, size, digest and time. */
export const ArtifactInfoSchema = Type.Object({ key: Type.String(), uri: Type.String(), size: Type.Integer(), sha256: Type.String(), modifiedAt: Type.String() });

/**
 * Raw artifact transfer: `PUT /api/v1/artifacts/{key}` streams the body into the store (editor) and
 * `GET` streams an object back (viewer). The CLI and SDK use it to upload model packages before
 * registering them over `--url`, and to pull packages. Keys go through the store's normalisation,
 * so traversal and the reserved staging area are refused.
 */
export const artifactRoutes: RoutePlugin = async (app, { platform }) => {
  const { artifacts } = platform;
  const tags = ['artifacts'];
  // Any content type is stored as-is; the body is streamed, never buffered or parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const KeyParams = Type.Object({ '*': Type.String({ minLength: 1, maxLength: 1024 }) });

  app.get(
    '/api/v1/artifacts',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'List the artifacts under a key prefix (a key prefix, not a directory: `a` matches `a/x` and `ab`)',
        querystring: Type.Object({ prefix: Type.Optional(Type.String({ maxLength: 1024 })) }),
        response: { 200: Type.Object({ artifacts: Type.Array(ArtifactInfoSchema) }) },
      },
    },
    async (request) => {
      const prefix = normalizePrefix((request.query as { prefix?: string }).prefix ?? '');
      return { artifacts: (await artifacts.list(prefix)).map((info) => ({ ...info, uri: artifacts.uriFor(info.key) })) };
    },
  );

  app.put(
    '/api/v1/artifacts/*',
    {
      config: { access: 'editor' },
      bodyLimit: MAX_ARTIFACT_UPLOAD_BYTES,
      schema: { tags, summary: 'Upload one artifact (raw body)', params: KeyParams, response: { 201: ArtifactInfoSchema } },
    },
    async (request, reply) => {
      const key = normalizeKey((request.params as { '*': string })['*']);
      assertVersionFilesWritable(key);
      const body = request.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function') throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'send the artifact bytes as the request body');
      const limited = body.pipe(sizeLimit(MAX_ARTIFACT_UPLOAD_BYTES));
      body.on('error', (err) => limited.destroy(err));
      const info = await artifacts.put(key, limited);
      reply.code(201);
      return { ...info, uri: artifacts.uriFor(info.key) };
    },
  );

  app.get(
    '/api/v1/artifacts/*',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Download one artifact', params: KeyParams } },
    async (request, reply) => {
      const key = normalizeKey((request.params as { '*': string })['*']);
      const info = await artifacts.stat(key);
      if (!info) throw new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', `no artifact ${key}`, { fields: { key } });
      reply.header('content-type', 'application/octet-stream');
      reply.header('content-length', String(info.size));
      reply.header('x-capstan-sha256', info.sha256);
      reply.header('x-capstan-modified-at', info.modifiedAt);
      // Header values are Latin-1 at most; percent-encoding lets keys in any script through.
      reply.header('x-capstan-uri', encodeURI(artifacts.uriFor(key)));
      return reply.send(await artifacts.stream(key));
    },
  );
};
