import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

/** A use case of CEL only, so the CLI process needs no endpoint. */
function definition(review: number): string {
  return `name: scoring
input:
  schema: { type: object, required: [customer, amount], properties: { customer: { type: string }, amount: { type: number } } }
  subject: input.customer
thresholds: { review: ${review} }
tasks:
  - { name: score, type: cel, expression: 'input.amount / 1000.0' }
rules:
  engine: cel
  rules:
    - { name: high, when: 'tasks.score >= thresholds.review', outcome: review, reason: 'score high' }
  default: { outcome: approve }
  output: { score: tasks.score }
`;
}

describe('capstan decisions', () => {
  let home: string;
  let recordId: string;
  const capstan = (...args: string[]) => runCapstan(['--home', home, ...args], { env: { CAPSTAN_LOG_LEVEL: 'silent' } });

  before(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-decisions-cli-'));
    writeFileSync(path.join(home, 'v1.yaml'), definition(0.5));
    writeFileSync(path.join(home, 'v2.yaml'), definition(0.1));
    writeFileSync(path.join(home, 'broken.yaml'), definition(0.5).replace("'tasks.score >= thresholds.review'", "'tasks.nope >= '"));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('applies, decides, lists, shows and exports', async () => {
    const applied = cliJson(await capstan('decisions', 'apply', '-f', path.join(home, 'v1.yaml'), '--activate', '--json'));
    assert.deepEqual([applied.version, applied.usecase.activeVersion], [1, 1]);
    const decided = cliJson(await capstan('decisions', 'decide', 'scoring', '--input', '{"customer":"c1","amount":300}', '--json'));
    assert.equal(decided.outcome, 'approve');
    recordId = decided.id;
    const list = cliJson(await capstan('decisions', 'list', '--usecase', 'scoring', '--since', '1h', '--json'));
    assert.deepEqual(list.map((r: { id: string }) => r.id), [recordId]);
    const shown = await capstan('decisions', 'show', recordId);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^outcome {2}approve$/m);
    assert.match(shown.stdout, /^rule trace \(cel\):$/m);
    const out = path.join(home, 'export.jsonl');
    const exported = await capstan('decisions', 'export', '--usecase', 'scoring', '-o', out);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.snapshot.input), [{ customer: 'c1', amount: 300 }]);
    const parquet = path.join(home, 'export.parquet');
    const asParquet = await capstan('decisions', 'export', '--usecase', 'scoring', '-o', parquet);
    assert.equal(asParquet.code, 0, asParquet.stderr);
    assert.equal(asParquet.stderr, `wrote 1 records to ${parquet} (parquet)\n`);
    const bytes = readFileSync(parquet);
    const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    assert.deepEqual(rows.map((r) => [r.id, r.outcome, (r.snapshot as { input: unknown }).input]), [[recordId, 'approve', { customer: 'c1', amount: 300 }]]);
  });

  it('replays a stricter draft over the records, and says so when a range has none', async () => {
    assert.equal(cliJson(await capstan('decisions', 'apply', '-f', path.join(home, 'v2.yaml'), '--json')).version, 2);
    const report = cliJson(await capstan('decisions', 'replay', 'scoring', '--version', '2', '--since', '1h', '--json'));
    assert.deepEqual([report.records, report.changed, report.transitions], [1, 1, { 'approve → review': 1 }]);
    const text = await capstan('decisions', 'replay', 'scoring', '--version', '2', '--since', '1h');
    assert.match(text.stdout, /^replayed 1 decisions of scoring .* against version 2: 1 changed, 0 unchanged, 0 skipped/m);
    const empty = cliProblem(await capstan('decisions', 'replay', 'scoring', '--version', '2', '--since', '2020-01-01T00:00:00Z', '--until', '2020-01-02T00:00:00Z', '--json'));
    assert.equal(empty.code, 'CAPSTAN_DECISIONS_REPLAY_EMPTY');
    assert.match(empty.detail, /^use case scoring has no recorded decisions from 2020-01-01T00:00:00.000Z to 2020-01-02T00:00:00.000Z; widen --since\/--until$/);
  });

  it('refuses bad definitions and bad input with their codes, changing nothing', async () => {
    const broken = cliProblem(await capstan('decisions', 'apply', '-f', path.join(home, 'broken.yaml'), '--json'));
    assert.equal(broken.code, 'CAPSTAN_DECISIONS_USECASE_INVALID');
    assert.match(broken.detail, /^use case scoring is not valid: rule high when is not valid CEL: /);
    const missing = cliProblem(await capstan('decisions', 'apply', '-f', path.join(home, 'nope.yaml'), '--json'));
    assert.equal(missing.code, 'CAPSTAN_DECISIONS_USECASE_INVALID');
    assert.match(missing.detail, /^cannot read .*nope\.yaml: /);
    const bad = cliProblem(await capstan('decisions', 'decide', 'scoring', '--input', '{"customer":"c1"}', '--json'));
    assert.equal(bad.code, 'CAPSTAN_DECISIONS_INPUT_INVALID');
    assert.equal(bad.detail, "the input does not match use case scoring: (input) must have required property 'amount'");
    const usecases = cliJson(await capstan('decisions', 'usecases', '--json'));
    assert.deepEqual(usecases.map((u: { name: string; latestVersion: number }) => [u.name, u.latestVersion]), [['scoring', 2]]);
    assert.equal(cliJson(await capstan('decisions', 'list', '--usecase', 'scoring', '--json')).length, 1);
  });
});
