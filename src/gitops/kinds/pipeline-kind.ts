import path from 'node:path';
import { parse, stringify } from 'yaml';
import { isCapstanError } from '../../core/errors.js';
import { codeDirectoryDigest, type PipelineSource, type TriggerDefinition, type ValidationIssue } from '../../pipelines/index.js';
import { standaloneTriggers } from './standalone-triggers.js';
import { issueAt, kindDocument, stableJson, type KindAdapter, type KindContext } from '../kind-adapter.js';
import type { ResourceDocument } from '../resource-document.js';

interface PipelineDefinitionLike {
  triggers: TriggerDefinition[];
}

/** The standalone triggers of the applied pipeline that this document does not declare itself. */
async function keptTriggers(ctx: KindContext, doc: ResourceDocument): Promise<TriggerDefinition[]> {
  const current = (await ctx.services.pipelines().list()).find((p) => p.name === doc.name);
  if (!current) return [];
  const own = new Set(((doc.body.triggers as { name?: unknown }[] | undefined) ?? []).map((t) => t?.name));
  return standaloneTriggers(current).filter((t) => !own.has(t.name));
}

/** A valid Pipeline document: its compiled definition and where its code is. */
interface PipelineSpec {
  source: PipelineSource;
  definition: unknown;
  /** The code directory on this machine, when the definition names one. */
  codeDir?: string;
}

function codeDirOf(ctx: KindContext, doc: ResourceDocument): string | undefined {
  const code = doc.body.code;
  if (typeof code !== 'string') return undefined;
  return ctx.codeDirs.get(`${doc.file}#${code}`) ?? (doc.baseDir ? path.resolve(doc.baseDir, code) : undefined);
}

/** The pipeline document without `kind`, as the pipelines context takes it. */
function sourceOf(ctx: KindContext, doc: ResourceDocument): PipelineSource {
  const codeDir = codeDirOf(ctx, doc);
  return { file: doc.file, baseDir: doc.baseDir ?? '.', codeDir, raw: doc.body, text: stringify(doc.body), locate: doc.locate };
}

/** `kind: Pipeline`: the pipeline definition format of docs/pipelines.md plus `kind`; its code directory is snapshotted on apply. */
export const pipelineKind: KindAdapter<PipelineSpec> = {
  kind: 'Pipeline',
  aliases: ['pipeline', 'pipelines'],

  validate(ctx, doc, issues) {
    const source = sourceOf(ctx, doc);
    try {
      const definition = ctx.services.pipelines().validate(source);
      const codeDir = codeDirOf(ctx, doc);
      if (typeof doc.body.code === 'string' && !codeDir) {
        issues.push(issueAt(doc, ['code'], `code directory ${doc.body.code} was not uploaded with the definition`));
        return undefined;
      }
      return { source, definition, codeDir };
    } catch (err) {
      if (!isCapstanError(err, 'CAPSTAN_PIPELINE_INVALID')) throw err;
      const found = (err.fields?.issues as ValidationIssue[] | undefined) ?? [{ file: doc.file, path: '(root)', message: err.message }];
      for (const i of found) issues.push({ file: i.file, line: i.line, column: i.column, path: i.path, message: i.message });
      return undefined;
    }
  },

  async desired(ctx, spec, doc) {
    const digest = spec.codeDir ? await codeDirectoryDigest(spec.codeDir, String(doc.body.code)) : null;
    const kept = await keptTriggers(ctx, doc);
    const definition = kept.length ? { ...(spec.definition as PipelineDefinitionLike), triggers: [...(spec.definition as PipelineDefinitionLike).triggers, ...kept] } : spec.definition;
    return { document: kindDocument('Pipeline', doc.body), fingerprint: stableJson({ d: definition, c: digest }), notes: digest ? [`code ${digest}`] : [] };
  },

  async read(ctx, name) {
    const list = await ctx.services.pipelines().list();
    const p = list.find((x) => x.name === name);
    if (!p) return undefined;
    let body: Record<string, unknown> | undefined;
    try {
      const parsed = p.source ? parse(p.source) : undefined;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const { kind: _k, apiVersion: _a, ...rest } = body ?? (p.definition as unknown as Record<string, unknown>);
    return { document: kindDocument('Pipeline', rest), fingerprint: stableJson({ d: p.definition, c: p.codeDigest }), notes: p.codeDigest ? [`code ${p.codeDigest}`] : [] };
  },

  async list(ctx) {
    return (await ctx.services.pipelines().list()).map((p) => p.name);
  },

  async apply(ctx, spec, doc) {
    const kept = await keptTriggers(ctx, doc);
    // The stored text stays the document itself; the definition also holds the triggers Trigger documents added.
    const raw = kept.length ? { ...doc.body, triggers: [...((doc.body.triggers as unknown[] | undefined) ?? []), ...kept] } : doc.body;
    const r = await ctx.services.pipelines().apply({ ...spec.source, raw });
    return { changed: r.changed, secrets: r.webhookSecrets };
  },

  async delete(ctx, name) {
    await ctx.services.pipelines().delete(name);
  },
};
