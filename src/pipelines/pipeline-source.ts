import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { CapstanError } from '../core/errors.js';
import { assertYamlSize, yamlDocumentToJs } from '../core/user-yaml.js';
import { fsReason } from '../core/file-errors.js';

/** A position in a definition file (1-based). */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One problem found in a definition, located as precisely as the source allows. */
export interface ValidationIssue {
  /** The definition file, or `<builder>` for a definition built in TypeScript. */
  file: string;
  line?: number;
  column?: number;
  /** Path inside the document, e.g. `steps[2].command`. */
  path: string;
  message: string;
}

/** A parsed definition document that can say where any path came from. */
export interface PipelineSource {
  file: string;
  /** Directory relative paths (code, function modules) resolve against. */
  baseDir: string;
  /** Where the files of the `code` directory are when they were uploaded rather than found at `code` under `baseDir`; default: there. */
  codeDir?: string;
  /** The plain JS value of the document. */
  raw: unknown;
  /** The original text, kept with the applied pipeline; undefined for builder definitions. */
  text?: string;
  /** Where a path is, or its nearest located ancestor. */
  locate(at: (string | number)[]): SourcePosition | undefined;
}

/** Renders a document path as `steps[2].command`. */
export function formatPath(at: (string | number)[]): string {
  let out = '';
  for (const p of at) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(root)';
}

/** Renders issues as one client-safe detail, one issue per line. */
export function formatIssues(issues: ValidationIssue[]): string {
  return issues
    .map((i) => `${i.file}${i.line ? `:${i.line}:${i.column ?? 1}` : ''} ${i.path}: ${i.message}`)
    .join('\n');
}

/** Throws CAPSTAN_PIPELINE_INVALID carrying every issue (detail lists them; `issues` field has them structured). */
export function throwIssues(issues: ValidationIssue[]): never {
  throw new CapstanError('CAPSTAN_PIPELINE_INVALID', formatIssues(issues), { fields: { issues } });
}

/**
 * Parses YAML text keeping positions; malformed YAML is CAPSTAN_PIPELINE_INVALID with the line, and a
 * document over the size or alias limits is CAPSTAN_REQUEST_YAML_LIMIT.
 */
export function parsePipelineYaml(text: string, file: string, baseDir = '.'): PipelineSource {
  assertYamlSize(text, file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throwIssues(
      // Later errors are usually consequences of the first; a handful is enough to act on.
      doc.errors.slice(0, 3).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '(yaml)', message: `malformed YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const raw = yamlDocumentToJs(doc, file);
  return {
    file,
    baseDir,
    raw,
    text,
    locate(at) {
      for (let n = at.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(at.slice(0, n), true);
        if (isNode(node) && node.range) {
          const pos = lineCounter.linePos(node.range[0]);
          return { line: pos.line, column: pos.col };
        }
      }
      return undefined;
    },
  };
}

/** Reads and parses a definition file; its directory becomes the base for relative paths. */
export function readPipelineFile(file: string): PipelineSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CapstanError('CAPSTAN_PIPELINE_INVALID', `cannot read ${file}: ${fsReason(err)}`, { cause: err, fields: { path: file } });
  }
  return parsePipelineYaml(text, path.basename(file), path.dirname(path.resolve(file)));
}

/** Wraps a plain object (the builder's output) as a source without positions. */
export function objectSource(raw: unknown, baseDir = process.cwd()): PipelineSource {
  return { file: '<builder>', baseDir, raw, locate: () => undefined };
}
