import { Type } from 'typebox';
import { CapstanError, type ErrorCode } from '../../core/errors.js';

/**
 * The `application/problem+json` body every failure answers (RFC 9457). Extra members carry the
 * error's structured fields (e.g. `errors`, `limit`, `requiredRole`), so the object stays open.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'https://capstan.dev/errors#<code>' }),
    title: Type.String({ description: 'The catalogue title of the code; the same for every occurrence' }),
    status: Type.Integer({ description: 'The HTTP status, repeated' }),
    detail: Type.String({ description: 'What went wrong in this request; safe to show a user' }),
    code: Type.String({ description: 'Stable catalogue code `CAPSTAN_<AREA>_<WHAT>` (docs/errors.md); branch on this, not on the text' }),
    instance: Type.Optional(Type.String({ description: 'The request path' })),
  },
  {
    additionalProperties: true,
    description: 'An error as application/problem+json. Further members are structured fields of the error.',
    examples: [
      {
        type: 'https://capstan.dev/errors#CAPSTAN_REGISTRY_MODEL_NOT_FOUND',
        title: 'No such model',
        status: 404,
        detail: 'no model "ncf"',
        code: 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND',
        instance: '/api/v1/models/ncf',
      },
    ],
  },
);

/** The media type of every error answer. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** An example problem document for a catalogue code, as the server would send it for `path`. */
export function exampleProblem(code: ErrorCode, path?: string): Record<string, unknown> {
  return new CapstanError(code).toProblem(path);
}
