import { CapstanError } from '../core/errors.js';
import { VariantRouter, type Weighted } from './variant-router.js';

/** What a policy may look at for one request; built once per request, so keep it small. */
export interface TrafficContext {
  /**
   * A stable key for the caller (the `X-Capstan-Sticky-Key` header: a user or session id), so a
   * policy can send the same caller to the same variant; undefined when the request has none.
   */
  readonly stickyKey?: string;
}

/**
 * Chooses the variant for each request of one endpoint generation. A policy is built once per
 * configuration (weights change = new policy), so `choose` must stay cheap: no I/O, no allocation.
 * The target-variant header is honoured by the host before any policy runs.
 */
export interface TrafficPolicy<T extends Weighted> {
  /** The policy kind, as named in the endpoint configuration. */
  readonly kind: TrafficPolicyKind;
  /** The variant that answers this request. */
  choose(ctx: TrafficContext): T;
  /** Each variant's intended share of traffic in percent. */
  shares(): Map<string, number>;
  /** The routing key read from a request body (a JSON field), for requests without a sticky-key header; absent when the policy reads none. */
  routingKey?(body: string): string | undefined;
}

/** The policies an endpoint configuration can name. */
export const TRAFFIC_POLICY_KINDS = ['weighted-random', 'sticky', 'thompson'] as const;

/** One policy kind. */
export type TrafficPolicyKind = (typeof TRAFFIC_POLICY_KINDS)[number];

/** The policy part of an endpoint configuration; default `{ kind: 'weighted-random' }`. */
export interface TrafficPolicyConfig {
  kind: TrafficPolicyKind;
  /** Sticky only: a JSON body field (`user`, `context.userId`) that is the routing key when the request has no `X-Capstan-Sticky-Key`; default none. */
  keyField?: string;
}

/** Each request draws a variant at random with probability weight / total (the behaviour before policies existed). */
export class WeightedRandomPolicy<T extends Weighted> implements TrafficPolicy<T> {
  readonly kind = 'weighted-random' as const;
  private readonly router: VariantRouter<T>;

  constructor(variants: readonly T[], private readonly random: () => number = Math.random) {
    this.router = new VariantRouter(variants);
  }

  choose(_ctx: TrafficContext): T {
    return this.router.pick(this.random());
  }

  shares(): Map<string, number> {
    return this.router.shares();
  }
}

/**
 * Weighted random over weights that the rollouts context's bandit keeps moving toward the variant
 * most likely to be best given the reported feedback (Thompson sampling); a sticky key, when sent,
 * is honoured as by the sticky policy so a user sees one variant while the weights stand.
 */
export class ThompsonPolicy<T extends Weighted> implements TrafficPolicy<T> {
  readonly kind = 'thompson' as const;
  private readonly router: VariantRouter<T>;

  constructor(variants: readonly T[], private readonly random: () => number = Math.random) {
    this.router = new VariantRouter(variants);
  }

  choose(ctx: TrafficContext): T {
    return this.router.pick(ctx.stickyKey === undefined ? this.random() : unitHash(ctx.stickyKey));
  }

  shares(): Map<string, number> {
    return this.router.shares();
  }
}

/**
 * Requests with the same sticky key always reach the same variant while the weights stand; keys
 * spread over the variants in proportion to their weights. Requests without a key draw at random.
 */
export class StickyPolicy<T extends Weighted> implements TrafficPolicy<T> {
  readonly kind = 'sticky' as const;
  private readonly router: VariantRouter<T>;

  private readonly keyPath: string[] | undefined;

  constructor(variants: readonly T[], private readonly random: () => number = Math.random, keyField?: string) {
    this.router = new VariantRouter(variants);
    this.keyPath = keyField?.split('.');
    if (this.keyPath) this.routingKey = (body) => keyAt(body, this.keyPath!);
  }

  routingKey?: (body: string) => string | undefined;

  choose(ctx: TrafficContext): T {
    return this.router.pick(ctx.stickyKey === undefined ? this.random() : unitHash(ctx.stickyKey));
  }

  shares(): Map<string, number> {
    return this.router.shares();
  }
}

/** The string or number at a dotted path of a JSON body; undefined when the body is not JSON or has nothing there. */
function keyAt(body: string, path: readonly string[]): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const part of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** FNV-1a of the key's UTF-16 units, mapped onto [0, 1): stable across processes and restarts. */
export function unitHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so keys differing in their last character do not land next to each other.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 0x1_0000_0000;
}

/** Builds the policy an endpoint configuration names, over the variants of one generation. */
export function createTrafficPolicy<T extends Weighted>(config: TrafficPolicyConfig | undefined, variants: readonly T[]): TrafficPolicy<T> {
  const kind = config?.kind ?? 'weighted-random';
  switch (kind) {
    case 'weighted-random':
      return new WeightedRandomPolicy(variants);
    case 'sticky':
      return new StickyPolicy(variants, Math.random, config?.keyField);
    case 'thompson':
      return new ThompsonPolicy(variants);
    default:
      throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', `trafficPolicy.kind must be one of ${TRAFFIC_POLICY_KINDS.join(', ')}`, { fields: { field: 'trafficPolicy.kind' } });
  }
}
