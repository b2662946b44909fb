import { CapstanError } from '../core/errors.js';
import type { FeatureRef } from './feature-types.js';

const REF = /^([a-z0-9][a-z0-9._-]{0,62})(?:@([1-9][0-9]{0,8}))?:([A-Za-z_][A-Za-z0-9_]{0,62})$/;

/** Parses `group:feature` or `group@2:feature`; anything else is CAPSTAN_FEATURES_NOT_FOUND (the reference names nothing). */
export function parseFeatureRef(ref: string): FeatureRef {
  const m = typeof ref === 'string' ? REF.exec(ref) : null;
  if (!m) {
    throw new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', `feature reference ${JSON.stringify(String(ref).slice(0, 100))} is not of the form group:feature or group@version:feature`, {
      fields: { feature: String(ref).slice(0, 100) },
      retryable: false,
    });
  }
  return { ref, group: m[1], version: m[2] === undefined ? undefined : Number(m[2]), feature: m[3] };
}
