import { isValidName } from '../core/names.js';
import { compileUserRegex } from '../core/user-regex.js';
import { builtinNames, isKnownBuiltin } from './builtins/builtin-catalogue.js';
import { checkCondition } from './conditions.js';
import {
  DEFAULT_RETRY,
  isCommandStep,
  STEP_TYPES,
  stepOutputs,
  type CommandStep,
  type ParameterDefinition,
  type PipelineDefinition,
  type RetryPolicy,
  type StepDefinition,
  type StepFeatures,
} from './definition.js';
import { checkGraph } from './check-graph.js';
import { compileTriggers } from './compile-triggers.js';
import { DefinitionChecker, STEP_NAME, type DocObject, type DocPath } from './definition-checker.js';
import { parseDuration } from './duration.js';
import { throwIssues, type PipelineSource } from './pipeline-source.js';
import { compileKubernetesSpec, mergeKubernetesSpec } from './kubernetes-spec.js';

const STEP_FIELDS: Record<string, string[]> = {
  common: ['name', 'type', 'description', 'depends_on', 'retry', 'timeout', 'cache'],
  command: ['command', 'builtin', 'inputs', 'outputs', 'hyperparameters', 'env', 'metric_definitions', 'property_files', 'executor', 'features', 'kubernetes'],
  condition: ['if', 'then', 'else'],
  'register-model': ['model', 'model_data', 'approval', 'metrics_from', 'metadata'],
  deploy: ['endpoint', 'model', 'version', 'alias', 'config', 'require_approval'],
  transform: ['model', 'version', 'alias', 'input', 'output', 'config'],
  function: ['module', 'handler', 'args', 'inputs'],
  fail: ['message'],
};
const OUTPUT_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV = /^CAPSTAN_/;

function compileParameters(c: DefinitionChecker, raw: unknown): Record<string, ParameterDefinition> {
  const out: Record<string, ParameterDefinition> = {};
  const params = c.obj(raw, ['parameters']);
  for (const [name, spec] of Object.entries(params ?? {})) {
    const at = ['parameters', name];
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/.test(name)) c.issue(at, 'parameter names use letters, digits, _ and -');
    const o = c.obj(spec, at, true);
    if (!o) continue;
    c.unknownKeys(o, ['type', 'default', 'description'], at);
    const type = o.type ?? 'string';
    if (type !== 'string' && type !== 'integer' && type !== 'number' && type !== 'boolean') {
      c.issue([...at, 'type'], 'must be one of string, integer, number, boolean');
      continue;
    }
    const def: ParameterDefinition = { type };
    if (o.default !== undefined) {
      const problem = parameterTypeProblem(type, o.default);
      if (problem) c.issue([...at, 'default'], problem);
      else def.default = o.default as string | number | boolean;
    }
    if (typeof o.description === 'string') def.description = o.description;
    out[name] = def;
  }
  return out;
}

/** Why `value` does not fit a parameter type, or undefined when it does. */
export function parameterTypeProblem(type: ParameterDefinition['type'], value: unknown): string | undefined {
  if (type === 'string' && typeof value === 'string') return undefined;
  if (type === 'boolean' && typeof value === 'boolean') return undefined;
  if (type === 'number' && typeof value === 'number' && Number.isFinite(value)) return undefined;
  if (type === 'integer' && typeof value === 'number' && Number.isSafeInteger(value)) return undefined;
  return `must be a${type === 'integer' ? 'n' : ''} ${type}, got ${JSON.stringify(value)}`;
}

