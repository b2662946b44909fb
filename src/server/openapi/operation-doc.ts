import type { TSchema } from 'typebox';
import type { ErrorCode } from '../../core/errors.js';

/** One media type of a documentation-only request body. */
export interface DocMedia {
  /** A component (documented as a reference to it) or any JSON schema; default any value. */
  schema?: TSchema | Record<string, unknown>;
  example?: unknown;
}

/**
 * The documentation of one operation, kept beside the routes (one file per area) and merged into the
 * OpenAPI document by `openapiTransforms`. Nothing here is used to validate or serialise a request.
 */
export interface OperationDoc {
  /** Unique, camelCase; the name a generated client gives the call. */
  operationId: string;
  /** Used when the route declares no summary. */
  summary?: string;
  /** What the operation does, for whom, and what to expect; Markdown. */
  description: string;
  /** Catalogue codes this operation answers besides the generic ones (auth, validation, body, 500). */
  errors?: ErrorCode[];
  /** An example JSON request body (for routes with a body schema). */
  requestExample?: unknown;
  /** A request body for routes whose body Fastify does not parse (raw, CSV, binary): by media type. */
  requestBody?: { description: string; content: Record<string, DocMedia> };
  /**
   * Success responses for routes that declare no response schema (status → schema, or `null` for no
   * body). Where the route declares one, the route's own schema is documented instead.
   */
  responses?: Record<number, TSchema | null>;
  /** Description of the success response; default the schema's description. */
  responseDescription?: string;
  /** An example of the success response body. */
  responseExample?: unknown;
  /** Content type of the success response when it is not JSON (e.g. `application/octet-stream`). */
  responseContentType?: string;
  /** The success response by media type, for routes that answer in several formats (a query parameter picks one). */
  responseContent?: Record<string, DocMedia>;
}

/** Operation docs keyed by `METHOD /fastify/url/:param`, e.g. `GET /api/v1/models/:name`. */
export type OperationDocs = Record<string, OperationDoc>;
