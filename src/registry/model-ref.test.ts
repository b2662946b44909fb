import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../core/errors.js';
import { assertAlias, formatModelRef, isBareModelName, parseModelRef, parseVersionNumber } from './model-ref.js';

const refused = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (err: unknown) => isCapstanError(err) && err.code === code && message.test(err.message));

describe('model references', () => {
  it('parses the four documented forms', () => {
    assert.deepEqual(parseModelRef('models:/ncf@champion'), { name: 'ncf', kind: 'alias', alias: 'champion' });
    assert.deepEqual(parseModelRef('models:/ncf/3'), { name: 'ncf', kind: 'version', version: 3 });
    assert.deepEqual(parseModelRef('ncf@challenger'), { name: 'ncf', kind: 'alias', alias: 'challenger' });
    assert.deepEqual(parseModelRef('fraud-v2.x/12'), { name: 'fraud-v2.x', kind: 'version', version: 12 });
  });

  it('reads latest as the highest version, with / or @', () => {
    assert.deepEqual(parseModelRef('ncf/latest'), { name: 'ncf', kind: 'latest' });
    assert.deepEqual(parseModelRef('models:/ncf@latest'), { name: 'ncf', kind: 'latest' });
  });

  it('formats references canonically and round-trips them', () => {
    for (const text of ['models:/ncf/3', 'models:/ncf@champion', 'models:/ncf/latest']) assert.equal(formatModelRef(parseModelRef(text)), text);
  });

  it('refuses bad references with CAPSTAN_REGISTRY_REF_INVALID and a reason', () => {
    refused(() => parseModelRef(''), 'CAPSTAN_REGISTRY_REF_INVALID', /empty/);
    refused(() => parseModelRef('ncf'), 'CAPSTAN_REGISTRY_REF_INVALID', /expected name@alias or name\/version/);
    refused(() => parseModelRef('models:/a/b/3'), 'CAPSTAN_REGISTRY_REF_INVALID', /"b\/3" is not a version number/);
    refused(() => parseModelRef('NCF/1'), 'CAPSTAN_REGISTRY_REF_INVALID', /"NCF" is not a valid model name/);
    refused(() => parseModelRef('../x/1'), 'CAPSTAN_REGISTRY_REF_INVALID', /not a valid model name/);
    refused(() => parseModelRef('ncf/0'), 'CAPSTAN_REGISTRY_REF_INVALID', /not a version number/);
    refused(() => parseModelRef('ncf/01'), 'CAPSTAN_REGISTRY_REF_INVALID', /not a version number/);
    refused(() => parseModelRef('ncf/1e3'), 'CAPSTAN_REGISTRY_REF_INVALID', /not a version number/);
    refused(() => parseModelRef('ncf@Champion'), 'CAPSTAN_REGISTRY_REF_INVALID', /not a valid alias/);
    refused(() => parseModelRef('ncf@a/1'), 'CAPSTAN_REGISTRY_REF_INVALID', /not both/);
    refused(() => parseModelRef(`${'a'.repeat(64)}/1`), 'CAPSTAN_REGISTRY_REF_INVALID', /not a valid model name/);
  });

  it('tells bare model names from version references', () => {
    assert.equal(isBareModelName('ncf'), true);
    assert.equal(isBareModelName('models:/ncf'), true);
    assert.equal(isBareModelName('ncf@champion'), false);
    assert.equal(isBareModelName('ncf/2'), false);
  });

  it('accepts positive integer version numbers only', () => {
    assert.equal(parseVersionNumber('7'), 7);
    assert.equal(parseVersionNumber(7), 7);
    for (const bad of ['0', '-1', '1.5', ' 1', '+1', '0x1', '']) assert.equal(parseVersionNumber(bad), undefined, bad);
  });

  it('refuses aliases that are reserved, numeric or badly formed', () => {
    assert.equal(assertAlias('champion'), 'champion');
    refused(() => assertAlias('latest'), 'CAPSTAN_REGISTRY_ALIAS_INVALID', /reserved/);
    refused(() => assertAlias('42'), 'CAPSTAN_REGISTRY_ALIAS_INVALID', /reserved/);
    refused(() => assertAlias('Champion'), 'CAPSTAN_REGISTRY_ALIAS_INVALID', /not valid/);
    refused(() => assertAlias('a/b'), 'CAPSTAN_REGISTRY_ALIAS_INVALID', /not valid/);
  });
});
