import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { actorOf } from '../../auth/index.js';
import { CapstanError } from '../../core/errors.js';
import type { ServingActionContext } from '../../serving/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import { ALARM_TYPES } from '../alarms.js';
import { DEPLOYMENT_STRATEGIES, ON_ALARM_ACTIONS } from '../deployment-policy.js';
import type { AutoDeployInput } from '../auto-deploy.js';
import type { FeedbackInput } from '../feedback.js';
import type { RolloutService, StartDeploymentInput } from '../rollout-service.js';

const Name = Type.Object({ name: Type.String() });
const NameId = Type.Object({ name: Type.String(), id: Type.String() });

const Alarm = Type.Object(
  {
    name: Type.Optional(Type.String()),
    type: Type.Union(ALARM_TYPES.map((t) => Type.Literal(t)), { description: 'error-rate (fraction of 5xx), p99 (ms), cel, or quality (output scores against blue)' }),
    threshold: Type.Optional(Type.Number({ description: 'error-rate: 0-1; p99: ms; with relativeToBlue, how far above blue' })),
    relativeToBlue: Type.Optional(Type.Boolean()),
    expression: Type.Optional(Type.String({ description: 'cel: a condition over green and blue, e.g. green.errorRate > blue.errorRate + 0.02' })),
    statistic: Type.Optional(Type.Union([Type.Literal('psi'), Type.Literal('ks')], { description: 'quality: psi (default) or ks over output scores' })),
    minRequests: Type.Optional(Type.Integer({ minimum: 0 })),
    windowSeconds: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

// Ranges are checked by the policy compiler (CAPSTAN_ROLLOUT_POLICY_INVALID naming the field), as embedded.
const Policy = Type.Object(
  {
    strategy: Type.Union(DEPLOYMENT_STRATEGIES.map((s) => Type.Literal(s))),
    canaryPercent: Type.Optional(Type.Number({ description: '1-50; default 10' })),
    linearStepPercent: Type.Optional(Type.Number({ description: '10-50; default 25' })),
    waitSeconds: Type.Optional(Type.Number({ description: '0-3600; default 60' })),
    bakeSeconds: Type.Optional(Type.Number({ description: '0-3600; default 0' })),
    terminationWaitSeconds: Type.Optional(Type.Number({ description: '0-3600; default 0' })),
    maxExecutionSeconds: Type.Optional(Type.Number({ description: '600-14400; default 14400' })),
    evaluationIntervalSeconds: Type.Optional(Type.Number({ description: '1-300; default 10' })),
    onAlarm: Type.Optional(Type.Union(ON_ALARM_ACTIONS.map((a) => Type.Literal(a)))),
    alarms: Type.Optional(Type.Array(Alarm)),
  },
  { additionalProperties: false },
);

function context(request: FastifyRequest, allowUnapproved?: { reason: string }): ServingActionContext {
  const ctx: ServingActionContext = { actor: actorOf(request) };
  if (allowUnapproved === undefined) return ctx;
  const role = request.principal?.role;
  if (role !== undefined && role !== 'admin') {
    throw new CapstanError('CAPSTAN_AUTH_FORBIDDEN', `deploying an unapproved version needs role admin; the key has role ${role}`, { fields: { requiredRole: 'admin', role } });
  }
  return { ...ctx, allowUnapproved };
}

/** Deployments under `/api/v1/endpoints/{name}/deployments`: start one, list the history, roll back or resume the active one. */
export const rolloutsRoutes: ContextRoutes<RolloutService> = async (app, { service }) => {
  app.post(
    '/api/v1/endpoints/:name/deployments',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['endpoints'],
        summary: 'Start a deployment: move the endpoint to a model (or variants) step by step under a policy with alarms',
        params: Name,
        body: Type.Object(
          {
            model: Type.Optional(Type.String()),
            fromShadow: Type.Optional(Type.String({ description: 'promote this shadow variant' })),
            variants: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
            settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            policy: Policy,
            force: Type.Optional(Type.Boolean()),
            allowUnapproved: Type.Optional(Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { allowUnapproved, ...input } = request.body as StartDeploymentInput & { allowUnapproved?: { reason: string } };
      return reply.code(201).send(await service.start((request.params as { name: string }).name, input, context(request, allowUnapproved)));
    },
  );
  app.get(
    '/api/v1/endpoints/:name/deployments',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: "The endpoint's deployments, newest first", params: Name } },
    async (request) => ({ items: await service.list((request.params as { name: string }).name) }),
  );
  app.get(
    '/api/v1/endpoints/:name/deployments/:id',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: 'One deployment with its steps, alarm evaluations and outcome', params: NameId } },
    async (request) => {
      const { name, id } = request.params as { name: string; id: string };
      return service.get(name, id);
    },
  );
  app.post(
    '/api/v1/endpoints/:name/deployments/rollback',
    { config: { access: 'editor' }, schema: { tags: ['endpoints'], summary: "Roll the endpoint's running or paused deployment back to 100 % blue", params: Name } },
    async (request) => service.rollback((request.params as { name: string }).name, { actor: actorOf(request) }),
  );
  app.post(
    '/api/v1/endpoints/:name/deployments/resume',
    { config: { access: 'editor' }, schema: { tags: ['endpoints'], summary: 'Continue a deployment an alarm paused', params: Name } },
    async (request) => service.resume((request.params as { name: string }).name, { actor: actorOf(request) }),
  );
  const Model = Type.Object({ name: Type.String() });
  app.put(
    '/api/v1/models/:name/auto-deploy',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['registry'],
        summary: 'Set the model group\'s auto-deploy policy: each version approved from now on rolls out to the endpoint under the policy',
        params: Model,
        body: Type.Object({ endpoint: Type.String(), policy: Policy, supersede: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      },
    },
    async (request) => service.setAutoDeploy((request.params as { name: string }).name, request.body as AutoDeployInput, { actor: actorOf(request) }),
  );
  app.get(
    '/api/v1/models/:name/auto-deploy',
    { config: { access: 'viewer' }, schema: { tags: ['registry'], summary: "The model group's auto-deploy policy", params: Model } },
    async (request) => service.getAutoDeploy((request.params as { name: string }).name),
  );
  app.delete(
    '/api/v1/models/:name/auto-deploy',
    { config: { access: 'editor' }, schema: { tags: ['registry'], summary: "Remove the model group's auto-deploy policy", params: Model } },
    async (request, reply) => {
      await service.removeAutoDeploy((request.params as { name: string }).name);
      return reply.code(204).send();
    },
  );
  app.get(
    '/api/v1/endpoints/:name/shadow-report',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: "Each shadow variant's agreement, overlap@k, rank correlation, score delta, latency and errors against the answers users got", params: Name } },
    async (request) => service.shadowReport((request.params as { name: string }).name),
  );
  app.post(
    '/api/v1/endpoints/:name/feedback',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['endpoints'],
        summary: 'Report the outcome (reward or label) of one invocation, joined to the variant that answered it by its inference id',
        params: Name,
        body: Type.Object({ inferenceId: Type.String(), reward: Type.Optional(Type.Number()), label: Type.Optional(Type.String()) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => reply.code(201).send(await service.feedback((request.params as { name: string }).name, request.body as FeedbackInput)),
  );
  app.get(
    '/api/v1/endpoints/:name/ab-report',
    { config: { access: 'viewer' }, schema: { tags: ['endpoints'], summary: 'Per-variant invocations, outcomes, mean reward or conversion with 95 % intervals, and a significance test', params: Name } },
    async (request) => service.abReport((request.params as { name: string }).name),
  );
};
