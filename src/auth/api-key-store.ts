import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { SecretBox } from '../core/secret-box.js';
import { assertName } from '../core/names.js';
import type { Database } from '../storage/database.js';
import { parseRole, type Role } from './roles.js';

interface ApiKeysTable {
  api_keys: {
    id: string;
    name: string;
    role: string;
    prefix: string;
    hash: string;
    created_at: number;
    last_used_at: number | null;
    revoked_at: number | null;
    access_key_id: string | null;
    sigv4_secret: string | null;
  };
}

/** An API key as listed: never the secret, only its first characters. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** The SigV4 access key id, for keys created with `sigv4`; else absent. */
  accessKeyId?: string;
}

/** A newly created key: the secret (shown once) and its listing. */
export interface CreatedApiKey {
  key: string;
  info: ApiKeyInfo;
  /** With `sigv4`: the AWS access key id (also in `info`). */
  accessKeyId?: string;
  /** With `sigv4`: the AWS secret access key, shown once; stored sealed because verifying a signature needs it. */
  secretAccessKey?: string;
}

/** Options of `ApiKeyAdmin.create`. */
export interface CreateKeyOptions {
  /** Also issue an AWS SigV4 access-key pair for SageMaker Runtime clients; default false. */
  sigv4?: boolean;
}

/** A SigV4 access key's owner and secret, for verifying a signature. */
export interface SigV4Credentials {
  principal: Principal;
  secretAccessKey: string;
}

/** Key administration as the CLI sees it, on the embedded DB (ApiKeyStore) or over HTTP (KeysClient). */
export interface ApiKeyAdmin {
  /** Creates a key; the secret is returned once and never stored. CAPSTAN_AUTH_KEY_NAME_TAKEN when an active key has the name. */
  create(name: string, role: string, options?: CreateKeyOptions): Promise<CreatedApiKey>;
  /** Every key, newest first. */
  list(): Promise<ApiKeyInfo[]>;
  /** Revokes a key by id or name (names are unique among active keys); throws CAPSTAN_AUTH_KEY_NOT_FOUND when none is active. */
  revoke(idOrName: string): Promise<ApiKeyInfo>;
}

/** The identity a valid key authenticates as. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

// Keys are 32 random bytes, so a fast hash is enough (no dictionary to attack); sha256 keeps lookups indexable.
function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** API keys stored hashed in the metadata DB. */
export class ApiKeyStore implements ApiKeyAdmin {
  /** `box` seals SigV4 secrets; without it, `create` refuses `sigv4`. */
  constructor(
    private readonly db: Database,
    private readonly box?: SecretBox,
  ) {}

  private readonly revokeListeners = new Set<(keyId: string) => void>();

  private get q() {
    return this.db.as<ApiKeysTable>();
  }

  /** Calls `listener` with the id of each key this store revokes (caches of verified keys drop it at once). */
  onRevoke(listener: (keyId: string) => void): void {
    this.revokeListeners.add(listener);
  }

  /** Creates a key; the secret is returned once and never stored. */
  async create(name: string, role: string, options: CreateKeyOptions = {}): Promise<CreatedApiKey> {
    assertName(name, 'key name');
    const r = parseRole(role);
    const secret = `cap_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    const id = newId('key');
    let pair: { accessKeyId: string; secretAccessKey: string } | undefined;
    if (options.sigv4) {
      if (!this.box) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', 'SigV4 keys need the secret box; this key store was opened without one');
      pair = newAccessKeyPair();
    }
    const row = {
      id,
      name,
      role: r,
      prefix: secret.slice(0, 10),
      hash: hashKey(secret),
      created_at: now,
      last_used_at: null,
      revoked_at: null,
      access_key_id: pair?.accessKeyId ?? null,
      sigv4_secret: pair ? this.box!.seal(pair.secretAccessKey, id) : null,
    };
    const taken = () => new CapstanError('CAPSTAN_AUTH_KEY_NAME_TAKEN', `an active API key is already named ${JSON.stringify(name)}; revoke it first or choose another name`, { fields: { name } });
    const existing = await this.q.selectFrom('api_keys').select('id').where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    if (existing) throw taken();
    try {
      await this.q.insertInto('api_keys').values(row).execute();
    } catch (err) {
      // Two creates racing past the check: the unique index on active names decides.
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
    return { key: secret, info: toInfo(row), ...(pair ?? {}) };
  }

  /** Every key, newest first. */
  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.q.selectFrom('api_keys').selectAll().orderBy('id', 'desc').execute();
    return rows.map(toInfo);
  }

  /** Revokes a key by id or name; throws CAPSTAN_AUTH_KEY_NOT_FOUND when none matches. */
  async revoke(idOrName: string): Promise<ApiKeyInfo> {
    const now = Date.now();
    const rows = await this.q
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .where('revoked_at', 'is', null)
      .returningAll()
      .execute();
    if (rows.length === 0) throw new CapstanError('CAPSTAN_AUTH_KEY_NOT_FOUND', `no active API key ${JSON.stringify(idOrName)}`);
    for (const listener of this.revokeListeners) listener(rows[0].id);
    return toInfo(rows[0]);
  }

  /** The principal for a presented secret, or undefined when it is unknown or revoked. */
  async authenticate(secret: string): Promise<Principal | undefined> {
    if (!secret.startsWith('cap_')) return undefined;
    const hash = hashKey(secret);
    const row = await this.q.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    if (!row || row.revoked_at != null) return undefined;
    // The index lookup already matched; compare again in constant time so timing says nothing about near-misses.
    if (!timingSafeEqual(Buffer.from(row.hash), Buffer.from(hash))) return undefined;
    return { keyId: row.id, name: row.name, role: row.role as Role };
  }

  /** The owner and secret of an active SigV4 access key, or undefined when it is unknown or revoked. */
  async sigv4Credentials(accessKeyId: string): Promise<SigV4Credentials | undefined> {
    if (!this.box || !ACCESS_KEY_ID.test(accessKeyId)) return undefined;
    const row = await this.q.selectFrom('api_keys').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
    if (!row || row.revoked_at != null || row.sigv4_secret == null) return undefined;
    return { principal: { keyId: row.id, name: row.name, role: row.role as Role }, secretAccessKey: this.box.open(row.sigv4_secret, row.id) };
  }

  /** Records use of a key, at most once a minute per key to keep hot paths read-only. */
  async touch(keyId: string): Promise<void> {
    const now = Date.now();
    await this.q
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', now - 60_000)]))
      .execute();
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Capstan's access key ids: `CPAK` and 16 base32 characters, the 20-character shape AWS ids have. */
const ACCESS_KEY_ID = /^CPAK[A-Z2-7]{16}$/;

function newAccessKeyPair(): { accessKeyId: string; secretAccessKey: string } {
  const id = [...randomBytes(16)].map((b) => BASE32[b & 31]).join('');
  return { accessKeyId: `CPAK${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}

function toInfo(row: ApiKeysTable['api_keys']): ApiKeyInfo {
  return {
    ...(row.access_key_id ? { accessKeyId: row.access_key_id } : {}),
    id: row.id,
    name: row.name,
    role: row.role as Role,
    prefix: row.prefix,
    createdAt: iso(row.created_at)!,
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}
