import { authContext } from '../auth/index.js';
import { batchContext } from '../batch/index.js';
import { decisionsContext } from '../decisions/index.js';
import { featuresContext } from '../features/index.js';
import { gitopsContext } from '../gitops/index.js';
import { notificationsContext } from '../notifications/index.js';
import { pipelinesContext } from '../pipelines/index.js';
import { registryContext } from '../registry/index.js';
import { rolloutsContext } from '../rollouts/index.js';
import { servingContext } from '../serving/index.js';
import type { ContextModule } from '../storage/context-module.js';

/**
 * Every context the platform installs, in build order: background services start in this order and
 * stop, like `close`, in reverse; routes register in this order. Adding a context is one line here
 * (see docs/architecture.md).
 */
export const contextModules: readonly ContextModule<any>[] = [authContext, servingContext, registryContext, pipelinesContext, rolloutsContext, batchContext, featuresContext, decisionsContext, gitopsContext, notificationsContext];
