import { isCapstanError } from '../../core/errors.js';
import { isValidName } from '../../core/names.js';
import type { TriggerDefinition, ValidationIssue } from '../../pipelines/index.js';
import { issueAt, kindDocument, parseFieldPath, stableJson, type KindAdapter, type KindContext, type ResourceState } from '../kind-adapter.js';
import type { ResourceDocument } from '../resource-document.js';
import { inlineTriggerNames, standaloneTriggers } from './standalone-triggers.js';

/** A valid Trigger document: the pipeline it starts and the trigger as the pipeline stores it. */
interface TriggerSpec {
  pipeline: string;
  trigger: TriggerDefinition;
}

function state(spec: TriggerSpec): ResourceState {
  const { name, ...fields } = spec.trigger;
  return { document: kindDocument('Trigger', { name, pipeline: spec.pipeline, ...fields }), fingerprint: stableJson(spec) };
}

/** Where the standalone trigger `name` is: its pipeline and definition, or undefined. */
async function find(ctx: KindContext, name: string): Promise<TriggerSpec | undefined> {
  for (const p of await ctx.services.pipelines().list()) {
    const t = standaloneTriggers(p).find((x) => x.name === name);
    if (t) return { pipeline: p.name, trigger: t };
  }
  return undefined;
}

/**
 * `kind: Trigger`: a cron, artifact or webhook trigger of an applied pipeline, kept apart from the
 * pipeline's document (a platform team schedules a data scientists' pipeline). Its fields are those of
 * a `triggers:` entry plus `pipeline`; the name must not also be declared inside the pipeline.
 */
export const triggerKind: KindAdapter<TriggerSpec> = {
  kind: 'Trigger',
  aliases: ['trigger', 'triggers'],

  validate(ctx, doc: ResourceDocument, issues) {
    const before = issues.length;
    const { pipeline, ...raw } = doc.body;
    if (!isValidName(pipeline)) {
      issues.push(issueAt(doc, ['pipeline'], 'pipeline must name the pipeline the trigger starts'));
      return undefined;
    }
    // The pipelines context compiles the trigger; parameters it names are checked against the pipeline at plan.
    const params = Object.keys((raw.params as Record<string, unknown> | undefined) ?? {});
    const parameters: Record<string, unknown> = {};
    for (const k of [...params, typeof raw.parameter === 'string' ? raw.parameter : '']) if (k) parameters[k] = { type: 'string' };
    const probe = { name: pipeline, parameters, steps: [{ name: 'probe', type: 'fail', message: 'probe' }], triggers: [raw] };
    try {
      const def = ctx.services.pipelines().validate({ file: doc.file, baseDir: '.', raw: probe, locate: (at) => doc.locate(at.slice(0, 2).join('.') === 'triggers.0' ? at.slice(2) : []) });
      return issues.length > before ? undefined : { pipeline, trigger: def.triggers[0] };
    } catch (err) {
      if (!isCapstanError(err, 'CAPSTAN_PIPELINE_INVALID')) throw err;
      for (const i of (err.fields?.issues as ValidationIssue[] | undefined) ?? []) {
        const path = i.path.replace(/^triggers\[0\]\.?/, '') || '(root)';
        issues.push({ ...issueAt(doc, path === '(root)' ? [] : parseFieldPath(path), i.message), line: i.line, column: i.column });
      }
      return undefined;
    }
  },

  async checkReferences(ctx, spec, doc) {
    const p = (await ctx.services.pipelines().list()).find((x) => x.name === spec.pipeline);
    if (!p) return ctx.declared.has(`Pipeline/${spec.pipeline}`) ? [] : [issueAt(doc, ['pipeline'], `pipeline ${spec.pipeline} does not exist`)];
    const out = [];
    if (inlineTriggerNames(p).has(spec.trigger.name)) out.push(issueAt(doc, ['name'], `pipeline ${spec.pipeline} declares a trigger ${spec.trigger.name} itself`));
    for (const k of Object.keys(spec.trigger.params)) if (!(k in p.definition.parameters)) out.push(issueAt(doc, ['params', k], `pipeline ${spec.pipeline} has no parameter ${k}`));
    if (spec.trigger.type === 'artifact' && p.definition.parameters[spec.trigger.parameter]?.type !== 'string') out.push(issueAt(doc, ['parameter'], `pipeline ${spec.pipeline} has no string parameter ${spec.trigger.parameter}`));
    return out;
  },

  async desired(_ctx, spec) {
    return state(spec);
  },

  async read(ctx, name) {
    const found = await find(ctx, name);
    return found ? state(found) : undefined;
  },

  async list(ctx) {
    return (await ctx.services.pipelines().list()).flatMap((p) => standaloneTriggers(p).map((t) => t.name));
  },

  async apply(ctx, spec) {
    const svc = ctx.services.pipelines();
    const current = await find(ctx, spec.trigger.name);
    if (current && stableJson(current) === stableJson(spec)) return { changed: false };
    if (current && current.pipeline !== spec.pipeline) await svc.removeTrigger(current.pipeline, spec.trigger.name);
    const r = await svc.setTrigger(spec.pipeline, spec.trigger);
    return { changed: true, secrets: r.webhookSecrets };
  },

  async delete(ctx, name) {
    const found = await find(ctx, name);
    if (found) await ctx.services.pipelines().removeTrigger(found.pipeline, name);
  },
};