function compileRetry(c: DefinitionChecker, raw: unknown, at: DocPath): RetryPolicy {
  const o = c.obj(raw, at);
  if (!o) return { ...DEFAULT_RETRY };
  c.unknownKeys(o, ['attempts', 'backoff', 'backoff_rate', 'max_backoff'], at);
  const retry = { ...DEFAULT_RETRY };
  if (o.attempts !== undefined) {
    if (!Number.isInteger(o.attempts) || (o.attempts as number) < 1 || (o.attempts as number) > 20) c.issue([...at, 'attempts'], 'must be an integer from 1 to 20');
    else retry.attempts = o.attempts as number;
  }
  for (const [key, field] of [['backoff', 'backoffMs'], ['max_backoff', 'maxBackoffMs']] as const) {
    if (o[key] === undefined) continue;
    const ms = parseDuration(o[key]);
    if (ms === undefined) c.issue([...at, key], 'must be a duration such as 2s, 500ms or 1m');
    else retry[field] = ms;
  }
  if (o.backoff_rate !== undefined) {
    if (typeof o.backoff_rate !== 'number' || o.backoff_rate < 1) c.issue([...at, 'backoff_rate'], 'must be a number >= 1');
    else retry.backoffRate = o.backoff_rate;
  }
  return retry;
}

/** A command step's `features:` input (a training set from the feature store). */
function compileStepFeatures(c: DefinitionChecker, raw: unknown, at: DocPath, step: CommandStep): StepFeatures | undefined {
  const fo = c.obj(raw, at, true);
  if (!fo) return undefined;
  c.unknownKeys(fo, ['channel', 'entities', 'features', 'format', 'as_of_known_time', 'timestamp_column'], at);
  const channel = c.str(fo, 'channel', at) ?? 'features';
  if (!OUTPUT_NAME.test(channel)) c.issue([...at, 'channel'], 'channel names use letters, digits, _ and -');
  if (step.inputs[channel] !== undefined) c.issue([...at, 'channel'], `input channel "${channel}" is already used by inputs`);
  const entities = c.str(fo, 'entities', at, true) ?? '';
  const features = c.strList(fo, 'features', at);
  if (features.length === 0) c.issue([...at, 'features'], 'name at least one feature (group:feature)');
  const format = fo.format === undefined ? 'parquet' : fo.format;
  if (format !== 'parquet' && format !== 'csv') c.issue([...at, 'format'], 'must be parquet or csv');
  if (fo.as_of_known_time !== undefined && typeof fo.as_of_known_time !== 'boolean') c.issue([...at, 'as_of_known_time'], 'must be true or false');
  return { channel, entities, features, format: format as 'parquet' | 'csv', asOfKnownTime: fo.as_of_known_time !== false, timestampColumn: c.str(fo, 'timestamp_column', at) ?? 'event_timestamp' };
}

