import { Ajv, type ValidateFunction } from 'ajv';
import { ZenEngine, type ZenDecision } from '@gorules/zen-engine';
import { CapstanError, isCapstanError } from '../core/errors.js';
import type { CompiledExpression } from '../core/expressions.js';
import { assertName } from '../core/names.js';
import { decisionExpressions, taskReferences } from './decision-expressions.js';
import { batchDecision, type BatchDecision } from './jdm-batch.js';
import { findCycle } from './task-graph.js';
import type { CelRules, JdmRules, TaskDefinition, UseCaseDefinition } from './usecase-definition.js';

/** A task with its defaults filled in and its expressions compiled. */
export type CompiledTask = TaskDefinition & {
  timeoutMs: number;
  retries: number;
  onFailure: 'fail' | 'default';
  default: unknown;
  /** Tasks that must finish first. */
  dependsOn: string[];
  /** Compiled expressions by role (`request`, `output`, `expression`, `entity.<key>`). */
  exprs: Record<string, CompiledExpression>;
};

/** A definition checked and compiled: what execution and replay run. */
export interface CompiledUseCase {
  definition: UseCaseDefinition;
  name: string;
  thresholds: Record<string, number | string | boolean>;
  tasks: CompiledTask[];
  validateInput: ValidateFunction;
  subject?: CompiledExpression;
  deadlineMs: number;
  retentionDays: number;
  rules:
    | { engine: 'cel'; def: CelRules; when: CompiledExpression[]; output: Record<string, CompiledExpression>; severity: string[] }
    | {
        engine: 'jdm';
        def: JdmRules;
        decision: ZenDecision;
        /** The same graph evaluating many contexts per call, when its shape allows (replay). */
        batch?: BatchDecision;
      };
}

const TASK_TYPES = ['endpoint', 'features', 'lookup', 'http', 'cel'];
/** Path segments of the decisions API that a use case of that name would hide. */
const RESERVED_NAMES = new Set(['usecases', 'records', 'requests', 'export']);
const DEFAULT_SEVERITY = ['reject', 'decline', 'review', 'approve'];
const zen = new ZenEngine();
const ajv = new Ajv({ allErrors: true, strict: false });

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;

/** Collects every problem of a definition, then throws them all at once. */
class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
  /** Compiles one CEL expression, recording a refusal instead of throwing. */
  cel(source: unknown, where: string): CompiledExpression | undefined {
    if (typeof source !== 'string' || source.trim() === '') return void this.add(`${where} must be a CEL expression (a non-empty string)`);
    try {
      return decisionExpressions.compile(source, 'CAPSTAN_DECISIONS_USECASE_INVALID', where);
    } catch (err) {
      this.add(isCapstanError(err) ? err.message : `${where} is not valid CEL`);
      return undefined;
    }
  }
}

