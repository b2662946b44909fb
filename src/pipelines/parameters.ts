import { CapstanError } from '../core/errors.js';
import type { ParameterDefinition, PipelineDefinition } from './definition.js';
import { parameterTypeProblem } from './validate.js';

function coerce(type: ParameterDefinition['type'], value: unknown): unknown {
  if (typeof value !== 'string' || type === 'string') return value;
  const v = value.trim();
  if (type === 'boolean') return /^(true|yes|1)$/i.test(v) ? true : /^(false|no|0)$/i.test(v) ? false : value;
  if (type === 'integer') return /^-?\d+$/.test(v) ? Number(v) : value;
  if (type === 'number') return v !== '' && Number.isFinite(Number(v)) ? Number(v) : value;
  return value;
}

/**
 * The parameters of a new execution: defaults overlaid with the given values (strings from the
 * CLI are converted to the declared type). Unknown names, wrong types and missing required values
 * are CAPSTAN_PIPELINE_PARAMETER_INVALID naming the parameter.
 */
export function compileParams(def: PipelineDefinition, given: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(given)) {
    if (!(name in def.parameters)) {
      const known = Object.keys(def.parameters);
      throw new CapstanError('CAPSTAN_PIPELINE_PARAMETER_INVALID', `pipeline "${def.name}" has no parameter "${name}"${known.length ? `; it has ${known.join(', ')}` : ''}`, { fields: { parameter: name } });
    }
  }
  for (const [name, spec] of Object.entries(def.parameters)) {
    const value = name in given ? coerce(spec.type, given[name]) : spec.default;
    if (value === undefined) {
      throw new CapstanError('CAPSTAN_PIPELINE_PARAMETER_INVALID', `parameter "${name}" has no default and was not given`, { fields: { parameter: name } });
    }
    const problem = parameterTypeProblem(spec.type, value);
    if (problem) throw new CapstanError('CAPSTAN_PIPELINE_PARAMETER_INVALID', `parameter "${name}" ${problem}`, { fields: { parameter: name } });
    out[name] = value;
  }
  return out;
}

/** Parses CLI `--param k=v` pairs. */
export function parseParamPairs(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CapstanError('CAPSTAN_PIPELINE_PARAMETER_INVALID', `--param ${JSON.stringify(p)}: use name=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}
