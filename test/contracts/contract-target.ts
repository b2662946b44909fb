import assert from 'node:assert/strict';
import { CapstanError, type ErrorCode } from '../../src/core/errors.js';
import type { Platform } from '../../src/platform/platform.js';

/**
 * What a service contract suite runs against: the service (embedded or the SDK client on a live
 * server), the platform behind it for arranging state the service itself cannot create (a dead job,
 * an approved version), and a scratch directory. Both transports share one platform, so every name a
 * suite creates goes through `name()` to stay apart.
 */
export interface ContractTarget<S> {
  service: S;
  platform: Platform;
  scratch: string;
  /** `base` made unique to this transport (`local-base`, `http-base`). */
  name(base: string): string;
}

/** Gives the target once the runner's `before` hooks have opened the platform and server. */
export type MakeTarget<S> = () => ContractTarget<S>;

/**
 * Asserts that `call` fails with a CapstanError of `code`: the local service throws it, the SDK maps
 * the server's problem+json back to it, so callers handle both the same way.
 */
export async function rejectsWithCode(call: Promise<unknown>, code: ErrorCode): Promise<CapstanError> {
  let caught: unknown;
  await assert.rejects(call, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof CapstanError, `expected a CapstanError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}
