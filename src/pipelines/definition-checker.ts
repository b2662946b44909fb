import { formatPath, type PipelineSource, type ValidationIssue } from './pipeline-source.js';

/** A path into the pipeline document (keys and list indexes). */
export type DocPath = (string | number)[];
/** A mapping of the pipeline document. */
export type DocObject = Record<string, unknown>;

/** Step and trigger names: a-z, 0-9, _ and -, up to 63 characters. */
export const STEP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Collects issues, with file, line and path, while a pipeline document is turned into a definition. */
export class DefinitionChecker {
  readonly issues: ValidationIssue[] = [];
  constructor(private readonly source: PipelineSource) {}

  /** Records a problem at a path of the document. */
  issue(at: DocPath, message: string): void {
    const pos = this.source.locate(at);
    this.issues.push({ file: this.source.file, line: pos?.line, column: pos?.column, path: formatPath(at), message });
  }

  /** The value as a mapping, or undefined (with an issue when it is not one, or is missing and required). */
  obj(v: unknown, at: DocPath, required = false): DocObject | undefined {
    if (v === undefined || v === null) {
      if (required) this.issue(at, 'is required');
      return undefined;
    }
    if (typeof v !== 'object' || Array.isArray(v)) return void this.issue(at, 'must be a mapping');
    return v as DocObject;
  }

  /** A non-empty string field (numbers and booleans as text). */
  str(o: DocObject, key: string, at: DocPath, required = false): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.issue([...at, key], 'is required');
      return undefined;
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string' || v === '') return void this.issue([...at, key], 'must be a non-empty string');
    return v;
  }

  /** A list of non-empty strings; empty when absent. */
  strList(o: DocObject, key: string, at: DocPath): string[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
      this.issue([...at, key], 'must be a list of non-empty strings');
      return [];
    }
    return v as string[];
  }

  /** A mapping of strings, numbers and booleans; empty when absent. */
  scalarMap(o: DocObject, key: string, at: DocPath): Record<string, string | number | boolean> {
    const m = this.obj(o[key], [...at, key]);
    if (!m) return {};
    for (const [k, v] of Object.entries(m)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) this.issue([...at, key, k], 'must be a string, number or boolean');
    }
    return m as Record<string, string | number | boolean>;
  }

  /** Reports every key of the mapping that is not allowed. */
  unknownKeys(o: DocObject, allowed: string[], at: DocPath): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.issue([...at, k], `unknown field "${k}"`);
  }
}
