import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileFeatureGroup, incompatibility, parseTtl } from './feature-definitions.js';
import { isExpired } from './ttl-rule.js';

describe('feature definitions', () => {
  it('parses TTLs and refuses zero, negative or malformed ones', () => {
    assert.equal(parseTtl('g', '500ms'), 500);
    assert.equal(parseTtl('g', '15m'), 900_000);
    assert.equal(parseTtl('g', '7d'), 604_800_000);
    assert.equal(parseTtl('g', 30), 30_000);
    assert.equal(parseTtl('g', undefined), null);
    for (const bad of ['0s', '-1h', 0, -5, 'soon', '1w']) {
      assert.throws(() => parseTtl('g', bad), (err) => isCapstanError(err, 'CAPSTAN_FEATURES_DEFINITION_INVALID'), String(bad));
    }
  });

  it('refuses reserved, duplicate or colliding columns and unknown fields', () => {
    const base = { name: 'g', entities: ['e'], eventTime: 'ts', features: [{ name: 'x', type: 'float64' }] };
    assert.equal(compileFeatureGroup(base).eventTimeColumn, 'ts');
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, features: [{ name: '__x', type: 'float64' }] }, /column name "__x" is not valid/],
      [{ ...base, features: [{ name: 'x', type: 'float64' }, { name: 'x', type: 'int64' }] }, /column x appears twice/],
      [{ ...base, features: [{ name: 'ts', type: 'float64' }] }, /feature ts has the name of the event or created time column/],
      [{ ...base, features: [{ name: 'x', type: 'decimal' }] }, /type "decimal" is not one of/],
      [{ ...base, colour: 'red' }, /unknown field\(s\) colour/],
      [{ ...base, createdTime: 'ts' }, /createdTime and eventTime must be different/],
      [{ ...base, version: 0 }, /version must be a positive integer/],
    ];
    for (const [input, message] of cases) assert.throws(() => compileFeatureGroup(input), (err) => isCapstanError(err, 'CAPSTAN_FEATURES_DEFINITION_INVALID') && message.test(err.message), String(message));
  });

  it('allows added features and metadata changes in place, nothing else', () => {
    const stored = { joinKeys: [{ name: 'id', type: 'string' as const }], eventTimeColumn: 'ts', createdTimeColumn: null, features: [{ name: 'a', type: 'int64' as const }] };
    assert.equal(incompatibility(stored, { ...stored, features: [...stored.features, { name: 'b', type: 'bool' }] }), undefined);
    assert.match(incompatibility(stored, { ...stored, features: [] })!, /feature a is removed/);
    assert.match(incompatibility(stored, { ...stored, eventTimeColumn: 'when' })!, /event time column changes/);
    assert.match(incompatibility(stored, { ...stored, createdTimeColumn: 'known' })!, /created time column changes/);
    assert.match(incompatibility(stored, { ...stored, joinKeys: [{ name: 'id', type: 'int64' }] })!, /record id changes/);
  });

  it('states the TTL rule: expired strictly after TTL milliseconds', () => {
    assert.equal(isExpired(1000, 1000 + 60_000, 60_000), false);
    assert.equal(isExpired(1000, 1000 + 60_001, 60_000), true);
    assert.equal(isExpired(1000, 10 ** 12, null), false);
  });
});
