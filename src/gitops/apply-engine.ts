import { roleSatisfies, type Role } from '../auth/index.js';
import { CapstanError } from '../core/errors.js';
import type { Database } from '../storage/database.js';
import type { KindAdapter, KindContext, KindServices, ResourceState } from './kind-adapter.js';
import { lineDiff, toYaml } from './plan-diff.js';
import { formatIssues, parseResourceFile, type ResourceDocument, type ResourceFile, type ResourceIssue } from './resource-document.js';
import type { ManagedResource, ResourceSource, SqlResourceStore } from './sql-resource-store.js';

/** How to apply; every field has a default. */
export interface ApplyOptions {
  /** Only plan: nothing changes; default false. */
  dryRun?: boolean;
  /** Delete resources of the managed set that the files no longer declare; default false. */
  prune?: boolean;
  /** The managed set the resources join (and `prune` works on); default `default`. */
  set?: string;
  /** Recorded with every applied resource besides its file; default none. */
  source?: { repository?: string; commit?: string };
  /** The caller's role over HTTP with auth on; a change needing more is refused (CAPSTAN_AUTH_FORBIDDEN). Default: not checked (embedded, repository syncs). */
  role?: Role;
}

/** The files to apply and where uploaded code directories were written. */
export interface ApplyInput extends ApplyOptions {
  files: ResourceFile[];
  /** `<file>#<code>` → local directory holding an uploaded code directory; default none. */
  codeDirs?: ReadonlyMap<string, string>;
  /** Called after each resource is applied or pruned, inside the transaction (a crash test pauses a sync here); default none. */
  afterEach?: (change: ResourceChange) => Promise<void>;
  /** Last writes of the same transaction (a repository's applied-commit pointer); default none. */
  beforeCommit?: (report: ApplyReport) => Promise<void>;
}

/** What happens (or happened) to one resource. */
export type ChangeAction = 'create' | 'update' | 'unchanged' | 'delete';

/** One resource of a plan: the action and a diff of its document (current → desired). */
export interface ResourceChange {
  kind: string;
  name: string;
  action: ChangeAction;
  /** The file declaring it (absent for a prune). */
  file?: string;
  /** `+`/`-` line diff of the YAML documents; empty when unchanged. */
  diff: string;
}

/** The result of `apply`: the plan, and whether it was carried out. */
export interface ApplyReport {
  dryRun: boolean;
  set: string;
  changes: ResourceChange[];
  /** Secrets created now (new webhook triggers), by `Kind/name`; shown only here. */
  secrets: Record<string, Record<string, string>>;
}

/** A resource as `get` answers: its document and, when applied from a file, its set and source. */
export interface ResourceView {
  kind: string;
  name: string;
  document: Record<string, unknown>;
  managed: { set: string; source: ResourceSource; appliedAt: string } | null;
}

interface PlannedResource {
  adapter: KindAdapter<any>;
  doc: ResourceDocument;
  spec: unknown;
  current: ResourceState | undefined;
  desired: ResourceState;
}

function diffOf(current: ResourceState | undefined, desired: ResourceState | undefined): string {
  const before = current ? toYaml(current.document) : '';
  const after = desired ? toYaml(desired.document) : '';
  let text = before === after ? '' : lineDiff(before, after);
  const notesBefore = (current?.notes ?? []).join('\n');
  const notesAfter = (desired?.notes ?? []).join('\n');
  if (notesBefore !== notesAfter) text += `${text ? '\n' : ''}${lineDiff(notesBefore, notesAfter).split('\n').filter((l) => !l.startsWith('  ')).map((l) => `${l[0]} # ${l.slice(2)}`).join('\n')}`;
  return text;
}

/**
 * The declarative apply: parse every file, validate every document (all issues at once, with file,
 * line and path), refuse missing references, plan each resource against its current state, then
 * apply in kind order and prune in reverse. Nothing is changed when any document is refused.
 */
export class ApplyEngine {
  constructor(
    private readonly kinds: readonly KindAdapter<any>[],
    private readonly services: KindServices,
    private readonly store: SqlResourceStore,
    private readonly db: Pick<Database, 'unitOfWork'>,
  ) {}

  /** The adapter for a kind name or alias (`Pipeline`, `pipelines`); CAPSTAN_GITOPS_KIND_UNKNOWN otherwise. */
  adapter(kind: string): KindAdapter<any> {
    const k = kind.toLowerCase();
    const found = this.kinds.find((a) => a.kind.toLowerCase() === k || a.aliases.includes(k));
    if (!found) throw new CapstanError('CAPSTAN_GITOPS_KIND_UNKNOWN', `unknown kind ${JSON.stringify(kind)}; known kinds: ${this.kinds.map((a) => a.kind).join(', ')}`, { fields: { kind } });
    return found;
  }