function compileTask(raw: unknown, index: number, p: Problems): CompiledTask | undefined {
  if (!isObject(raw)) return void p.add(`tasks[${index}] must be a mapping`);
  const t = raw as unknown as TaskDefinition;
  const where = `task ${typeof t.name === 'string' ? t.name : `#${index}`}`;
  if (typeof t.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(t.name)) p.add(`tasks[${index}].name must be an identifier (letters, digits, _), got ${JSON.stringify(t.name)}`);
  if (!TASK_TYPES.includes(t.type)) return void p.add(`${where}: type must be one of ${TASK_TYPES.join(', ')}, got ${JSON.stringify(t.type)}`);
  if (t.timeoutMs !== undefined && !isInt(t.timeoutMs, 1)) p.add(`${where}: timeoutMs must be a positive integer`);
  if (t.retries !== undefined && !(isInt(t.retries, 0) && t.retries <= 5)) p.add(`${where}: retries must be an integer from 0 to 5`);
  if (t.onFailure !== undefined && t.onFailure !== 'fail' && t.onFailure !== 'default') p.add(`${where}: onFailure must be fail or default`);
  if (t.after !== undefined && !(Array.isArray(t.after) && t.after.every((a) => typeof a === 'string'))) p.add(`${where}: after must be a list of task names`);
  const exprs: Record<string, CompiledExpression> = {};
  const put = (key: string, source: unknown, optional = false) => {
    if (optional && source === undefined) return;
    const c = p.cel(source, `${where} ${key}`);
    if (c) exprs[key] = c;
  };
  switch (t.type) {
    case 'endpoint':
      if (typeof t.endpoint !== 'string' || !t.endpoint) p.add(`${where}: endpoint must name an endpoint`);
      if (t.variant !== undefined && typeof t.variant !== 'string') p.add(`${where}: variant must be a string`);
      put('request', t.request);
      put('output', t.output, true);
      break;
    case 'http':
      if (typeof t.url !== 'string') p.add(`${where}: url must be a string`);
      put('request', t.request);
      put('output', t.output, true);
      break;
    case 'features': {
      if (!Array.isArray(t.features) || t.features.length === 0 || !t.features.every((f) => typeof f === 'string' && /^[^:\s]+:[^:\s]+$/.test(f))) {
        p.add(`${where}: features must be a non-empty list of 'group:feature' references`);
      } else {
        const short = t.features.map((f) => f.slice(f.indexOf(':') + 1));
        const dup = short.find((s, i) => short.indexOf(s) !== i);
        if (dup) p.add(`${where}: two features are both named ${dup}; split them over two tasks`);
      }
      if (!isObject(t.entity) || Object.keys(t.entity).length === 0) p.add(`${where}: entity must map each join key to a CEL expression`);
      else for (const [key, source] of Object.entries(t.entity)) put(`entity.${key}`, source);
      break;
    }
    case 'lookup':
      if (t.usecase !== undefined && typeof t.usecase !== 'string') p.add(`${where}: usecase must be a use-case name`);
      if (t.limit !== undefined && !(isInt(t.limit, 1) && t.limit <= 1000)) p.add(`${where}: limit must be an integer from 1 to 1000`);
      if (t.withinMs !== undefined && !isInt(t.withinMs, 1)) p.add(`${where}: withinMs must be a positive integer`);
      break;
    case 'cel':
      put('expression', t.expression);
      break;
  }
  const reads = new Set<string>([...(t.after ?? [])]);
  for (const c of Object.values(exprs)) for (const r of taskReferences(c.source)) reads.add(r);
  return { ...t, timeoutMs: t.timeoutMs ?? 1000, retries: t.retries ?? 0, onFailure: t.onFailure ?? 'fail', default: t.default ?? null, dependsOn: [...reads], exprs } as CompiledTask;
}

function compileRules(raw: unknown, p: Problems, taskNames: Set<string>): CompiledUseCase['rules'] | undefined {
  if (!isObject(raw)) return void p.add('rules must be a mapping with engine cel or jdm');
  const refs = new Set<string>();
  let rules: CompiledUseCase['rules'] | undefined;
  if (raw.engine === 'cel') {
    const def = raw as unknown as CelRules;
    if (def.hitPolicy !== undefined && def.hitPolicy !== 'first' && def.hitPolicy !== 'collect') p.add('rules.hitPolicy must be first or collect');
    if (!Array.isArray(def.rules)) p.add('rules.rules must be a list of { name, when, outcome, reason }');
    if (!isObject(def.default) || typeof def.default.outcome !== 'string') p.add('rules.default.outcome must name the outcome when no rule matches');
    const when: CompiledExpression[] = [];
    (Array.isArray(def.rules) ? def.rules : []).forEach((r, i) => {
      const name = isObject(r) && typeof r.name === 'string' ? r.name : `#${i}`;
      if (!isObject(r) || typeof r.outcome !== 'string' || !r.outcome) return void p.add(`rule ${name}: outcome must be a string`);
      const c = p.cel(r.when, `rule ${name} when`);
      if (c) {
        if (c.type !== 'bool' && c.type !== 'dyn') p.add(`rule ${name} when must be a boolean expression, it is ${c.type}`);
        when.push(c);
        for (const t of taskReferences(c.source)) refs.add(t);
      }
    });
    const output: Record<string, CompiledExpression> = {};
    if (def.output !== undefined && !isObject(def.output)) p.add('rules.output must map field names to CEL expressions');
    for (const [field, source] of Object.entries(def.output ?? {})) {
      const c = p.cel(source, `output ${field}`);
      if (c) {
        output[field] = c;
        for (const t of taskReferences(c.source)) refs.add(t);
      }
    }
    rules = { engine: 'cel', def, when, output, severity: def.severity ?? DEFAULT_SEVERITY };
  } else if (raw.engine === 'jdm') {
    const def = raw as unknown as JdmRules;
    if (!isObject(def.graph) || !Array.isArray(def.graph.nodes) || !Array.isArray(def.graph.edges)) {
      p.add('rules.graph must be a JDM decision graph with nodes and edges');
    } else {
      try {
        const decision = zen.createDecision(def.graph);
        decision.validate();
        rules = { engine: 'jdm', def, decision, batch: batchDecision(zen, def.graph) };
        for (const t of taskReferences(JSON.stringify(def.graph))) refs.add(t);
      } catch (err) {
        p.add(`rules.graph is not a valid JDM graph: ${String((err as Error)?.message ?? err).slice(0, 300)}`);
      }
    }
  } else {
    p.add(`rules.engine must be cel or jdm, got ${JSON.stringify(raw.engine)}`);
  }
  for (const r of refs) if (!taskNames.has(r)) p.add(`the rules read tasks.${r}, but no task is named ${r}`);
  return rules;
}

