import { CapstanError } from '../core/errors.js';
import { assertName } from '../core/names.js';
import { VALUE_TYPES, type TypedColumn, type ValueType } from './feature-types.js';

/** An entity as written in features.yaml or sent to the API. */
export interface EntityInput {
  name: string;
  joinKeys: Array<{ name: string; type?: ValueType; description?: string }>;
  description?: string;
}

/** A feature group as written in features.yaml or sent to the API. */
export interface FeatureGroupInput {
  name: string;
  /** Default: the latest version (1 for a new group); a higher number creates that new version. */
  version?: number;
  entities: string[];
  eventTime: string;
  createdTime?: string;
  /** `30s`, `15m`, `24h`, `7d`, `500ms` or a number of seconds; default none (never expires); zero or negative is refused. */
  ttl?: string | number;
  features: Array<{ name: string; type: ValueType; description?: string }>;
  owner?: string;
  description?: string;
  tags?: Record<string, string>;
}

/** A definitions document: `entities` and `featureGroups`, both optional. */
export interface FeatureDefinitionsInput {
  entities?: EntityInput[];
  featureGroups?: FeatureGroupInput[];
}

/** A validated entity definition. */
export interface EntitySpec {
  name: string;
  joinKeys: TypedColumn[];
  description: string;
}

/** A validated feature group definition (join keys are resolved later from its entities). */
export interface FeatureGroupSpec {
  name: string;
  version?: number;
  entities: string[];
  eventTimeColumn: string;
  createdTimeColumn: string | null;
  ttlMs: number | null;
  features: TypedColumn[];
  owner: string | null;
  description: string;
  tags: Record<string, string>;
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function invalid(message: string, fields: Record<string, unknown> = {}): CapstanError {
  return new CapstanError('CAPSTAN_FEATURES_DEFINITION_INVALID', message, { fields, retryable: false });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function column(where: string, v: unknown): string {
  if (typeof v !== 'string' || !COLUMN.test(v) || v.startsWith('__')) {
    throw invalid(`${where}: column name ${JSON.stringify(v)} is not valid: use letters, digits and '_' (not starting with a digit or '__'), at most 63`);
  }
  return v;
}

function valueType(where: string, v: unknown, fallback?: ValueType): ValueType {
  if (v === undefined && fallback) return fallback;
  if (typeof v !== 'string' || !(VALUE_TYPES as readonly string[]).includes(v)) {
    throw invalid(`${where}: type ${JSON.stringify(v)} is not one of ${VALUE_TYPES.join(', ')}`);
  }
  return v as ValueType;
}

function optionalString(where: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  return v;
}

function unknownKeys(where: string, obj: Record<string, unknown>, allowed: string[]): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length) throw invalid(`${where}: unknown field(s) ${extra.join(', ')}; allowed: ${allowed.join(', ')}`);
}

/** Parses a TTL (`7d`, `15m`, `500ms`, or seconds as a number) to milliseconds; zero, negative or malformed is CAPSTAN_FEATURES_DEFINITION_INVALID. */
export function parseTtl(where: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  let ms: number;
  if (typeof v === 'number') ms = v * 1000;
  else if (typeof v === 'string' && DURATION.test(v.trim())) {
    const m = DURATION.exec(v.trim())!;
    ms = Number(m[1]) * UNIT_MS[m[2]];
  } else if (typeof v === 'string' && /^-/.test(v.trim())) ms = -1;
  else throw invalid(`${where}: ttl ${JSON.stringify(v)} is not a duration such as 30s, 15m, 24h or 7d`, { ttl: v });
  if (!Number.isFinite(ms) || Math.trunc(ms) <= 0) throw invalid(`${where}: ttl must be positive (got ${JSON.stringify(v)}); leave it out for values that never expire`, { ttl: v });
  return Math.trunc(ms);
}

