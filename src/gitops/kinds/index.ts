import type { KindAdapter } from '../kind-adapter.js';
import { endpointKind } from './endpoint-kind.js';
import { entityKind } from './entity-kind.js';
import { featureGroupKind } from './feature-group-kind.js';
import { modelGroupKind } from './model-group-kind.js';
import { notificationKind } from './notification-kind.js';
import { pipelineKind } from './pipeline-kind.js';
import { triggerKind } from './trigger-kind.js';
import { useCaseKind } from './usecase-kind.js';

/**
 * Every kind `apply` knows, in apply order (a kind may refer to the ones before it; deletes run in
 * reverse). Adding a kind is one adapter file and one line here.
 */
export const resourceKinds: readonly KindAdapter<any>[] = [modelGroupKind, pipelineKind, triggerKind, endpointKind, entityKind, featureGroupKind, useCaseKind, notificationKind];
