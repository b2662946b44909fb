import { CapstanError, isCapstanError } from '../core/errors.js';
import type { RegistryService } from './registry-service.js';

/** `models/<group>/<version>` and anything under it: where `registerVersion` stores a package. */
const VERSION_PREFIX = /^models\/([^/]+)\/([1-9][0-9]*)(?:\/|$)/;

/**
 * Refuses a write or delete under a registered version's package prefix with
 * CAPSTAN_REGISTRY_VERSION_IMMUTABLE: a version's files never change once its number is handed out,
 * so the digest the registry recorded, approved and serves stays true. A number that is reserved by a
 * registration in progress counts as registered. `key` is a normalised store key. The registry itself
 * writes packages straight to the store, not through this guard.
 */
export async function assertVersionFilesWritable(registry: Pick<RegistryService, 'getModel'>, key: string): Promise<void> {
  const m = VERSION_PREFIX.exec(key);
  if (!m) return;
  const [, name, digits] = m;
  let latest: number;
  try {
    latest = (await registry.getModel(name)).latestVersion;
  } catch (err) {
    // No such group (or a name the registry would never create): nothing registered lives here.
    if (isCapstanError(err) && (err.code === 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND' || err.status === 400)) return;
    throw err;
  }
  const version = Number(digits);
  if (version > latest) return;
  throw new CapstanError('CAPSTAN_REGISTRY_VERSION_IMMUTABLE', `${key} belongs to model ${name} version ${version}, whose files cannot change once registered; register a new version instead`, {
    fields: { key, modelName: name, version },
  });
}