function compileCommandFields(c: DefinitionChecker, o: DocObject, at: DocPath, base: StepDefinition & { type: CommandStep['type'] }): CommandStep {
  const step: CommandStep = {
    ...base,
    inputs: {},
    outputs: c.strList(o, 'outputs', at),
    hyperparameters: c.scalarMap(o, 'hyperparameters', at),
    env: {},
    metricDefinitions: [],
    propertyFiles: [],
    executor: c.str(o, 'executor', at) ?? 'local',
    kubernetes: compileKubernetesSpec(c, o.kubernetes, [...at, 'kubernetes']),
  };
  if (!step.kubernetes) delete step.kubernetes;
  if (typeof o.command === 'string') step.command = o.command.trim().split(/\s+/).filter(Boolean);
  else if (Array.isArray(o.command) && o.command.length > 0 && o.command.every((x) => typeof x === 'string' || typeof x === 'number')) step.command = o.command.map(String);
  else if (o.command !== undefined) c.issue([...at, 'command'], 'must be a string or a non-empty list of strings');
  step.builtin = c.str(o, 'builtin', at);
  if (!step.command?.length && !step.builtin) c.issue(at, `a ${base.type} step needs "command" or "builtin"`);
  if (step.command?.length && step.builtin) c.issue([...at, 'builtin'], 'give either "command" or "builtin", not both');
  if (step.builtin && !isKnownBuiltin(step.builtin)) c.issue([...at, 'builtin'], `unknown built-in "${step.builtin}"; known: ${builtinNames().join(', ')}`);
  for (const [k, v] of Object.entries(c.scalarMap(o, 'inputs', at))) {
    if (!OUTPUT_NAME.test(k)) c.issue([...at, 'inputs', k], 'channel names use letters, digits, _ and -');
    step.inputs[k] = String(v);
  }
  if (o.features !== undefined) {
    step.features = compileStepFeatures(c, o.features, [...at, 'features'], step);
    // The cache key sees the request, not the offline store's content, so such steps run again unless asked otherwise.
    if (o.cache === undefined) step.cache = false;
  }
  for (const [i, n] of step.outputs.entries()) if (!OUTPUT_NAME.test(n)) c.issue([...at, 'outputs', i], 'output names use letters, digits, _ and -');
  if (new Set(step.outputs).size !== step.outputs.length) c.issue([...at, 'outputs'], 'output names must be unique');
  for (const [k, v] of Object.entries(c.scalarMap(o, 'env', at))) {
    if (!ENV_NAME.test(k)) c.issue([...at, 'env', k], 'is not a valid environment variable name');
    else if (RESERVED_ENV.test(k)) c.issue([...at, 'env', k], 'CAPSTAN_* variables are set by the executor');
    step.env[k] = String(v);
  }
  for (const [k] of Object.entries(step.hyperparameters)) if (!/^[A-Za-z0-9_.-]+$/.test(k)) c.issue([...at, 'hyperparameters', k], 'names use letters, digits, _, . and -');
  const metrics = o.metric_definitions;
  if (metrics !== undefined && !Array.isArray(metrics)) c.issue([...at, 'metric_definitions'], 'must be a list of {name, regex}');
  for (const [i, m] of (Array.isArray(metrics) ? metrics : []).entries()) {
    const mat = [...at, 'metric_definitions', i];
    const mo = c.obj(m, mat, true);
    if (!mo) continue;
    c.unknownKeys(mo, ['name', 'regex'], mat);
    const name = c.str(mo, 'name', mat, true);
    const regex = c.str(mo, 'regex', mat, true);
    if (!name || !regex) continue;
    try {
      // Checked with the engine that will run it (RE2), so a pattern that only JavaScript accepts fails here, not mid-run.
      compileUserRegex(regex, 'regex');
      step.metricDefinitions.push({ name, regex });
    } catch (err) {
      c.issue([...mat, 'regex'], (err as Error).message.replace(/^regex /, ''));
    }
  }
  const files = o.property_files;
  if (files !== undefined && !Array.isArray(files)) c.issue([...at, 'property_files'], 'must be a list of {name, output, path}');
  for (const [i, f] of (Array.isArray(files) ? files : []).entries()) {
    const fat = [...at, 'property_files', i];
    const fo = c.obj(f, fat, true);
    if (!fo) continue;
    c.unknownKeys(fo, ['name', 'output', 'path'], fat);
    const name = c.str(fo, 'name', fat, true);
    const output = c.str(fo, 'output', fat, true);
    const file = c.str(fo, 'path', fat, true);
    if (!name || !output || !file) continue;
    if (!stepOutputs(step).includes(output)) c.issue([...fat, 'output'], `names output "${output}", which the step does not declare`);
    if (file.startsWith('/') || file.split(/[\\/]/).includes('..')) c.issue([...fat, 'path'], 'must be a relative path inside the output');
    step.propertyFiles.push({ name, output, path: file });
  }
  return step;
}

