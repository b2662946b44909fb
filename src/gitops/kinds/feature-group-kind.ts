import { isCapstanError } from '../../core/errors.js';
import { compileFeatureGroup, type FeatureDefinitionDeletion, type FeatureGroup, type FeatureGroupInput, type FeatureService } from '../../features/index.js';
import { issueAt, kindDocument, stableJson, type KindAdapter, type KindContext, type ResourceState } from '../kind-adapter.js';

/** A valid FeatureGroup document, as the feature store validates it. */
type GroupSpec = ReturnType<typeof compileFeatureGroup>;

const svc = (ctx: KindContext) => ctx.services.use<FeatureService & FeatureDefinitionDeletion>('features');

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** A TTL in milliseconds as the largest whole unit (`2d`, `90m`), so `get -o yaml` reads as written. */
function ttlText(ms: number): string {
  const [unit, size] = UNITS.find(([, n]) => ms % n === 0)!;
  return `${ms / size}${unit}`;
}

type GroupFields = Omit<FeatureGroup, 'joinKeys' | 'createdAt' | 'updatedAt'>;

function state(g: GroupFields): ResourceState {
  const document = kindDocument('FeatureGroup', {
    name: g.name,
    version: g.version,
    description: g.description || undefined,
    entities: g.entities,
    eventTime: g.eventTimeColumn,
    createdTime: g.createdTimeColumn ?? undefined,
    ttl: g.ttlMs === null ? undefined : ttlText(g.ttlMs),
    owner: g.owner ?? undefined,
    tags: Object.keys(g.tags).length ? g.tags : undefined,
    features: g.features,
  });
  const { name: _n, ...fields } = g;
  return { document, fingerprint: stableJson(fields) };
}

/**
 * `kind: FeatureGroup`: a feature group version of the feature store (docs/features.md). Without
 * `version` the document describes the latest version; a changed record id, time column or feature
 * type needs `version: <latest + 1>` (the store refuses it otherwise). Deleting one deletes every
 * version with its offline files and online values.
 */
export const featureGroupKind: KindAdapter<GroupSpec> = {
  kind: 'FeatureGroup',
  aliases: ['featuregroup', 'featuregroups', 'feature-group', 'feature-groups'],

  validate(_ctx, doc, issues) {
    try {
      return compileFeatureGroup(doc.body, 'FeatureGroup');
    } catch (err) {
      if (!isCapstanError(err)) throw err;
      issues.push(issueAt(doc, [], err.message));
      return undefined;
    }
  },

  async checkReferences(ctx, spec, doc) {
    const known = new Set((await svc(ctx).listEntities()).map((e) => e.name));
    return spec.entities.flatMap((e, i) => (known.has(e) || ctx.declared.has(`Entity/${e}`) ? [] : [issueAt(doc, ['entities', i], `entity ${e} does not exist and is not declared in this apply`)]));
  },

  async desired(ctx, spec) {
    const latest = (await svc(ctx).listGroups()).filter((g) => g.name === spec.name).at(-1);
    const { version, ...rest } = spec;
    return state({ ...rest, version: version ?? latest?.version ?? 1 });
  },

  async read(ctx, name) {
    const latest = (await svc(ctx).listGroups()).filter((g) => g.name === name).at(-1);
    if (!latest) return undefined;
    const { joinKeys: _j, createdAt: _c, updatedAt: _u, ...fields } = latest;
    return state(fields);
  },

  async list(ctx) {
    return [...new Set((await svc(ctx).listGroups()).map((g) => g.name))];
  },

  async apply(ctx, _spec, doc) {
    const r = await svc(ctx).apply({ featureGroups: [doc.body as unknown as FeatureGroupInput] });
    return { changed: r.featureGroups.some((g) => g.action !== 'unchanged') };
  },

  async delete(ctx, name) {
    await svc(ctx).deleteGroup(name);
  },
};