  private context(declared: Set<string>, codeDirs: ReadonlyMap<string, string> = new Map()): KindContext {
    return { services: this.services, declared, codeDirs };
  }

  /** Parses and validates everything; throws CAPSTAN_GITOPS_INVALID / _REFERENCE_MISSING listing every issue. */
  private async validate(input: ApplyInput): Promise<{ ctx: KindContext; valid: { adapter: KindAdapter<any>; doc: ResourceDocument; spec: unknown }[] }> {
    const issues: ResourceIssue[] = [];
    const docs = input.files.flatMap((f) => parseResourceFile(f, issues));
    const declared = new Set<string>();
    const seen = new Map<string, ResourceDocument>();
    const ctx = this.context(declared, input.codeDirs);
    const valid: { adapter: KindAdapter<any>; doc: ResourceDocument; spec: unknown }[] = [];
    for (const doc of docs) {
      const adapter = this.kinds.find((a) => a.kind === doc.kind);
      if (!adapter) {
        issues.push({ file: doc.file, ...doc.locate(['kind']), path: 'kind', message: `unknown kind ${JSON.stringify(doc.kind)}; known kinds: ${this.kinds.map((a) => a.kind).join(', ')}` });
        continue;
      }
      const key = `${doc.kind}/${doc.name}`;
      const first = seen.get(key);
      if (first) {
        issues.push({ file: doc.file, ...doc.locate(['name']), path: 'name', message: `${key} is declared twice (also in ${first.file}${first.locate([])?.line ? `:${first.locate([])!.line}` : ''})` });
        continue;
      }
      seen.set(key, doc);
      declared.add(key);
      const spec = adapter.validate(ctx, doc, issues);
      if (spec !== undefined) valid.push({ adapter, doc, spec });
    }
    if (issues.length === 0) for (const v of valid) if (v.adapter.verify) issues.push(...(await v.adapter.verify(ctx, v.spec, v.doc)));
    if (issues.length > 0) throw new CapstanError('CAPSTAN_GITOPS_INVALID', formatIssues(issues), { fields: { issues } });
    for (const v of valid) if (v.adapter.checkReferences) issues.push(...(await v.adapter.checkReferences(ctx, v.spec, v.doc)));
    if (issues.length > 0) throw new CapstanError('CAPSTAN_GITOPS_REFERENCE_MISSING', formatIssues(issues), { fields: { issues } });
    return { ctx, valid };
  }

  /** Validates, plans and (unless `dryRun`) applies the files. */
  async apply(input: ApplyInput): Promise<ApplyReport> {
    const set = input.set ?? 'default';
    const { ctx, valid } = await this.validate(input);
    const planned: PlannedResource[] = [];
    for (const v of valid) {
      planned.push({ ...v, current: await v.adapter.read(ctx, v.doc.name), desired: await v.adapter.desired(ctx, v.spec, v.doc) });
    }
    const order = (a: KindAdapter<any>) => this.kinds.indexOf(a);
    planned.sort((x, y) => order(x.adapter) - order(y.adapter));
    const prunes: ManagedResource[] = [];
    if (input.prune) {
      for (const r of await this.store.list({ set })) if (!ctx.declared.has(`${r.kind}/${r.name}`) && this.kinds.some((a) => a.kind === r.kind)) prunes.push(r);
      prunes.sort((x, y) => order(this.adapter(y.kind)) - order(this.adapter(x.kind)));
    }
    const changes: ResourceChange[] = planned.map((p) => ({
      kind: p.adapter.kind,
      name: p.doc.name,
      action: !p.current ? 'create' : p.current.fingerprint === p.desired.fingerprint ? 'unchanged' : 'update',
      file: p.doc.file,
      diff: !p.current || p.current.fingerprint !== p.desired.fingerprint ? diffOf(p.current, p.desired) : '',
    }));
    for (const r of prunes) {
      const adapter = this.adapter(r.kind);
      const current = await adapter.read(ctx, r.name);
      changes.push({ kind: r.kind, name: r.name, action: 'delete', diff: diffOf(current, undefined) });
    }
    const report: ApplyReport = { dryRun: Boolean(input.dryRun), set, changes, secrets: {} };
    if (input.role) {
      const needs: string[] = [];
      for (const [i, p] of planned.entries()) {
        const need = changes[i].action === 'unchanged' ? undefined : p.adapter.requiredRole?.(p.current, p.desired);
        if (need && !roleSatisfies(input.role, need)) needs.push(`${p.adapter.kind}/${p.doc.name} needs role ${need}`);
      }
      for (const r of prunes) {
        const adapter = this.adapter(r.kind);
        const need = adapter.requiredRole?.(await adapter.read(ctx, r.name), undefined);
        if (need && !roleSatisfies(input.role, need)) needs.push(`deleting ${r.kind}/${r.name} needs role ${need}`);
      }
      if (needs.length) throw new CapstanError('CAPSTAN_AUTH_FORBIDDEN', `the key has role ${input.role}: ${needs.join('; ')}`, { fields: { role: input.role } });
    }
    if (input.dryRun) return report;
    // Every resource change (of whichever context) and its bookkeeping commit together or not at all: a
    // crash or a refused resource leaves readers the state before the apply (docs/decisions/0026-atomic-repository-sync.md).
    await this.db.unitOfWork(async () => {
      await this.carryOut(input, set, ctx, planned, prunes, report);
      await input.beforeCommit?.(report);
    });
    return report;
  }

