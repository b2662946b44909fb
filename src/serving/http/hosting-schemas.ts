import { Type } from 'typebox';

/** The `pipeline` block of a variant in the endpoints API: 2-5 stages (counts checked by the endpoint config, as embedded). */
export const PipelineSchema = Type.Array(
  Type.Object(
    {
      name: Type.Optional(Type.String({ description: 'Stage name, used in errors and capture records; default stage-<n>' })),
      model: Type.Optional(Type.String({ description: 'models:/pre/1 (exclusive with url)' })),
      url: Type.Optional(Type.String({ description: 'External model server called with the previous stage output; the outbound guard applies (exclusive with model)' })),
      timeoutMs: Type.Optional(Type.Integer({ description: "The stage's own timeout (504 naming it after); default the variant's timeoutMs" })),
      capture: Type.Optional(Type.Boolean({ description: "Capture this stage's input and output too; default false" })),
      handlerOptions: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "Handler options of the stage's model" })),
      outputContentType: Type.Optional(Type.String({ description: 'Media type the stage answers with, checked against the next stage at create; default unknown' })),
    },
    { additionalProperties: false },
  ),
  { description: 'A serial inference pipeline: each stage answer is the next stage request (2 to 5 stages)' },
);

/** The `scaling` block of a variant in the endpoints API. */
export const ScalingSchema = Type.Object(
  {
    min: Type.Optional(Type.Integer({ description: 'Fewest workers; 0 scales to zero after idleTimeoutMs; default 1' })),
    max: Type.Optional(Type.Integer({ description: 'Most workers; default max(min, 4)' })),
    targetInFlight: Type.Optional(Type.Integer({ description: 'In-flight requests per worker aimed for; default 4' })),
    idleTimeoutMs: Type.Optional(Type.Integer({ description: 'With min 0: idle time before the last worker stops; default 300000' })),
    scaleUpCooldownMs: Type.Optional(Type.Integer({ description: 'Least time between scale-ups; default 1000' })),
    scaleDownCooldownMs: Type.Optional(Type.Integer({ description: 'Time below target before one worker is removed; default 30000' })),
    queueSize: Type.Optional(Type.Integer({ description: 'Requests that may wait for a start from zero; 503 with Retry-After past it; default 100' })),
  },
  { additionalProperties: false, description: 'Autoscaling on observed concurrency, per serving process (instances is then ignored)' },
);
