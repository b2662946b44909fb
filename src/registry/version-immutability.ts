import { CapstanError } from '../core/errors.js';

/** `models/<group>/<version>` and anything under it: where `registerVersion` stores a package. */
const VERSION_PREFIX = /^models\/([^/]+)\/([1-9][0-9]*)(?:\/|$)/;

/**
 * Refuses a write or delete under a model version's package prefix (`models/<group>/<n>/…`) with
 * CAPSTAN_REGISTRY_VERSION_IMMUTABLE. Only the registry writes there, straight to the store and not
 * through this guard: a registered version's files never change, so the digest that was recorded,
 * approved and is served stays true; and a number not yet handed out is refused too, so nobody can
 * plant a file that a later registration would find under its prefix. `key` is a normalised store key.
 */
export function assertVersionFilesWritable(key: string): void {
  const m = VERSION_PREFIX.exec(key);
  if (!m) return;
  const [, name, digits] = m;
  throw new CapstanError(
    'CAPSTAN_REGISTRY_VERSION_IMMUTABLE',
    `${key} lies in the package of model ${name} version ${digits}, which only the registry writes and which cannot change once registered; register a new version instead`,
    { fields: { key, modelName: name, version: Number(digits) } },
  );
}
