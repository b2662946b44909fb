import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';

/** The live execution stream the console's graph draws from and the step metric series it charts (the console's session routes under /console/ are not part of the API). */
export const consoleOperations: OperationDocs = {
  'GET /api/v1/pipeline-executions/:id/events': {
    operationId: 'streamExecutionEvents',
    description: 'text/event-stream: an `execution` event (the whole execution with its steps) whenever it changes; the stream ends when the execution does.',
    errors: ['CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND'],
    responses: { 200: Type.String({ description: 'Server-Sent Events' }) },
  },
  'GET /api/v1/pipeline-executions/:id/steps/:step/metric-series': {
    operationId: 'stepMetricSeries',
    description: "Each metric of a step's `metric_definitions` as a series of [index, value] points read from the step's logs, cut to `points` per series keeping each bucket's min and max (`total` says how many there were).",
    errors: ['CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND', 'CAPSTAN_PIPELINE_NOT_FOUND'],
    responses: { 200: Type.Object({ execution: Type.String(), step: Type.String(), series: Type.Array(Type.Object({ name: Type.String(), total: Type.Integer(), points: Type.Array(Type.Tuple([Type.Number(), Type.Number()])) })) }) },
  },
};