/**
 * Validates a definition and compiles it: structure, the input JSON Schema, every CEL expression,
 * the JDM graph, task references and cycles. Every problem is reported at once, as
 * CAPSTAN_DECISIONS_USECASE_INVALID with a `problems` list. (Outbound URLs are checked by the service,
 * which knows the outbound settings.)
 */
export function compileUseCase(raw: unknown): CompiledUseCase {
  const p = new Problems();
  if (!isObject(raw)) throw new CapstanError('CAPSTAN_DECISIONS_USECASE_INVALID', 'a use-case definition must be a mapping', { fields: { problems: ['not a mapping'] } });
  const def = raw as unknown as UseCaseDefinition;
  try {
    assertName(def.name, 'use-case name');
    if (RESERVED_NAMES.has(def.name)) p.add(`name ${def.name} is reserved by the decisions API; choose another`);
  } catch (err) {
    p.add(isCapstanError(err) ? err.message : 'name is not valid');
  }
  let validateInput: ValidateFunction | undefined;
  if (!isObject(def.input) || !isObject(def.input.schema)) p.add('input.schema must be a JSON Schema (a mapping)');
  else {
    try {
      validateInput = ajv.compile(def.input.schema);
    } catch (err) {
      p.add(`input.schema is not a valid JSON Schema: ${(err as Error).message}`);
    }
  }
  const subject = isObject(def.input) && def.input.subject !== undefined ? p.cel(def.input.subject, 'input.subject') : undefined;
  if (def.thresholds !== undefined && (!isObject(def.thresholds) || !Object.values(def.thresholds).every((v) => ['number', 'string', 'boolean'].includes(typeof v)))) {
    p.add('thresholds must map names to numbers, strings or booleans');
  }
  if (def.deadlineMs !== undefined && !isInt(def.deadlineMs, 1)) p.add('deadlineMs must be a positive integer');
  if (def.retentionDays !== undefined && !isInt(def.retentionDays, 1)) p.add('retentionDays must be a positive integer');
  if (def.tasks !== undefined && !Array.isArray(def.tasks)) p.add('tasks must be a list');
  const tasks = (Array.isArray(def.tasks) ? def.tasks : []).map((t, i) => compileTask(t, i, p)).filter((t): t is CompiledTask => !!t);
  const names = new Set<string>();
  for (const t of tasks) {
    if (names.has(t.name)) p.add(`two tasks are named ${t.name}`);
    names.add(t.name);
  }
  for (const t of tasks) for (const d of t.dependsOn) if (!names.has(d)) p.add(`task ${t.name} reads tasks.${d}, but no task is named ${d}`);
  const cycle = findCycle(new Map(tasks.map((t) => [t.name, t.dependsOn.filter((d) => names.has(d))])));
  if (cycle) p.add(`the tasks form a cycle: ${cycle.join(' → ')}`);
  const rules = compileRules(def.rules, p, names);
  if (p.list.length > 0 || !validateInput || !rules) {
    throw new CapstanError('CAPSTAN_DECISIONS_USECASE_INVALID', `use case ${typeof def.name === 'string' ? def.name : '?'} is not valid: ${p.list.join('; ')}`, { fields: { problems: p.list }, retryable: false });
  }
  return {
    definition: def,
    name: def.name,
    thresholds: def.thresholds ?? {},
    tasks,
    validateInput,
    subject,
    deadlineMs: def.deadlineMs ?? 5000,
    retentionDays: def.retentionDays ?? 90,
    rules,
  };
}
