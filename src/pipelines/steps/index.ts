import type { StepType } from '../definition.js';
import { runCommandStep } from './command-step.js';
import { runFunctionStep } from './function-step.js';
import { runRegisterModelStep } from './register-model-step.js';
import { runConditionStep, runDeployStep, runFailStep } from './simple-steps.js';
import type { StepHandler } from './step-handler.js';

/** The handler of every step type. */
export const stepHandlers: Record<StepType, StepHandler> = {
  processing: runCommandStep,
  training: runCommandStep,
  evaluation: runCommandStep,
  condition: runConditionStep,
  'register-model': runRegisterModelStep,
  deploy: runDeployStep,
  function: runFunctionStep,
  fail: runFailStep,
};

export type { DeployRequest, PipelineDeployer, StepServices } from './step-handler.js';