  private async carryOut(input: ApplyInput, set: string, ctx: KindContext, planned: PlannedResource[], prunes: ManagedResource[], report: ApplyReport): Promise<void> {
    const changes = report.changes;
    for (const [i, p] of planned.entries()) {
      const result = await p.adapter.apply(ctx, p.spec, p.doc);
      // An apply that found nothing to do after all (a concurrent writer got there first) is reported as such.
      if (!result.changed && changes[i].action === 'update') changes[i] = { ...changes[i], action: 'unchanged', diff: '' };
      if (result.secrets && Object.keys(result.secrets).length) report.secrets[`${p.adapter.kind}/${p.doc.name}`] = result.secrets;
      const source: ResourceSource = { file: p.doc.file, ...input.source };
      const before = await this.store.get(p.adapter.kind, p.doc.name);
      if (changes[i].action !== 'unchanged' || !before || before.set !== set || JSON.stringify(before.source) !== JSON.stringify(source)) {
        await this.store.record(p.adapter.kind, p.doc.name, set, source);
      }
      await input.afterEach?.(changes[i]);
    }
    for (const [i, r] of prunes.entries()) {
      const adapter = this.adapter(r.kind);
      if (await adapter.read(ctx, r.name)) await adapter.delete(ctx, r.name);
      await this.store.forget(r.kind, r.name);
      await input.afterEach?.(changes[planned.length + i]);
    }
  }

  /** Resources of a kind (or one of them) as documents `apply` accepts. */
  async get(kind: string, name?: string): Promise<ResourceView[]> {
    const adapter = this.adapter(kind);
    const ctx = this.context(new Set());
    const names = name ? [name] : await adapter.list(ctx);
    const out: ResourceView[] = [];
    for (const n of names) {
      const state = await adapter.read(ctx, n);
      if (!state) {
        if (name) throw new CapstanError('CAPSTAN_GITOPS_RESOURCE_NOT_FOUND', `no ${adapter.kind} named ${JSON.stringify(n)}`, { fields: { kind: adapter.kind, name: n } });
        continue;
      }
      const m = await this.store.get(adapter.kind, n);
      out.push({ kind: adapter.kind, name: n, document: state.document, managed: m ? { set: m.set, source: m.source, appliedAt: m.appliedAt } : null });
    }
    return out;
  }

  /** Deletes one resource and forgets its bookkeeping (`role` as in ApplyOptions). */
  async delete(kind: string, name: string, role?: Role): Promise<void> {
    const adapter = this.adapter(kind);
    const ctx = this.context(new Set());
    const current = await adapter.read(ctx, name);
    if (!current) throw new CapstanError('CAPSTAN_GITOPS_RESOURCE_NOT_FOUND', `no ${adapter.kind} named ${JSON.stringify(name)}`, { fields: { kind: adapter.kind, name } });
    const need = role ? adapter.requiredRole?.(current, undefined) : undefined;
    if (role && need && !roleSatisfies(role, need)) throw new CapstanError('CAPSTAN_AUTH_FORBIDDEN', `the key has role ${role}: deleting ${adapter.kind}/${name} needs role ${need}`, { fields: { role } });
    await this.db.unitOfWork(async () => {
      await adapter.delete(ctx, name);
      await this.store.forget(adapter.kind, name);
    });
  }
}
