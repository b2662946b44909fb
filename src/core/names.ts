import { CapstanError } from './errors.js';

/** The pattern every user-chosen resource name must match (DESIGN §6). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** True when `name` is a valid resource name. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name) && !name.includes('..');
}

/** Returns `name` when valid, otherwise throws CAPSTAN_NAME_INVALID naming the kind of resource. */
export function assertName(name: unknown, kind = 'name'): string {
  if (!isValidName(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name;
    throw new CapstanError(
      'CAPSTAN_NAME_INVALID',
      `${kind} ${shown} is not valid: use 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit, and no '..'`,
      { fields: { kind } },
    );
  }
  return name;
}
