import type { StepType } from '../definition.js';
import { runCommandStep } from './command-step.js';
import { runFunctionStep } from './function-step.js';
import { refreshCachedRegistration, runRegisterModelStep } from './register-model-step.js';
import { runConditionStep, runDeployStep, runFailStep } from './simple-steps.js';
import { runTransformStep } from './transform-step.js';
import type { StepHandler, StepServices } from './step-handler.js';

/** The handler of every step type. */
export const stepHandlers: Record<StepType, StepHandler> = {
  processing: runCommandStep,
  training: runCommandStep,
  evaluation: runCommandStep,
  condition: runConditionStep,
  'register-model': runRegisterModelStep,
  deploy: runDeployStep,
  transform: runTransformStep,
  function: runFunctionStep,
  fail: runFailStep,
};

/**
 * Step types whose result, when taken from the cache, still reflects state that may have moved since
 * (a registered version's approval); the rest reuse the cached properties as they are.
 */
export const cachedPropertyRefreshers: Partial<Record<StepType, (properties: Record<string, unknown>, services: StepServices) => Promise<Record<string, unknown>>>> = {
  'register-model': refreshCachedRegistration,
};

export type { DeployRequest, PipelineDeployer, PipelineFeatureProvider, StepServices, StepTrainingSet, StepTrainingSetRequest } from './step-handler.js';
export type { PipelineTransformer, TransformRequest } from './step-handler.js';
