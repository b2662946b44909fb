import type { OperationDocs } from './operation-doc.js';

const POLICY_ERRORS = ['CAPSTAN_ROLLOUT_POLICY_INVALID', 'CAPSTAN_ROLLOUT_ALARM_INVALID'] as const;

/** Deployments: safe rollouts with canary or linear traffic shifting, alarms and rollback (docs/serving.md, Rollouts). */
export const rolloutOperations: OperationDocs = {
  'POST /api/v1/endpoints/:name/deployments': {
    operationId: 'startDeployment',
    description:
      'Starts a deployment: green (one `model`, or a list of `variants`) loads beside the serving blue variants and takes traffic in the policy\'s steps — `all-at-once`, `canary` (`canaryPercent` 1-50, then 100 after `waitSeconds` 0-3600) or `linear` (`linearStepPercent` 10-50 per step) — then bakes (`bakeSeconds`), keeps blue loaded for `terminationWaitSeconds`, and releases it. Alarms (`error-rate`, `p99`, either one `relativeToBlue`, or a `cel` condition over `green` and `blue`) are evaluated every `evaluationIntervalSeconds` over the statistics of every serving process; one that fires shifts 100 % back to blue (`onAlarm: rollback`, the default) or holds the shares (`pause`). Everything is validated before anything changes; a second deployment while one runs answers 409 unless `force` (which rolls the running one back first).',
    errors: [...POLICY_ERRORS, 'CAPSTAN_ROLLOUT_NO_PREVIOUS_VERSION', 'CAPSTAN_ROLLOUT_IN_PROGRESS', 'CAPSTAN_SERVING_MODEL_REF_UNRESOLVED', 'CAPSTAN_SERVING_MODEL_NOT_APPROVED', 'CAPSTAN_SERVING_MODEL_LOAD_FAILED', 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID'],
    requestExample: { model: 'models:/ncf/4', policy: { strategy: 'canary', canaryPercent: 10, waitSeconds: 300, evaluationIntervalSeconds: 10, alarms: [{ type: 'error-rate', threshold: 0.02 }, { type: 'p99', threshold: 50, relativeToBlue: true }] } },
  },
  'GET /api/v1/endpoints/:name/deployments': {
    operationId: 'listDeployments',
    description: "The endpoint's deployments, newest first: strategy, traffic steps with times and shares, the latest alarm evaluations, outcome and, for a rollback, the alarm with its values and time. `lineage` lists, per green variant whose model version was trained from a registered repository, that repository and git commit.",
  },
  'GET /api/v1/endpoints/:name/deployments/:id': {
    operationId: 'getDeployment',
    description: 'One deployment with its full history.',
    errors: ['CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND'],
  },
  'POST /api/v1/endpoints/:name/deployments/rollback': {
    operationId: 'rollbackDeployment',
    description: "Rolls the endpoint's running or paused deployment back: blue serves alone again at its old weights, green drains and is released.",
    errors: ['CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND'],
  },
  'POST /api/v1/endpoints/:name/deployments/resume': {
    operationId: 'resumeDeployment',
    description: 'Continues a deployment an alarm paused, from its current step.',
    errors: ['CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND', 'CAPSTAN_ROLLOUT_NOT_PAUSED'],
  },
  'PUT /api/v1/models/:name/auto-deploy': {
    operationId: 'setAutoDeploy',
    description:
      "Sets the model group's auto-deploy policy. On `model_version.approved` (an outbox subscription, so at least once and from whichever process serves it) the approved version rolls out to `endpoint` under `policy`; an endpoint that does not exist yet is created with it. With `supersede` (default true) a deployment still running is rolled back in favour of the newer approval.",
    errors: [...POLICY_ERRORS, 'CAPSTAN_NAME_INVALID'],
    requestExample: { endpoint: 'recs', policy: { strategy: 'linear', linearStepPercent: 25, waitSeconds: 600, alarms: [{ type: 'error-rate', threshold: 0.01 }] } },
  },
  'GET /api/v1/models/:name/auto-deploy': {
    operationId: 'getAutoDeploy',
    description: "The model group's auto-deploy policy.",
    errors: ['CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND'],
  },
  'DELETE /api/v1/models/:name/auto-deploy': {
    operationId: 'removeAutoDeploy',
    description: "Removes the model group's auto-deploy policy; versions approved later are not deployed automatically.",
    errors: ['CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND'],
    responses: { 204: null },
  },
  'GET /api/v1/endpoints/:name/shadow-report': {
    operationId: 'shadowReport',
    description:
      'Compares each shadow variant (a variant with `shadowPercent`) with the variant that answered the user, over the request pairs in data capture (turn capture on to record them): identical answers, for rankings (`items` lists) overlap@k and Spearman rank correlation, the mean score delta (`score` or the mean of `scores`), latency and the shadow\'s errors.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'],
  },
  'POST /api/v1/endpoints/:name/feedback': {
    operationId: 'endpointFeedback',
    description:
      'Joins an outcome to the invocation that produced it: send `X-Capstan-Inference-Id` with the invocation, then `{ inferenceId, reward }` (a number) or `{ inferenceId, label }` (`1`, `true`, `yes`, `converted`, `click`, `positive`, `purchase` count as 1, anything else 0). Reporting again replaces the outcome. An id no variant of the endpoint answered is 404 and nothing is stored; assignments are stored within half a second of the answer by each serving process.',
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', 'CAPSTAN_ROLLOUT_FEEDBACK_INVALID', 'CAPSTAN_ROLLOUT_INFERENCE_NOT_FOUND'],
    requestExample: { inferenceId: 'req-42', reward: 1 },
  },
  'GET /api/v1/endpoints/:name/ab-report': {
    operationId: 'abReport',
    description: "Per variant: invocations with an inference id, outcomes reported, mean reward (conversion for 0/1 rewards) with a 95 % confidence interval; and Welch's t-test of the best variant against the runner-up (normal approximation) with its p-value.",
    errors: ['CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'],
  },
};
