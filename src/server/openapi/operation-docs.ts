import type { OperationDocs } from './operation-doc.js';
import { batchOperations } from './batch-operations.js';
import { consoleOperations } from './console-operations.js';
import { featuresOperations } from './features-operations.js';
import { gitopsOperations } from './gitops-operations.js';
import { notificationOperations } from './notification-operations.js';
import { pipelineOperations } from './pipeline-operations.js';
import { platformOperations } from './platform-operations.js';
import { registryOperations } from './registry-operations.js';
import { rolloutOperations } from './rollout-operations.js';
import { servingOperations } from './serving-operations.js';
import { decisionsOperations } from './decisions-operations.js';
import { trackingOperations } from './tracking-operations.js';

/** Every operation's documentation, by `METHOD /url`; a test fails for a route that has none. */
export const operationDocs: OperationDocs = { ...platformOperations, ...registryOperations, ...trackingOperations, ...servingOperations, ...rolloutOperations, ...pipelineOperations, ...batchOperations, ...featuresOperations, ...decisionsOperations, ...gitopsOperations, ...notificationOperations, ...consoleOperations };