function compileStep(c: DefinitionChecker, raw: unknown, i: number): StepDefinition | undefined {
  const at: DocPath = ['steps', i];
  const o = c.obj(raw, at, true);
  if (!o) return undefined;
  const name = c.str(o, 'name', at, true) ?? `#${i}`;
  if (!STEP_NAME.test(name)) c.issue([...at, 'name'], 'step names use a-z, 0-9, _ and -, starting with a letter or digit');
  const type = o.type;
  if (typeof type !== 'string' || !(STEP_TYPES as readonly string[]).includes(type)) {
    c.issue([...at, 'type'], `unknown step type ${JSON.stringify(type ?? null)}; expected one of ${STEP_TYPES.join(', ')}`);
    return undefined;
  }
  const group = ['processing', 'training', 'evaluation'].includes(type) ? 'command' : type;
  c.unknownKeys(o, [...STEP_FIELDS.common, ...STEP_FIELDS[group]], at);
  let timeoutMs: number | undefined;
  if (o.timeout !== undefined) {
    timeoutMs = parseDuration(o.timeout);
    if (timeoutMs === undefined || timeoutMs === 0) c.issue([...at, 'timeout'], 'must be a positive duration such as 30s or 10m');
  }
  if (o.cache !== undefined && typeof o.cache !== 'boolean') c.issue([...at, 'cache'], 'must be true or false');
  const cacheDefault = group === 'command' || type === 'register-model';
  const base = {
    name,
    description: typeof o.description === 'string' ? o.description : undefined,
    dependsOn: c.strList(o, 'depends_on', at),
    retry: compileRetry(c, o.retry, [...at, 'retry']),
    timeoutMs,
    cache: typeof o.cache === 'boolean' ? o.cache : cacheDefault,
  };
  switch (type) {
    case 'processing':
    case 'training':
    case 'evaluation':
      return compileCommandFields(c, o, at, { ...base, type } as StepDefinition & { type: CommandStep['type'] });
    case 'condition': {
      const expr = c.str(o, 'if', at, true) ?? 'false';
      const problem = o.if === undefined ? undefined : checkCondition(expr);
      if (problem) c.issue([...at, 'if'], problem);
      const then = c.strList(o, 'then', at);
      const els = c.strList(o, 'else', at);
      if (then.length + els.length === 0) c.issue(at, 'a condition needs "then" or "else" steps');
      return { ...base, type, if: expr, then, else: els };
    }
    case 'register-model': {
      const model = c.str(o, 'model', at, true) ?? '';
      if (model && !isValidName(model)) c.issue([...at, 'model'], 'is not a valid model name');
      const approval = o.approval ?? 'PendingManualApproval';
      if (approval !== 'PendingManualApproval' && approval !== 'Approved') c.issue([...at, 'approval'], 'must be PendingManualApproval or Approved');
      return {
        ...base,
        type,
        model,
        modelData: c.str(o, 'model_data', at, true) ?? '',
        approval: approval === 'Approved' ? 'Approved' : 'PendingManualApproval',
        metricsFrom: o.metrics_from === undefined ? undefined : c.strList(o, 'metrics_from', at),
        metadata: Object.fromEntries(Object.entries(c.scalarMap(o, 'metadata', at)).map(([k, v]) => [k, String(v)])),
      };
    }
    case 'deploy': {
      const endpoint = c.str(o, 'endpoint', at, true) ?? '';
      if (endpoint && !isValidName(endpoint)) c.issue([...at, 'endpoint'], 'is not a valid endpoint name');
      const model = c.str(o, 'model', at, true) ?? '';
      if (model && !isValidName(model)) c.issue([...at, 'model'], 'is not a valid model name');
      const version = c.str(o, 'version', at);
      const alias = c.str(o, 'alias', at);
      if ((version === undefined) === (alias === undefined)) c.issue(at, 'a deploy step needs exactly one of "version" or "alias"');
      if (o.require_approval !== undefined && typeof o.require_approval !== 'boolean') c.issue([...at, 'require_approval'], 'must be true or false');
      // Serving deploys only approved versions, whoever asks; a pipeline cannot switch that off.
      if (o.require_approval === false) c.issue([...at, 'require_approval'], 'false is not supported: only Approved versions are deployed (give the model group an approval policy to approve at registration)');
      return { ...base, type, endpoint, model, version, alias, config: c.obj(o.config, [...at, 'config']) ?? {} };
    }
    case 'transform': {
      const model = c.str(o, 'model', at, true) ?? '';
      if (model && !isValidName(model)) c.issue([...at, 'model'], 'is not a valid model name');
      const version = c.str(o, 'version', at);
      const alias = c.str(o, 'alias', at);
      if ((version === undefined) === (alias === undefined)) c.issue(at, 'a transform step needs exactly one of "version" or "alias"');
      return { ...base, type, model, version, alias, input: c.str(o, 'input', at, true) ?? '', output: c.str(o, 'output', at, true) ?? '', config: c.obj(o.config, [...at, 'config']) ?? {} };
    }
    case 'function': {
      const mod = c.str(o, 'module', at, true) ?? '';
      if (mod && (mod.startsWith('/') || mod.split(/[\\/]/).includes('..'))) c.issue([...at, 'module'], 'must be a relative path inside the code directory');
      if (mod && !/\.(m?js|m?ts|cjs)$/.test(mod)) c.issue([...at, 'module'], 'must be a .js, .mjs, .cjs, .ts or .mts file');
      const inputs: Record<string, string> = {};
      for (const [k, v] of Object.entries(c.scalarMap(o, 'inputs', at))) {
        if (!OUTPUT_NAME.test(k)) c.issue([...at, 'inputs', k], 'channel names use letters, digits, _ and -');
        inputs[k] = String(v);
      }
      return { ...base, type, module: mod, handler: c.str(o, 'handler', at) ?? 'handler', args: c.obj(o.args, [...at, 'args']) ?? {}, inputs, timeoutMs: base.timeoutMs ?? 60_000 };
    }
    case 'fail':
      return { ...base, type, message: c.str(o, 'message', at) ?? 'the pipeline reached a fail step' };
  }
  return undefined;
}

