import { Agent, request as httpRequest } from 'undici';
import { CapstanError, isCapstanError } from '../core/errors.js';
import { assertOutboundUrl, outboundLookup, type OutboundSettings } from '../core/outbound-guard.js';
import type { OnlineFeatureValue } from '../features/index.js';
import type { EndpointService } from '../serving/index.js';
import type { CompiledTask } from './compile-usecase.js';
import type { FeatureReader } from './feature-reader.js';
import type { RuleContext } from './evaluate-rules.js';

/** What one attempt of a task produced (all of it goes into the decision's snapshot). */
export interface TaskAttemptResult {
  request?: unknown;
  response?: unknown;
  output: unknown;
  /** Endpoint tasks: the variant that answered and the model version it serves. */
  model?: { endpoint: string; variant: string; name?: string; version?: number };
  /** Features tasks: every value with its status and event time. */
  features?: Record<string, OnlineFeatureValue>;
}

/** An earlier decision as a lookup task sees it. */
export interface PastDecision {
  id: string;
  outcome: string | null;
  output: unknown;
  /** Each task's output in that decision (a meta-model may reuse earlier model outputs). */
  tasks: Record<string, unknown>;
  time: string;
}

/** What the runners reach: serving, the feature port, earlier records and the outbound guard. */
export interface TaskRunnerDeps {
  serving: () => EndpointService;
  /** Throws CAPSTAN_DECISIONS_FEATURES_UNAVAILABLE when the features context is not installed. */
  features: () => FeatureReader;
  pastDecisions: (usecase: string, subject: string, limit: number, sinceMs?: number) => Promise<PastDecision[]>;
  outbound: OutboundSettings;
  agent: Agent;
  /** Pinned model versions by endpoint and variant, refreshed when a variant is not yet known. */
  modelOf: (endpoint: string, variant: string) => Promise<{ name?: string; version?: number }>;
}

/** The per-decision state a runner evaluates expressions against. */
export interface TaskScope extends RuleContext {
  usecase: string;
  subject: string | null;
  signal: AbortSignal;
}

const evalIn = (task: CompiledTask, key: string, ctx: Record<string, unknown>) => task.exprs[key].evaluate(ctx, 'CAPSTAN_DECISIONS_TASK_FAILED', `task ${task.name} ${key}`);

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function endpointTask(task: Extract<CompiledTask, { type: 'endpoint' }>, scope: TaskScope, deps: TaskRunnerDeps): Promise<TaskAttemptResult> {
  const body = evalIn(task, 'request', scope as unknown as Record<string, unknown>);
  const res = await deps.serving().invoke(task.endpoint, JSON.stringify(body), { targetVariant: task.variant, stickyKey: scope.subject ?? undefined });
  const response = parseBody(res.body);
  const output = task.exprs.output ? evalIn(task, 'output', { ...scope, response }) : response;
  const model = await deps.modelOf(task.endpoint, res.variant).catch(() => ({}));
  return { request: body, response, output, model: { endpoint: task.endpoint, variant: res.variant, ...model } };
}

async function featuresTask(task: Extract<CompiledTask, { type: 'features' }>, scope: TaskScope, deps: TaskRunnerDeps): Promise<TaskAttemptResult> {
  const entity: Record<string, string | number> = {};
  for (const key of Object.keys(task.entity)) {
    const v = evalIn(task, `entity.${key}`, scope as unknown as Record<string, unknown>);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') throw new CapstanError('CAPSTAN_DECISIONS_TASK_FAILED', `task ${task.name}: entity key ${key} is ${JSON.stringify(v)}, not a string or number`);
    entity[key] = typeof v === 'bigint' ? Number(v) : v;
  }
  const request = { features: task.features, entities: [entity] };
  const result = await deps.features().readOnline(request);
  const values = result.results[0]?.values ?? {};
  const output: Record<string, unknown> = {};
  for (const ref of task.features) output[ref.slice(ref.indexOf(':') + 1)] = values[ref]?.status === 'PRESENT' ? values[ref].value : null;
  // The values with their status and event time are the response; the raw answer would repeat them.
  return { request, output, features: values };
}

async function lookupTask(task: Extract<CompiledTask, { type: 'lookup' }>, scope: TaskScope, deps: TaskRunnerDeps): Promise<TaskAttemptResult> {
  const usecase = task.usecase ?? scope.usecase;
  const request = { usecase, subject: scope.subject, limit: task.limit ?? 10, withinMs: task.withinMs };
  const records = scope.subject === null ? [] : await deps.pastDecisions(usecase, scope.subject, task.limit ?? 10, task.withinMs === undefined ? undefined : Date.now() - task.withinMs);
  const output = { count: records.length, outcomes: records.map((r) => r.outcome), records };
  return { request, output };
}

async function httpTask(task: Extract<CompiledTask, { type: 'http' }>, scope: TaskScope, deps: TaskRunnerDeps): Promise<TaskAttemptResult> {
  const body = evalIn(task, 'request', scope as unknown as Record<string, unknown>);
  await assertOutboundUrl(task.url, deps.outbound, { purpose: `task ${task.name} URL` });
  const res = await httpRequest(task.url, {
    method: 'POST',
    dispatcher: deps.agent,
    headers: { 'content-type': 'application/json', 'user-agent': 'capstan-decisions' },
    body: JSON.stringify(body),
    signal: scope.signal,
  });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new CapstanError('CAPSTAN_DECISIONS_TASK_FAILED', `task ${task.name}: ${new URL(task.url).host} answered HTTP ${res.statusCode}`);
  const response = parseBody(text);
  const output = task.exprs.output ? evalIn(task, 'output', { ...scope, response }) : response;
  return { request: body, response, output };
}

/** Runs one attempt of a task (no timeout or retry: the executor adds those). */
export async function runTaskAttempt(task: CompiledTask, scope: TaskScope, deps: TaskRunnerDeps): Promise<TaskAttemptResult> {
  switch (task.type) {
    case 'endpoint':
      return endpointTask(task, scope, deps);
    case 'features':
      return featuresTask(task, scope, deps);
    case 'lookup':
      return lookupTask(task, scope, deps);
    case 'http':
      return httpTask(task, scope, deps);
    case 'cel':
      return { output: evalIn(task, 'expression', scope as unknown as Record<string, unknown>) };
  }
}

/** The agent external HTTP tasks use: its DNS answers pass the outbound guard too. */
export function taskAgent(outbound: OutboundSettings): Agent {
  return new Agent({ connect: { lookup: outboundLookup(outbound) } });
}

/** An error as a snapshot stores it. */
export function errorSummary(err: unknown): { code: string; message: string } {
  return isCapstanError(err) ? { code: err.code, message: err.message } : { code: 'CAPSTAN_INTERNAL', message: String((err as Error)?.message ?? err).slice(0, 300) };
}
