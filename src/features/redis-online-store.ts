import { Redis } from 'ioredis';
import { CapstanError } from '../core/errors.js';
import type { OnlineRecord, OnlineStore } from './online-store.js';

// One hash per table; a field per record id holding {"e":eventMs,"c":createdMs,"v":values}.
// The newer-wins rule runs in the server, so concurrent materializers cannot move a value back.
const WRITE_SCRIPT = `
local changed = 0
for i = 1, #ARGV, 4 do
  local field, e, c, doc = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[1], field)
  local write = true
  if cur then
    if cur == doc then
      write = false
    else
      local o = cjson.decode(cur)
      if o.e > e or (o.e == e and o.c > c) then write = false end
    end
  end
  if write then
    redis.call('HSET', KEYS[1], field, doc)
    changed = changed + 1
  end
end
return changed`;

const CHUNK = 500;

/** The Redis online store (ioredis): for many serving processes sharing one online store. */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = 'capstan:features:',
  ) {
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    this.redis.on('error', () => {});
    this.redis.defineCommand('capstanFeaturesWrite', { numberOfKeys: 1, lua: WRITE_SCRIPT });
  }

  private key(table: string): string {
    return `${this.prefix}${table}`;
  }

  private async call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw new CapstanError('CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE', `the Redis online store failed to ${what}`, { cause: err });
    }
  }

  async write(table: string, records: OnlineRecord[]): Promise<number> {
    let changed = 0;
    for (let i = 0; i < records.length; i += CHUNK) {
      const args: string[] = [];
      for (const r of records.slice(i, i + CHUNK)) args.push(r.entityKey, String(r.eventMs), String(r.createdMs), JSON.stringify({ e: r.eventMs, c: r.createdMs, v: r.values }));
      const run = (this.redis as unknown as { capstanFeaturesWrite(key: string, ...args: string[]): Promise<number> }).capstanFeaturesWrite.bind(this.redis);
      changed += Number(await this.call('write', () => run(this.key(table), ...args)));
    }
    return changed;
  }

  async read(table: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>> {
    if (entityKeys.length === 0) return [];
    const docs = await this.call('read', () => this.redis.hmget(this.key(table), ...entityKeys));
    return docs.map((doc, i) => {
      if (doc === null) return undefined;
      const o = JSON.parse(doc) as { e: number; c: number; v: Record<string, unknown> };
      return { entityKey: entityKeys[i], eventMs: o.e, createdMs: o.c, values: o.v };
    });
  }

  async drop(table: string): Promise<void> {
    await this.call('drop a table', () => this.redis.del(this.key(table)));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
