import { parse, type Document } from 'yaml';
import { CapstanError } from './errors.js';

/** Largest YAML document Capstan parses from a user (a pipeline, an endpoint config, capstan.yaml): 1 MiB. */
export const YAML_MAX_BYTES = 1024 * 1024;

/**
 * Most alias dereferences one document may expand. The `yaml` package counts each alias by the size
 * of what it expands to, so a "billion laughs" document fails long before it costs memory.
 */
export const YAML_MAX_ALIASES = 100;

/** Throws CAPSTAN_REQUEST_YAML_LIMIT when `text` is larger than YAML_MAX_BYTES. */
export function assertYamlSize(text: string, source: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_MAX_BYTES) {
    throw new CapstanError('CAPSTAN_REQUEST_YAML_LIMIT', `${source}: the YAML document is ${bytes} bytes; at most ${YAML_MAX_BYTES} are accepted`, { fields: { limit: YAML_MAX_BYTES, bytes } });
  }
}

/** True for the `yaml` package's refusal of an alias expansion over `maxAliasCount`. */
function isAliasLimit(err: unknown): boolean {
  return err instanceof ReferenceError && /alias count/i.test(err.message);
}

function aliasError(source: string, err: unknown): CapstanError {
  return new CapstanError('CAPSTAN_REQUEST_YAML_LIMIT', `${source}: the YAML document expands too many aliases (at most ${YAML_MAX_ALIASES}); write the values out instead`, { cause: err, fields: { maxAliases: YAML_MAX_ALIASES } });
}

/** Converts a parsed document to plain values with the alias limit; an alias bomb is CAPSTAN_REQUEST_YAML_LIMIT. */
export function yamlDocumentToJs(doc: Document, source: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: YAML_MAX_ALIASES });
  } catch (err) {
    if (isAliasLimit(err)) throw aliasError(source, err);
    throw err;
  }
}

/**
 * Parses YAML that a user supplied, within the size and alias limits (CAPSTAN_REQUEST_YAML_LIMIT);
 * other syntax errors are thrown as the `yaml` package reports them, for the caller to word.
 */
export function parseUserYaml(text: string, source: string): unknown {
  assertYamlSize(text, source);
  try {
    return parse(text, { maxAliasCount: YAML_MAX_ALIASES });
  } catch (err) {
    if (isAliasLimit(err)) throw aliasError(source, err);
    throw err;
  }
}
