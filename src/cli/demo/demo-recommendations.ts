import { CapstanError } from '../../core/errors.js';
import type { Platform } from '../../platform/platform.js';
import type { ModelVersion } from '../../registry/index.js';

/** One user's ranked recommendations as the endpoint returned them. */
export interface UserRecommendations {
  items: { item: string | number; score: number; title?: string }[];
  /** How many candidate items the endpoint ranked. */
  candidates: number;
  latencyMs: number;
}

/** What to ask the endpoint for. */
export interface RecommendOptions {
  users: number;
  top: number;
  titles?: Map<string, string>;
  /** The deployed version, whose package holds the id maps the candidates are drawn from. */
  version: ModelVersion | null;
}

const CANDIDATES = 100;

async function readJson<T>(platform: Platform, key: string): Promise<T> {
  return JSON.parse((await platform.artifacts.get(key)).toString('utf8')) as T;
}

/**
 * Asks the live endpoint, over HTTP and in the source team's request shape
 * (`{"user":[u,u,…],"item":[i1,i2,…]}`), to rank candidates for a few users: the most popular items
 * each user has not interacted with yet, as a retrieval stage would hand them over.
 */
export async function recommendFor(platform: Platform, baseUrl: string, o: RecommendOptions): Promise<Record<string, UserRecommendations>> {
  if (!o.version) return {};
  const prefix = platform.artifacts.keyFor(o.version.artifactUri);
  const [userIds, itemIds, userItems, popularity] = await Promise.all([
    readJson<(string | number)[]>(platform, `${prefix}/user-ids.json`),
    readJson<(string | number)[]>(platform, `${prefix}/item-ids.json`),
    readJson<number[][]>(platform, `${prefix}/user-items.json`),
    readJson<number[]>(platform, `${prefix}/item-popularity.json`),
  ]);
  const byPopularity = popularity.map((count, item) => ({ item, count })).sort((a, b) => b.count - a.count || a.item - b.item);
  const out: Record<string, UserRecommendations> = {};
  // Spread the sample over the id range so the users shown are not all neighbours.
  const step = Math.max(1, Math.floor(userIds.length / o.users));
  for (let n = 0; n < o.users && n * step < userIds.length; n++) {
    const dense = n * step;
    const seen = new Set(userItems[dense] ?? []);
    const candidates = byPopularity.filter((p) => !seen.has(p.item)).slice(0, CANDIDATES).map((p) => itemIds[p.item]);
    const rawUser = userIds[dense];
    const body = JSON.stringify({ user: candidates.map(() => rawUser), item: candidates });
    const started = performance.now();
    const res = await fetch(`${baseUrl}/endpoints/ncf/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const latencyMs = performance.now() - started;
    const answer = (await res.json()) as { items?: (string | number)[]; scores?: number[]; detail?: string };
    if (!res.ok || !answer.items || !answer.scores) throw new CapstanError('CAPSTAN_DEMO_FAILED', `the endpoint answered ${res.status}: ${answer.detail ?? JSON.stringify(answer).slice(0, 200)}`);
    out[String(rawUser)] = {
      items: answer.items.slice(0, o.top).map((item, i) => ({ item, score: answer.scores![i], ...(o.titles ? { title: o.titles.get(String(item)) ?? '(unknown title)' } : {}) })),
      candidates: candidates.length,
      latencyMs: Math.round(latencyMs * 10) / 10,
    };
  }
  return out;
}
