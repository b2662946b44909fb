import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleSessions } from './console-sessions.js';

const principal = { keyId: 'k1', name: 'ed', role: 'editor' as const };

test('a session expires after its time to live and is then unknown', () => {
  const sessions = new ConsoleSessions({ ttlMs: 60_000 });
  const s = sessions.create(principal, 1_000);
  assert.equal(sessions.get(s.id, 60_999)?.principal.name, 'ed');
  assert.equal(sessions.get(s.id, 61_000), undefined);
  assert.equal(sessions.get(s.id, 1_000), undefined, 'an expired session is dropped, not revived');
});

test('revoking a key ends its sessions; ids and CSRF tokens are random and distinct', () => {
  const sessions = new ConsoleSessions();
  const a = sessions.create(principal);
  const b = sessions.create(principal);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrfToken, b.csrfToken);
  sessions.revokeKey('k1');
  assert.equal(sessions.get(a.id), undefined);
  assert.equal(sessions.get(b.id), undefined);
});

test('a time to live under a second is refused', () => {
  assert.throws(() => new ConsoleSessions({ ttlMs: 10 }), /at least 1000/);
});
