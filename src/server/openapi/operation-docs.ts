import type { OperationDocs } from './operation-doc.js';
import { pipelineOperations } from './pipeline-operations.js';
import { platformOperations } from './platform-operations.js';
import { registryOperations } from './registry-operations.js';
import { rolloutOperations } from './rollout-operations.js';
import { servingOperations } from './serving-operations.js';
import { trackingOperations } from './tracking-operations.js';

/** Every operation's documentation, by `METHOD /url`; a test fails for a route that has none. */
export const operationDocs: OperationDocs = { ...platformOperations, ...registryOperations, ...trackingOperations, ...servingOperations, ...rolloutOperations, ...pipelineOperations };
