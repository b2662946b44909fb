import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cliJson, cliProblem, runCapstan } from '../support/capstan-cli.js';
import { txnCsv, writeFile } from './feature-fixtures.js';

const YAML = `
entities:
  - name: customer
    joinKeys: [{ name: customer_id, type: string }]
featureGroups:
  - name: txn
    entities: [customer]
    eventTime: event_time
    ttl: 1h
    owner: fraud-team
    features:
      - { name: amount_sum, type: float64 }
      - { name: txn_count, type: int64 }
`;

describe('capstan features (CLI)', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-features-cli-'));
  const env = { CAPSTAN_HOME: home };
  after(() => rmSync(home, { recursive: true, force: true }));
  const run = (args: string[]) => runCapstan(args, { env, cwd: home });

  it('applies features.yaml, ingests, builds a training set, materializes and reads online values', async () => {
    const yaml = writeFile(home, 'features.yaml', YAML);
    assert.deepEqual(cliJson(await run(['features', 'apply', '-f', yaml, '--json'])).featureGroups, [{ name: 'txn', version: 1, action: 'created' }]);
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const csv = writeFile(home, 'txn.csv', txnCsv([['c1', iso(now - 10 * 60_000), 12.5, 2], ['c2', iso(now - 3 * 3_600_000), 7, 1]]));
    const ingest = cliJson(await run(['features', 'ingest', 'txn', '--file', csv, '--json']));
    assert.equal(ingest.rowsWritten, 2);
    const entities = writeFile(home, 'entities.csv', `customer_id,event_timestamp\nc1,${iso(now)}\nc2,${iso(now)}\n`);
    const set = cliJson(await run(['features', 'training-set', '--entities', entities, '--features', 'txn:amount_sum,txn:txn_count', '--out', 'training/cli.csv', '--json']));
    assert.equal(set.rows, 2);
    assert.match(set.digest, /^sha256:/);
    assert.deepEqual(set.features.map((f: { expired: number }) => f.expired), [1, 1]);
    const mat = cliJson(await run(['features', 'materialize', 'txn', '--json']));
    assert.equal(mat.rowsWritten, 2);
    const got = cliJson(await run(['features', 'get', '--features', 'txn:amount_sum', '--entity', 'customer_id=c1', '--entity', 'customer_id=c2', '--entity', 'customer_id=c9', '--at', iso(now), '--json']));
    assert.deepEqual(got.results.map((r: { values: Record<string, { status: string; value: unknown }> }) => [r.values['txn:amount_sum'].status, r.values['txn:amount_sum'].value]), [['PRESENT', 12.5], ['EXPIRED', null], ['NOT_FOUND', null]]);
  });

  it('refuses a TTL of zero with a catalogue error and changes nothing', async () => {
    const yaml = writeFile(home, 'bad.yaml', YAML.replace('ttl: 1h', 'ttl: 0s').replace('name: amount_sum', 'name: amount_total'));
    const problem = cliProblem(await run(['features', 'apply', '-f', yaml, '--json']));
    assert.equal(problem.code, 'CAPSTAN_FEATURES_DEFINITION_INVALID');
    assert.match(problem.detail, /ttl must be positive/);
    const groups = cliJson(await run(['features', 'list', '--json']));
    assert.deepEqual(groups[0].features.map((f: { name: string }) => f.name), ['amount_sum', 'txn_count']);
    assert.equal(groups[0].ttlMs, 3_600_000);
  });
});