function compileColumns(where: string, list: unknown, defaultType?: ValueType): TypedColumn[] {
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${where} must be a non-empty list`);
  const seen = new Set<string>();
  return list.map((item, i) => {
    const at = `${where}[${i}]`;
    const obj = typeof item === 'string' ? { name: item } : item;
    if (!isObject(obj)) throw invalid(`${at} must be a name or {name, type}`);
    unknownKeys(at, obj, ['name', 'type', 'description']);
    const name = column(at, obj.name);
    if (seen.has(name)) throw invalid(`${at}: column ${name} appears twice`);
    seen.add(name);
    const description = optionalString(`${at}.description`, obj.description);
    return { name, type: valueType(at, obj.type, defaultType), ...(description ? { description } : {}) };
  });
}

/** Validates one entity definition (join keys default to type string). */
export function compileEntity(input: unknown, where = 'entity'): EntitySpec {
  if (!isObject(input)) throw invalid(`${where} must be an object`);
  unknownKeys(where, input, ['name', 'joinKeys', 'description']);
  const name = assertName(input.name, 'entity name');
  const joinKeys = compileColumns(`${where} ${name}: joinKeys`, input.joinKeys, 'string');
  for (const k of joinKeys) if (k.type === 'float64' || k.type === 'bool') throw invalid(`${where} ${name}: join key ${k.name} must be string, int64 or timestamp`);
  return { name, joinKeys, description: optionalString(`${where}.description`, input.description) ?? '' };
}

/** Validates one feature group definition: names, types, TTL; columns of the record id, event time and features must not collide. */
export function compileFeatureGroup(input: unknown, where = 'featureGroup'): FeatureGroupSpec {
  if (!isObject(input)) throw invalid(`${where} must be an object`);
  unknownKeys(where, input, ['name', 'version', 'entities', 'eventTime', 'createdTime', 'ttl', 'features', 'owner', 'description', 'tags']);
  const name = assertName(input.name, 'feature group name');
  const at = `${where} ${name}`;
  if (input.version !== undefined && !(Number.isInteger(input.version) && (input.version as number) >= 1)) throw invalid(`${at}: version must be a positive integer`);
  if (!Array.isArray(input.entities) || input.entities.length === 0) throw invalid(`${at}: entities must name at least one entity`);
  const entities = input.entities.map((e) => assertName(e, 'entity name'));
  const eventTimeColumn = column(`${at}: eventTime`, input.eventTime);
  const createdTimeColumn = input.createdTime === undefined || input.createdTime === null ? null : column(`${at}: createdTime`, input.createdTime);
  const features = compileColumns(`${at}: features`, input.features);
  const reserved = new Set([eventTimeColumn, ...(createdTimeColumn ? [createdTimeColumn] : [])]);
  if (createdTimeColumn === eventTimeColumn) throw invalid(`${at}: createdTime and eventTime must be different columns`);
  for (const f of features) if (reserved.has(f.name)) throw invalid(`${at}: feature ${f.name} has the name of the event or created time column`);
  let tags: Record<string, string> = {};
  if (input.tags !== undefined) {
    if (!isObject(input.tags) || Object.values(input.tags).some((v) => typeof v !== 'string')) throw invalid(`${at}: tags must map names to strings`);
    tags = input.tags as Record<string, string>;
  }
  return {
    name,
    version: input.version as number | undefined,
    entities,
    eventTimeColumn,
    createdTimeColumn,
    ttlMs: parseTtl(at, input.ttl),
    features,
    owner: optionalString(`${at}.owner`, input.owner) ?? null,
    description: optionalString(`${at}.description`, input.description) ?? '',
    tags,
  };
}

/** Validates a whole definitions document before anything is stored. */
export function compileDefinitions(input: unknown): { entities: EntitySpec[]; featureGroups: FeatureGroupSpec[] } {
  if (!isObject(input)) throw invalid('the definitions document must be an object with entities and/or featureGroups');
  unknownKeys('definitions', input, ['entities', 'featureGroups']);
  const entities = input.entities === undefined ? [] : Array.isArray(input.entities) ? input.entities.map((e, i) => compileEntity(e, `entities[${i}]`)) : (() => { throw invalid('entities must be a list'); })();
  const featureGroups = input.featureGroups === undefined ? [] : Array.isArray(input.featureGroups) ? input.featureGroups.map((g, i) => compileFeatureGroup(g, `featureGroups[${i}]`)) : (() => { throw invalid('featureGroups must be a list'); })();
  const dup = (names: string[]) => names.find((n, i) => names.indexOf(n) !== i);
  const e = dup(entities.map((x) => x.name));
  if (e) throw invalid(`entity ${e} is defined twice`);
  const g = dup(featureGroups.map((x) => `${x.name}@${x.version ?? 'latest'}`));
  if (g) throw invalid(`feature group ${g} is defined twice`);
  return { entities, featureGroups };
}

/**
 * Why a new definition cannot replace a stored version in place, or undefined when it can: the
 * record id, the event/created time columns and every existing feature's type must stay; new
 * features may be added (older files read them as null). Metadata (TTL, owner, tags) may change.
 */
export function incompatibility(
  stored: { joinKeys: TypedColumn[]; eventTimeColumn: string; createdTimeColumn: string | null; features: TypedColumn[] },
  next: { joinKeys: TypedColumn[]; eventTimeColumn: string; createdTimeColumn: string | null; features: TypedColumn[] },
): string | undefined {
  const cols = (c: TypedColumn[]) => c.map((x) => `${x.name}:${x.type}`).join(',');
  if (cols(stored.joinKeys) !== cols(next.joinKeys)) return `the record id changes from (${cols(stored.joinKeys)}) to (${cols(next.joinKeys)})`;
  if (stored.eventTimeColumn !== next.eventTimeColumn) return `the event time column changes from ${stored.eventTimeColumn} to ${next.eventTimeColumn}`;
  if (stored.createdTimeColumn !== next.createdTimeColumn) return `the created time column changes from ${stored.createdTimeColumn ?? '(the event time)'} to ${next.createdTimeColumn ?? '(the event time)'}`;
  for (const f of stored.features) {
    const n = next.features.find((x) => x.name === f.name);
    if (!n) return `feature ${f.name} is removed`;
    if (n.type !== f.type) return `feature ${f.name} changes type from ${f.type} to ${n.type}`;
  }
  return undefined;
}
