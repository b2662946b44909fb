import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { RedisOnlineStore } from './redis-online-store.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Redis online store when Redis is down', () => {
  it('answers CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE for reads and writes', async () => {
    const store = new RedisOnlineStore(`redis://127.0.0.1:${await closedPort()}`);
    try {
      await assert.rejects(store.read('txn@1', ['["a"]']), (err) => isCapstanError(err, 'CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE') && /failed to read/.test(err.message));
      await assert.rejects(store.write('txn@1', [{ entityKey: '["a"]', eventMs: 1, createdMs: 1, values: {} }]), (err) => isCapstanError(err, 'CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE'));
    } finally {
      await store.close();
    }
  });
});