/**
 * Turns a parsed document into a pipeline definition, or throws CAPSTAN_PIPELINE_INVALID listing
 * every problem with file, line and path.
 */
export function compilePipeline(source: PipelineSource): PipelineDefinition {
  const c = new DefinitionChecker(source);
  const root = c.obj(source.raw, [], true) ?? {};
  c.unknownKeys(root, ['name', 'description', 'code', 'parameters', 'steps', 'triggers', 'defaults'], []);
  const defaults = c.obj(root.defaults, ['defaults']);
  if (defaults) c.unknownKeys(defaults, ['executor', 'kubernetes'], ['defaults']);
  const defaultExecutor = defaults ? c.str(defaults, 'executor', ['defaults']) : undefined;
  const defaultKubernetes = defaults ? compileKubernetesSpec(c, defaults.kubernetes, ['defaults', 'kubernetes']) : undefined;
  const name = c.str(root, 'name', [], true) ?? '';
  if (name && !isValidName(name)) c.issue(['name'], 'is not a valid pipeline name (a-z, 0-9, ., _, -)');
  const steps: StepDefinition[] = [];
  if (!Array.isArray(root.steps) || root.steps.length === 0) c.issue(['steps'], 'must be a non-empty list');
  else {
    for (const [i, s] of root.steps.entries()) {
      const step = compileStep(c, s, i);
      if (!step) continue;
      if (isCommandStep(step)) {
        // Per-pipeline defaults, per-step overrides: a step naming its own executor keeps it.
        if (defaultExecutor && (s as Record<string, unknown>).executor === undefined) step.executor = defaultExecutor;
        const k = mergeKubernetesSpec(defaultKubernetes, step.kubernetes);
        if (k && step.executor === 'kubernetes') step.kubernetes = k;
        if (step.executor === 'kubernetes' && !step.kubernetes?.image) c.issue(['steps', i], `step "${step.name}" runs on kubernetes and needs kubernetes.image (on the step or in defaults.kubernetes)`);
      }
      if (steps.some((x) => x.name === step.name)) c.issue(['steps', i, 'name'], `duplicate step name "${step.name}"`);
      steps.push(step);
    }
  }
  const def: PipelineDefinition = {
    name,
    description: typeof root.description === 'string' ? root.description : undefined,
    code: c.str(root, 'code', []),
    parameters: compileParameters(c, root.parameters),
    steps,
    triggers: compileTriggers(c, root.triggers),
  };
  if (c.issues.length === 0) checkGraph(c, def);
  if (c.issues.length) throwIssues(c.issues);
  return def;
}
