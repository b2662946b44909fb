import { CapstanError } from '../core/errors.js';

/** The roles an API key can carry (DESIGN §6). */
export const ROLES = ['admin', 'editor', 'approver', 'invoker', 'viewer'] as const;

/** One API key role. */
export type Role = (typeof ROLES)[number];

/**
 * What a route needs: a role; `public` for health checks and docs; or `signature` for a route that takes no
 * API key because its handler verifies an HMAC signature over the body (pipeline webhooks).
 */
export type RouteAccess = Role | 'public' | 'signature';

/** True when a route with this access is checked by something other than an API key. */
export function isKeyless(access: RouteAccess | undefined): access is 'public' | 'signature' {
  return access === 'public' || access === 'signature';
}

/** Which required roles each key role satisfies; admin satisfies all. */
const GRANTS: Record<Role, readonly Role[]> = {
  admin: ROLES,
  editor: ['editor', 'viewer', 'invoker'],
  approver: ['approver', 'viewer'],
  invoker: ['invoker'],
  viewer: ['viewer'],
};

/** True when a key with role `have` may call a route that needs `need`. */
export function roleSatisfies(have: Role, need: Role): boolean {
  return GRANTS[have].includes(need);
}

/** Parses a role name or throws CAPSTAN_AUTH_ROLE_INVALID listing the valid ones. */
export function parseRole(value: string): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new CapstanError('CAPSTAN_AUTH_ROLE_INVALID', `unknown role ${JSON.stringify(value)}; use one of ${ROLES.join(', ')}`);
}
