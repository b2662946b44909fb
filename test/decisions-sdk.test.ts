import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { DecisionsClient } from '../src/sdk/decisions-client.js';
import { HttpClient } from '../src/sdk/http-client.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';

const definition = (review: number) => ({
  name: 'scoring',
  input: { schema: { type: 'object', required: ['customer', 'amount'], properties: { customer: { type: 'string' }, amount: { type: 'number' } } }, subject: 'input.customer' },
  thresholds: { review },
  tasks: [{ name: 'score', type: 'cel', expression: 'input.amount / 1000.0' }],
  rules: { engine: 'cel', rules: [{ name: 'high', when: 'tasks.score >= thresholds.review', outcome: 'review', reason: 'score high' }], default: { outcome: 'approve' }, output: { score: 'tasks.score' } },
});

describe('the decisions SDK client against a server', () => {
  let t: TestServer;
  let client: DecisionsClient;
  before(async () => {
    t = await startTestServer();
    client = new DecisionsClient(new HttpClient({ baseUrl: t.url }));
  });
  after(async () => t?.dispose());

  it('applies, activates, decides, finds, replays and compares as the local service does', async () => {
    const applied = await client.apply(definition(0.5), { activate: true });
    assert.deepEqual([applied.version, applied.created, applied.usecase.activeVersion], [1, true, 1]);
    const r = await client.decide('scoring', { customer: 'c1', amount: 300 });
    assert.deepEqual([r.outcome, r.output], ['approve', { score: 0.3 }]);
    assert.equal((await client.record(r.id)).snapshot.tasks[0].output, 0.3);
    assert.deepEqual((await client.records({ usecase: 'scoring', subject: 'c1' })).map((x) => x.id), [r.id]);
    assert.equal((await client.apply(definition(0.1))).version, 2);
    assert.equal((await client.describe('scoring', 2)).definition.thresholds?.review, 0.1);
    const since = new Date(Date.now() - 60_000).toISOString();
    const report = await client.replay('scoring', { version: 2, since });
    assert.deepEqual(report.transitions, { 'approve → review': 1 });
    const summary = await client.activate('scoring', 2, { challenger: true });
    assert.equal(summary.challengerVersion, 2);
    await client.decide('scoring', { customer: 'c2', amount: 300 });
    const queued = await client.decideAsync('scoring', { customer: 'c3', amount: 1 });
    assert.equal((await client.request(queued.id)).status, 'queued');
    assert.deepEqual((await client.useCases()).map((u) => u.name), ['scoring']);
    assert.deepEqual((await client.documented()).map((d) => [d.name, d.version]), [['scoring', 1]]);
    const cmp = await client.compare('scoring', since);
    assert.equal(cmp.champion.decisions, 2);
  });

  it('answers errors with their codes', async () => {
    await assert.rejects(() => client.decide('scoring', { customer: 'c1' }), (err) => isCapstanError(err, 'CAPSTAN_DECISIONS_INPUT_INVALID'));
    await assert.rejects(() => client.record('dec_nope'), (err) => isCapstanError(err, 'CAPSTAN_DECISIONS_RECORD_NOT_FOUND'));
    await assert.rejects(() => client.request('dreq_nope'), (err) => isCapstanError(err, 'CAPSTAN_DECISIONS_REQUEST_NOT_FOUND'));
    await assert.rejects(() => client.activate('scoring', 9), (err) => isCapstanError(err, 'CAPSTAN_DECISIONS_VERSION_NOT_FOUND'));
  });
});
