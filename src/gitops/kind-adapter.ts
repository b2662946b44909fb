import type { Role } from '../auth/index.js';
import type { PipelineService } from '../pipelines/index.js';
import type { RegistryService } from '../registry/index.js';
import type { EndpointService } from '../serving/index.js';
import { formatPath, type ResourceDocument, type ResourceIssue } from './resource-document.js';

/** The services kind adapters work through, looked up when used (contexts may be built in any order). */
export interface KindServices {
  pipelines(): PipelineService;
  registry(): RegistryService;
  serving(): EndpointService;
  /** Another context's service by module name (for kinds whose context is reached by name: `notifications`, `rollouts`, …). */
  use<T>(name: string): T;
}

/** What an adapter sees during one plan or apply. */
export interface KindContext {
  services: KindServices;
  /** Every resource declared in this apply, as `Kind/name`. */
  declared: ReadonlySet<string>;
  /** Uploaded code directories: `<file>#<code>` → a local directory holding the files. */
  codeDirs: ReadonlyMap<string, string>;
}

/** A resource's state as a plain document plus what decides equality. */
export interface ResourceState {
  /** The canonical document `capstan get -o yaml` prints and `apply` accepts (with `kind` first). */
  document: Record<string, unknown>;
  /** Equal fingerprints mean applying changes nothing. */
  fingerprint: string;
  /** Extra diff lines for what the document does not show (a code digest). */
  notes?: string[];
}

/** What applying one resource did. */
export interface KindApplyResult {
  changed: boolean;
  /** Secrets created now and shown only once (webhook trigger secrets). */
  secrets?: Record<string, string>;
}

/**
 * One resource kind of the declarative form. Adding a kind is one file implementing this plus one
 * line in `kinds/index.ts`; the engine does parsing, ordering, plans, diffs, prune and bookkeeping.
 */
export interface KindAdapter<S = unknown> {
  /** `kind:` as written in files, e.g. `Pipeline`. */
  readonly kind: string;
  /** Names `capstan get <kind>` accepts besides the kind itself (lower-case, plural). */
  readonly aliases: readonly string[];
  /** Checks a document, adding located issues; returns the spec when it is valid. */
  validate(ctx: KindContext, doc: ResourceDocument, issues: ResourceIssue[]): S | undefined;
  /** Checks needing I/O (an outbound address); its issues refuse the apply like schema errors. */
  verify?(ctx: KindContext, spec: S, doc: ResourceDocument): Promise<ResourceIssue[]>;
  /** Issues for references to resources that neither exist nor are declared in this apply. */
  checkReferences?(ctx: KindContext, spec: S, doc: ResourceDocument): Promise<ResourceIssue[]>;
  /** The desired state of a valid spec, comparable with `read`. */
  desired(ctx: KindContext, spec: S, doc: ResourceDocument): Promise<ResourceState>;
  /** The current state, or undefined when the resource does not exist. */
  read(ctx: KindContext, name: string): Promise<ResourceState | undefined>;
  /** Names of every existing resource of this kind. */
  list(ctx: KindContext): Promise<string[]>;
  /** Creates or updates the resource. */
  apply(ctx: KindContext, spec: S, doc: ResourceDocument): Promise<KindApplyResult>;
  /** Deletes the resource. */
  delete(ctx: KindContext, name: string): Promise<void>;
  /**
   * A role above `editor` this change needs (`desired` undefined for a delete), so `apply` grants no
   * more than the resource's own routes do: an approval policy needs `approver`, a notification target
   * `admin`; default none.
   */
  requiredRole?(current: ResourceState | undefined, desired: ResourceState | undefined): Role | undefined;
}

/** `{ kind, ...rest }` with `kind` first and undefined fields dropped, so YAML output reads naturally. */
export function kindDocument(kind: string, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { kind };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

/** JSON with object keys sorted, for fingerprints that do not depend on key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/** A located issue for `path` of a document. */
export function issueAt(doc: ResourceDocument, at: (string | number)[], message: string): ResourceIssue {
  return { file: doc.file, ...doc.locate(at), path: formatPath(at), message };
}

/** Turns `variants[0].model` into `['variants', 0, 'model']`. */
export function parseFieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}
