import { CapstanError } from '../core/errors.js';
import type { FeatureService } from '../features/index.js';

/** A variant's `features:` enrichment as a user writes it. */
export interface VariantFeaturesInput {
  /** Feature references (`group:feature`, `group@2:feature`) added to each instance. */
  features: string[];
  /** Join key → request field holding its value; default: the field named like the join key. */
  entityKeys?: Record<string, string>;
  /** Feature reference → field name in the model input; default the feature's name. */
  as?: Record<string, string>;
  /** Keep the entity fields (ids) in the model input; default false: they are used for the lookup and removed. */
  keepEntityFields?: boolean;
}

/** The compiled enrichment: join keys to read and the field each feature lands in. */
export interface VariantFeatures {
  features: string[];
  entityKeys: Record<string, string>;
  as: Record<string, string>;
  keepEntityFields: boolean;
}

const REF = /^[a-z0-9][a-z0-9._-]{0,62}(@[1-9][0-9]*)?:[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Validates `features:` of a variant; `invalid` builds the endpoint-config error naming the field. */
export function compileVariantFeatures(input: unknown, at: string, invalid: (detail: string, field: string) => CapstanError): VariantFeatures {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalid(`${at} must be an object {features, entityKeys?, as?}`, at);
  const i = input as Record<string, unknown>;
  const extra = Object.keys(i).filter((k) => !['features', 'entityKeys', 'as', 'keepEntityFields'].includes(k));
  if (extra.length) throw invalid(`${at}: unknown field(s) ${extra.join(', ')}`, at);
  if (!Array.isArray(i.features) || i.features.length === 0 || !i.features.every((f) => typeof f === 'string' && REF.test(f))) {
    throw invalid(`${at}.features must be a non-empty list of group:feature references`, `${at}.features`);
  }
  const map = (v: unknown, field: string): Record<string, string> => {
    if (v === undefined) return {};
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) throw invalid(`${at}.${field} must map names to strings`, `${at}.${field}`);
    return v as Record<string, string>;
  };
  const features = i.features as string[];
  const as = map(i.as, 'as');
  if (i.keepEntityFields !== undefined && typeof i.keepEntityFields !== 'boolean') throw invalid(`${at}.keepEntityFields must be true or false`, `${at}.keepEntityFields`);
  return { features, entityKeys: map(i.entityKeys, 'entityKeys'), as: Object.fromEntries(features.map((f) => [f, as[f] ?? f.slice(f.lastIndexOf(':') + 1)])), keepEntityFields: i.keepEntityFields === true };
}

/**
 * Adds online feature values to a JSON invocation body before the model sees it, in-process through
 * the feature service (no HTTP hop): per instance (`{"instances": [...]}`, an array, or one object),
 * the entity is read from the request fields (which are then removed unless `keepEntityFields`), and
 * each feature lands in its field (null unless PRESENT, with the same TTL rule as training sets).
 * Join keys come from the group definitions.
 */
export async function enrichBody(body: string, spec: VariantFeatures, features: FeatureService, joinKeys: (ref: string) => Promise<string[]>): Promise<string> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new CapstanError('CAPSTAN_SERVING_MALFORMED_JSON', 'the invocation body is not valid JSON (this variant adds feature values to JSON instances)', { cause: err });
  }
  const instances: Array<Record<string, unknown>> = Array.isArray((doc as { instances?: unknown })?.instances) ? (doc as { instances: Array<Record<string, unknown>> }).instances : Array.isArray(doc) ? (doc as Array<Record<string, unknown>>) : [doc as Record<string, unknown>];
  const keys = [...new Set((await Promise.all(spec.features.map(joinKeys))).flat())];
  const entities = instances.map((inst, n) => {
    if (!inst || typeof inst !== 'object') throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `instance ${n} must be a JSON object to add feature values to it`);
    const entity: Record<string, string | number> = {};
    for (const key of keys) {
      const field = spec.entityKeys[key] ?? key;
      const v = inst[field];
      if (typeof v !== 'string' && typeof v !== 'number') throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `instance ${n} lacks field ${field} (the ${key} of its features)`);
      entity[key] = v;
    }
    return entity;
  });
  const read = await features.readOnline({ features: spec.features, entities });
  read.results.forEach((r, n) => {
    if (!spec.keepEntityFields) for (const key of keys) delete instances[n][spec.entityKeys[key] ?? key];
    for (const f of spec.features) instances[n][spec.as[f]] = r.values[f].status === 'PRESENT' ? r.values[f].value : null;
  });
  return JSON.stringify(doc);
}
