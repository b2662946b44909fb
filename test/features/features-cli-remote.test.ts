import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../src/server/test-support/test-server.js';
import { cliJson, cliProblem, runCapstan } from '../support/capstan-cli.js';
import { txnCsv, writeFile } from './feature-fixtures.js';

const YAML = `
entities: [{ name: customer, joinKeys: [customer_id] }]
featureGroups:
  - { name: txn, entities: [customer], eventTime: event_time, ttl: 1h, features: [{ name: amount_sum, type: float64 }, { name: txn_count, type: int64 }] }
`;

describe('capstan features --url (the SDK client against a server)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ 'features.pushMaxRecords': 5 });
  });
  after(() => s.dispose());
  const run = (args: string[]) => runCapstan([...args, '--url', s.url], { cwd: s.home });

  it('applies, ingests a local file (uploaded first), builds a training set, materializes and reads', async () => {
    assert.deepEqual(cliJson(await run(['features', 'apply', '-f', writeFile(s.home, 'f.yaml', YAML), '--json'])).featureGroups, [{ name: 'txn', version: 1, action: 'created' }]);
    const now = Date.now();
    const csv = writeFile(s.home, 'txn.csv', txnCsv([['c1', new Date(now - 60_000).toISOString(), 2.5, 3]]));
    assert.equal(cliJson(await run(['features', 'ingest', 'txn', '--file', csv, '--json'])).rowsWritten, 1);
    const entities = writeFile(s.home, 'e.csv', `customer_id,event_timestamp\nc1,${new Date(now).toISOString()}\n`);
    const set = cliJson(await run(['features', 'training-set', '--entities', entities, '--features', 'txn:amount_sum', '--out', 'sets/remote.csv', '--json']));
    assert.equal((await s.platform.artifacts.get(set.key)).toString().trim().split('\n')[1].split(',').pop(), '2.5');
    assert.equal(cliJson(await run(['features', 'materialize', 'txn', '--json'])).rowsWritten, 1);
    const got = cliJson(await run(['features', 'get', '--features', 'txn:txn_count', '--entity', 'customer_id=c1', '--json']));
    assert.deepEqual(got.results[0].values['txn:txn_count'].value, 3);
  });

  it('answers the catalogue code of the server for an unknown group', async () => {
    const problem = cliProblem(await run(['features', 'materialize', 'nope', '--json']));
    assert.equal(problem.code, 'CAPSTAN_FEATURES_NOT_FOUND');
  });
});
