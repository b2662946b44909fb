import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError, type CapstanError } from '../../src/core/errors.js';
import type { FeatureService } from '../../src/features/index.js';
import { openTestPlatform, type TestPlatform } from '../../src/platform/test-support/test-platform.js';
import { DEFINITIONS, txnCsv, writeFile } from './feature-fixtures.js';

function code(expected: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(isCapstanError(err), `not a CapstanError: ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('feature store: bad input gets a catalogue error and changes nothing', () => {
  let tp: TestPlatform;
  let features: FeatureService;
  const offline = () => tp.platform.artifacts.list('features/offline/');
  before(async () => {
    tp = await openTestPlatform();
    features = tp.platform.context<FeatureService>('features');
    await features.apply(DEFINITIONS);
    await features.apply({
      featureGroups: [
        { name: 'risk', entities: ['customer'], eventTime: 'event_time', createdTime: 'created_time', features: [{ name: 'score', type: 'float64' }] },
      ],
    });
    await features.ingest('txn', { path: writeFile(tp.home, 'base.csv', txnCsv([['c1', '2024-01-01T10:00:00Z', 1, 1]])) });
  });
  after(() => tp.dispose());

  it('refuses a TTL of zero or negative', async () => {
    for (const ttl of ['0s', '-5m', 0, -3]) {
      const defs = structuredClone(DEFINITIONS);
      defs.featureGroups![0].ttl = ttl;
      await assert.rejects(features.apply(defs), code('CAPSTAN_FEATURES_DEFINITION_INVALID', /ttl must be positive/));
    }
    assert.equal((await features.getGroup('txn')).ttlMs, 3_600_000);
  });

  it('refuses a file whose columns do not match the schema, naming them', async () => {
    const before = await offline();
    const file = writeFile(tp.home, 'cols.csv', 'customer_id,event_time,amount_sum,extra\nc1,2024-01-01T10:00:00Z,1,x\n');
    await assert.rejects(features.ingest('txn', { path: file }), (err: CapstanError) => {
      code('CAPSTAN_FEATURES_RECORDS_INVALID', /missing column\(s\) txn_count; unknown column\(s\) extra/)(err);
      assert.deepEqual([err.fields.missingColumns, err.fields.unknownColumns], [['txn_count'], ['extra']]);
      return true;
    });
    assert.deepEqual(await offline(), before);
  });

  it('lists per-row errors (row, column, reason) and writes none of the batch', async () => {
    const before = await offline();
    const file = writeFile(tp.home, 'rows.csv', txnCsv([['c5', '2024-01-05T10:00:00Z', 1, 1], ['c6', '2024-01-05T10:00:00Z', 'lots', 1], ['', '2024-01-05T10:00:00Z', 2, 2], ['c7', 'yesterday', 2, 2.5]]));
    await assert.rejects(features.ingest('txn', { path: file }), (err: CapstanError) => {
      code('CAPSTAN_FEATURES_RECORDS_INVALID', /4 value\(s\) do not fit feature group txn@1; nothing was written \(first: row 2, column amount_sum/)(err);
      assert.deepEqual(
        (err.fields.errors as Array<{ row: number; column: string; reason: string }>).map((e) => [e.row, e.column, e.reason]),
        [
          [2, 'amount_sum', 'not a valid float64: "lots"'],
          [3, 'customer_id', 'a value is required: missing'],
          [4, 'event_time', 'not a valid timestamp: "yesterday"'],
          [4, 'txn_count', 'not a valid int64: "2.5"'],
        ],
      );
      return true;
    });
    assert.deepEqual(await offline(), before);
  });

  it('refuses a push with a bad value, a non-object or a wrong column, writing nothing', async () => {
    const before = await offline();
    await assert.rejects(features.pushRecords('txn', [{ customer_id: 'c1', event_time: '2024-02-01T00:00:00Z', amount_sum: 'x', txn_count: 1 }]), code('CAPSTAN_FEATURES_RECORDS_INVALID', /row 1, column amount_sum/));
    await assert.rejects(features.pushRecords('txn', [42]), code('CAPSTAN_FEATURES_RECORDS_INVALID', /row 1: a record must be a JSON object/));
    await assert.rejects(features.pushRecords('txn', [{ customer_id: 'c1', event_time: '2024-02-01T00:00:00Z', amount: 1, txn_count: 1 }]), code('CAPSTAN_FEATURES_RECORDS_INVALID', /missing column\(s\) amount_sum; unknown column\(s\) amount/));
    assert.deepEqual(await offline(), before);
  });

  it('answers CAPSTAN_FEATURES_NOT_FOUND for an unknown group or feature', async () => {
    const entities = writeFile(tp.home, 'e.csv', 'customer_id,event_timestamp\nc1,2024-01-01T11:00:00Z\n');
    await assert.rejects(features.ingest('nope', { path: entities }), code('CAPSTAN_FEATURES_NOT_FOUND', /no feature group nope/));
    await assert.rejects(features.pushRecords('nope', []), code('CAPSTAN_FEATURES_NOT_FOUND'));
    await assert.rejects(features.trainingSet({ entities: { path: entities }, features: ['txn:nope'], out: { key: 'x.parquet' } }), code('CAPSTAN_FEATURES_NOT_FOUND', /feature group txn@1 has no feature nope/));
    await assert.rejects(features.readOnline({ features: ['nope:amount_sum'], entities: [{ customer_id: 'c1' }] }), code('CAPSTAN_FEATURES_NOT_FOUND'));
    await assert.rejects(features.readOnline({ features: ['not a ref'], entities: [] }), code('CAPSTAN_FEATURES_NOT_FOUND', /group:feature/));
    assert.equal(await tp.platform.artifacts.stat('x.parquet'), undefined);
  });

  it('refuses an entity table without a timestamp column or with unparsable timestamps', async () => {
    const noTs = writeFile(tp.home, 'nots.csv', 'customer_id,when\nc1,2024-01-01T11:00:00Z\n');
    await assert.rejects(features.trainingSet({ entities: { path: noTs }, features: ['txn:amount_sum'], out: { key: 'y.parquet' } }), code('CAPSTAN_FEATURES_ENTITY_TABLE_INVALID', /no event_timestamp column \(it has customer_id, when\)/));
    const badTs = writeFile(tp.home, 'badts.csv', 'customer_id,event_timestamp\nc1,2024-01-01T11:00:00Z\nc1,soon\nc2,\n');
    await assert.rejects(features.trainingSet({ entities: { path: badTs }, features: ['txn:amount_sum'], out: { key: 'y.parquet' } }), (err: CapstanError) => {
      code('CAPSTAN_FEATURES_ENTITY_TABLE_INVALID', /2 entity row value\(s\) are not valid \(first: row 2, column event_timestamp/)(err);
      assert.deepEqual((err.fields.errors as Array<{ row: number }>).map((e) => e.row), [2, 3]);
      return true;
    });
    assert.equal(await tp.platform.artifacts.stat('y.parquet'), undefined);
  });

  it('accepts timestamps in the future and says how many there were', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const pushed = await features.pushRecords('txn', [{ customer_id: 'c9', event_time: future, amount_sum: 3, txn_count: 1 }]);
    assert.equal(pushed.futureEventTimes, 1);
    const entities = writeFile(tp.home, 'future.csv', `customer_id,event_timestamp\nc9,${future}\nc1,2024-01-01T11:00:00Z\n`);
    const res = await features.trainingSet({ entities: { path: entities }, features: ['txn:amount_sum'], out: { key: 'future.parquet' } });
    assert.equal(res.futureTimestamps, 1);
    assert.equal(res.features[0].nulls, 0);
  });

  it('collapses duplicates in one batch to the latest created time and says so; backfills stay invisible before they were known', async () => {
    const res = await features.pushRecords('risk', [
      { customer_id: 'c1', event_time: '2024-03-01T00:00:00Z', created_time: '2024-03-01T00:00:00Z', score: 0.1 },
      { customer_id: 'c1', event_time: '2024-03-01T00:00:00Z', created_time: '2024-03-05T00:00:00Z', score: 0.9 },
      { customer_id: 'c1', event_time: '2024-03-01T00:00:00Z', created_time: '2024-03-02T00:00:00Z', score: 0.5 },
      { customer_id: 'c2', event_time: '2024-03-01T00:00:00Z', created_time: '2024-03-10T00:00:00Z', score: 0.7 },
    ]);
    assert.deepEqual([res.rowsRead, res.rowsWritten, res.duplicatesCollapsed], [4, 2, 2]);
    const entities = writeFile(tp.home, 'asof.csv', 'customer_id,event_timestamp\nc1,2024-03-06T00:00:00Z\nc2,2024-03-06T00:00:00Z\nc2,2024-03-11T00:00:00Z\n');
    const asOf = await features.trainingSet({ entities: { path: entities }, features: ['risk:score'], out: { key: 'asof.csv' } });
    const text = (await tp.platform.artifacts.get(asOf.key)).toString();
    // c2's value was loaded on 03-10 for 03-01: not known on 03-06.
    assert.equal(text, 'customer_id,event_timestamp,score\nc1,2024-03-06T00:00:00Z,0.9\nc2,2024-03-06T00:00:00Z,\nc2,2024-03-11T00:00:00Z,0.7\n');
    const byEvent = await features.trainingSet({ entities: { path: entities }, features: ['risk:score'], out: { key: 'by-event.csv' }, asOfKnownTime: false });
    assert.equal((await tp.platform.artifacts.get(byEvent.key)).toString(), 'customer_id,event_timestamp,score\nc1,2024-03-06T00:00:00Z,0.9\nc2,2024-03-06T00:00:00Z,0.7\nc2,2024-03-11T00:00:00Z,0.7\n');
  });
});
