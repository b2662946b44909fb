import { isMap, isNode, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { assertYamlSize, yamlDocumentToJs } from '../core/user-yaml.js';

/** One problem in a resource file: file, 1-based line and column, the path inside the document, and why. */
export interface ResourceIssue {
  file: string;
  line?: number;
  column?: number;
  /** Path inside the document, e.g. `steps[2].command`; `(root)` for the whole document. */
  path: string;
  message: string;
}

/** One YAML document of a resource file: `kind`, `name` and the kind's own fields, flat. */
export interface ResourceDocument {
  /** The file as shown in errors and recorded as the resource's source. */
  file: string;
  /** Directory relative paths (a pipeline's `code`) resolve against; absent when the files were uploaded. */
  baseDir?: string;
  kind: string;
  name: string;
  /** The document without `apiVersion` and `kind`. */
  body: Record<string, unknown>;
  /** Where a path of the document is (or its nearest located ancestor). */
  locate(at: (string | number)[]): { line: number; column: number } | undefined;
}

/** A file to read resources from. */
export interface ResourceFile {
  /** Name shown in errors and recorded as the source (relative to what the user named). */
  path: string;
  text: string;
  /** Directory the file's relative paths resolve against, when it is on this machine. */
  baseDir?: string;
}

/** Renders a document path as `steps[2].command`. */
export function formatPath(at: (string | number)[]): string {
  let out = '';
  for (const p of at) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(root)';
}

/** Renders issues one per line as `file:line:col path: message`. */
export function formatIssues(issues: ResourceIssue[]): string {
  return issues.map((i) => `${i.file}${i.line ? `:${i.line}:${i.column ?? 1}` : ''} ${i.path}: ${i.message}`).join('\n');
}

function locator(doc: Document, lc: LineCounter) {
  return (at: (string | number)[]) => {
    for (let n = at.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(at.slice(0, n), true);
      if (isNode(node) && node.range) {
        const pos = lc.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };
}

/**
 * Splits a file into resource documents. Every problem found (malformed YAML, a document that is not
 * a mapping, a missing `kind` or `name`) is added to `issues` with its line; good documents are returned.
 */
export function parseResourceFile(file: ResourceFile, issues: ResourceIssue[]): ResourceDocument[] {
  assertYamlSize(file.text, file.path);
  const lc = new LineCounter();
  const docs = parseAllDocuments(file.text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: ResourceDocument[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, 3)) {
        const pos = lc.linePos(e.pos[0]);
        issues.push({ file: file.path, line: pos.line, column: pos.col, path: '(yaml)', message: `malformed YAML: ${e.message.split('\n')[0]}` });
      }
      continue;
    }
    if (doc.contents === null) continue; // an empty document between `---` separators
    const locate = locator(doc, lc);
    const at = locate([]);
    if (!isMap(doc.contents)) {
      issues.push({ file: file.path, ...at, path: '(root)', message: 'a resource document must be a mapping with kind and name' });
      continue;
    }
    const raw = yamlDocumentToJs(doc, file.path) as Record<string, unknown>;
    const { apiVersion, kind, ...body } = raw;
    if (apiVersion !== undefined && apiVersion !== 'capstan/v1') {
      issues.push({ file: file.path, ...locate(['apiVersion']), path: 'apiVersion', message: `unknown apiVersion ${JSON.stringify(apiVersion)}; use capstan/v1 or leave it out` });
    }
    if (typeof kind !== 'string' || !kind) {
      issues.push({ file: file.path, ...at, path: 'kind', message: 'missing kind (Pipeline, ModelGroup, Endpoint, Trigger, Notification, …)' });
      continue;
    }
    if (typeof body.name !== 'string' || !body.name) {
      issues.push({ file: file.path, ...at, path: 'name', message: `a ${kind} needs a name` });
      continue;
    }
    out.push({ file: file.path, baseDir: file.baseDir, kind, name: body.name, body, locate });
  }
  return out;
}
