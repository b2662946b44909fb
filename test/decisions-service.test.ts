import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import type { DecisionService } from '../src/decisions/index.js';
import { openDecisionsTestPlatform, type DecisionsTestPlatform } from '../src/decisions/test-support/decisions-test-platform.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { riskDefinition } from '../src/decisions/test-support/risk-definition.js';

async function rejects(fn: () => Promise<unknown>, code: string, message?: RegExp): Promise<Record<string, unknown>> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isCapstanError(err), String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return { ...err.fields, message: err.message };
  }
  assert.fail(`expected ${code}`);
}

for (const factory of await testDatabases()) {
  describe(`decision service on ${factory.name}`, { skip: factory.skip }, () => {
    let t: DecisionsTestPlatform;
    let decisions: DecisionService;
    before(async () => {
      t = await openDecisionsTestPlatform(factory);
      decisions = t.decisions;
    });
    after(async () => t?.dispose());

    it('applies a definition as a draft, then activates it; an unchanged definition stores nothing new', async () => {
      const first = await decisions.apply(riskDefinition());
      assert.equal(first.version, 1);
      assert.equal(first.created, true);
      assert.equal(first.usecase.activeVersion, null);
      await rejects(() => decisions.decide('risk', { customer: 'c1', amount: 10 }), 'CAPSTAN_DECISIONS_NO_ACTIVE_VERSION');
      const again = await decisions.apply(riskDefinition(), { activate: true });
      assert.equal(again.created, false);
      assert.equal(again.usecase.activeVersion, 1);
    });

    it('decides and stores a record with the point-in-time snapshot', async () => {
      const result = await decisions.decide('risk', { customer: 'c1', amount: 600 });
      assert.equal(result.outcome, 'review');
      assert.deepEqual(result.reasons, ['risk at or above the review threshold']);
      assert.equal(result.output.risk, 0.6);
      const record = await decisions.record(result.id);
      assert.equal(record.version, 1);
      assert.equal(record.subject, 'c1');
      const s = record.snapshot;
      assert.deepEqual(s.input, { customer: 'c1', amount: 600 });
      assert.deepEqual(s.thresholds, { review: 0.5, reject: 0.9 });
      const fraud = s.tasks.find((x) => x.name === 'fraud')!;
      assert.equal(fraud.status, 'ok');
      assert.deepEqual(fraud.request, { amount: 600, sleepMs: 0 });
      assert.deepEqual(fraud.response, { predictions: [{ score: 0.6 }] });
      assert.deepEqual(fraud.model, { endpoint: 'fraud', variant: 'primary', name: 'fraud', version: 1 });
      assert.ok(fraud.latencyMs > 0);
      assert.deepEqual(s.rules?.trace, [
        { rule: 'very_risky', when: 'tasks.risk >= thresholds.reject', matched: false },
        { rule: 'risky', when: 'tasks.risk >= thresholds.review', matched: true },
      ]);
    });

    it('answers 400 listing each violation for input outside the schema, storing nothing', async () => {
      const before = (await decisions.records({ usecase: 'risk' })).length;
      const f = await rejects(() => decisions.decide('risk', { amount: -1, extra: true }), 'CAPSTAN_DECISIONS_INPUT_INVALID', /^the input does not match use case risk: /);
      assert.deepEqual(f.violations, ["(input) must have required property 'customer'", '(input) must NOT have additional properties (extra)', '/amount must be >= 0']);
      assert.equal((await decisions.records({ usecase: 'risk' })).length, before);
    });

    it('answers 404 for an unknown use case', async () => {
      await rejects(() => decisions.decide('nope', {}), 'CAPSTAN_DECISIONS_USECASE_NOT_FOUND', /^no use case nope$/);
    });

    it('lets a lookup task see earlier decisions of the same subject', async () => {
      for (let i = 0; i < 3; i++) await decisions.decide('risk', { customer: 'c2', amount: 100 });
      const fourth = await decisions.decide('risk', { customer: 'c2', amount: 100 });
      const record = await decisions.record(fourth.id);
      const history = record.snapshot.tasks.find((x) => x.name === 'history')!;
      assert.equal((history.output as { count: number }).count, 3);
      const earlier = (history.output as { records: { tasks: Record<string, unknown> }[] }).records[0];
      assert.equal(earlier.tasks.fraud, 0.1, 'earlier model outputs are there to reuse');
      assert.equal(fourth.output.risk, 0.2);
    });

    it('fails the decision on a model timeout with policy fail, and records it', async () => {
      const f = await rejects(() => decisions.decide('risk', { customer: 'c3', amount: 10, sleepMs: 3000 }), 'CAPSTAN_DECISIONS_TASK_TIMEOUT', /^task fraud failed after 1 attempt\(s\): task fraud did not answer within 1000 ms$/);
      const record = await decisions.record(f.recordId as string);
      assert.equal(record.status, 'error');
      assert.equal(record.outcome, null);
      assert.equal(record.snapshot.tasks.find((x) => x.name === 'fraud')!.status, 'failed');
      assert.equal(record.snapshot.tasks.find((x) => x.name === 'risk')!.status, 'skipped');
    });

    it('uses the default and marks the task on a model timeout with policy default', async () => {
      const def = riskDefinition({ name: 'risk-default' });
      (def.tasks as Record<string, unknown>[])[0] = { ...(def.tasks as Record<string, unknown>[])[0], timeoutMs: 300, retries: 1, onFailure: 'default', default: 0.95 };
      await decisions.apply(def, { activate: true });
      const result = await decisions.decide('risk-default', { customer: 'c4', amount: 10, sleepMs: 2000 });
      assert.equal(result.outcome, 'reject');
      assert.deepEqual(result.defaulted, ['fraud']);
      const fraud = (await decisions.record(result.id)).snapshot.tasks.find((x) => x.name === 'fraud')!;
      assert.equal(fraud.status, 'defaulted');
      assert.equal(fraud.attempts, 2);
      assert.equal(fraud.error?.code, 'CAPSTAN_DECISIONS_TASK_TIMEOUT');
    });

    it('evaluates rules written as a JDM decision table', async () => {
      const def = riskDefinition({
        name: 'risk-jdm',
        rules: {
          engine: 'jdm',
          graph: {
            nodes: [
              { id: 'in', type: 'inputNode', name: 'Input', position: { x: 0, y: 0 } },
              {
                id: 'table',
                type: 'decisionTableNode',
                name: 'Risk table',
                position: { x: 200, y: 0 },
                content: {
                  hitPolicy: 'first',
                  inputs: [{ id: 'risk', name: 'Risk', field: 'tasks.risk' }],
                  outputs: [
                    { id: 'outcome', name: 'Outcome', field: 'outcome' },
                    { id: 'reasons', name: 'Reasons', field: 'reasons' },
                  ],
                  rules: [
                    { _id: 'r1', risk: '>= thresholds.reject', outcome: '"reject"', reasons: '["very risky"]' },
                    { _id: 'r2', risk: '>= thresholds.review', outcome: '"review"', reasons: '["risky"]' },
                    { _id: 'r3', risk: '', outcome: '"approve"', reasons: '[]' },
                  ],
                },
              },
              { id: 'out', type: 'outputNode', name: 'Output', position: { x: 400, y: 0 } },
            ],
            edges: [
              { id: 'e1', sourceId: 'in', targetId: 'table', type: 'edge' },
              { id: 'e2', sourceId: 'table', targetId: 'out', type: 'edge' },
            ],
          },
        },
      });
      await decisions.apply(def, { activate: true });
      const result = await decisions.decide('risk-jdm', { customer: 'c5', amount: 950 });
      assert.equal(result.outcome, 'reject');
      assert.deepEqual(result.reasons, ['very risky']);
      const trace = (await decisions.record(result.id)).snapshot.rules!.trace as { node: string; fired?: { rule?: { _id: string } } }[];
      assert.equal(trace.find((n) => n.node === 'Risk table')?.fired?.rule?._id, 'r1');
    });

    it('refuses at apply a definition that does not compile, names an unknown task, has a cycle or a blocked URL; nothing is stored', async () => {
      const count = (await decisions.useCases()).length;
      let f = await rejects(() => decisions.apply(riskDefinition({ name: 'bad', rules: { engine: 'cel', rules: [{ name: 'x', when: 'tasks.risk >=', outcome: 'reject' }], default: { outcome: 'approve' } } })), 'CAPSTAN_DECISIONS_USECASE_INVALID');
      assert.match((f.problems as string[])[0], /^rule x when is not valid CEL: /);
      f = await rejects(() => decisions.apply(riskDefinition({ name: 'bad', tasks: [{ name: 'a', type: 'cel', expression: 'tasks.ghost + 1.0' }] })), 'CAPSTAN_DECISIONS_USECASE_INVALID');
      assert.deepEqual(f.problems, ['task a reads tasks.ghost, but no task is named ghost', 'the rules read tasks.risk, but no task is named risk']);
      f = await rejects(
        () =>
          decisions.apply(
            riskDefinition({
              name: 'bad',
              tasks: [
                { name: 'risk', type: 'cel', expression: 'tasks.b + 1.0' },
                { name: 'b', type: 'cel', expression: 'tasks.risk + 1.0' },
              ],
            }),
          ),
        'CAPSTAN_DECISIONS_USECASE_INVALID',
      );
      assert.deepEqual(f.problems, ['the tasks form a cycle: risk → b → risk']);
      await rejects(
        () => decisions.apply(riskDefinition({ name: 'bad', tasks: [...(riskDefinition().tasks as unknown[]), { name: 'ext', type: 'http', url: 'http://169.254.169.254/latest', request: 'input' }] })),
        'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED',
      );
      assert.equal((await decisions.useCases()).length, count);
      // A features task needs the features context: on a platform without it, apply refuses the use case.
      const bare = await openDecisionsTestPlatform(factory, {}, { exclude: ['features'], scorer: false });
      try {
        await rejects(
          () => bare.decisions.apply(riskDefinition({ name: 'bad', tasks: [...(riskDefinition().tasks as unknown[]), { name: 'cust', type: 'features', features: ['customers:age'], entity: { customer_id: 'input.customer' } }] })),
          'CAPSTAN_DECISIONS_FEATURES_UNAVAILABLE',
        );
        assert.deepEqual(await bare.decisions.useCases(), []);
      } finally {
        await bare.dispose();
      }
    });

    it('finds records by use case, subject, outcome and time', async () => {
      const reviews = await decisions.records({ usecase: 'risk', outcome: 'review' });
      assert.ok(reviews.length >= 1 && reviews.every((r) => r.outcome === 'review'));
      const c2 = await decisions.records({ usecase: 'risk', subject: 'c2' });
      assert.equal(c2.length, 4);
      assert.equal((await decisions.records({ usecase: 'risk', since: new Date(Date.now() + 60_000).toISOString() })).length, 0);
      await rejects(() => decisions.records({ since: 'yesterday' }), 'CAPSTAN_DECISIONS_QUERY_INVALID', /^since must be an ISO time, got "yesterday"$/);
    });

    it('replays the active version over its own records exactly, and a stricter draft with change counts', async () => {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const exact = await decisions.replay('risk', { version: 1, since });
      assert.ok(exact.records >= 6);
      assert.equal(exact.changed, 0);
      assert.equal(exact.detailsChanged, 0);
      assert.equal(exact.skipped, 1, 'the timed-out decision has no outcome to replay');
      // Records stored before the replay projection existed are replayed from their whole snapshot.
      const projected = await t.platform.db.kysely.selectFrom('decision_records').select(['id', 'replay']).where('usecase', '=', 'risk').execute();
      assert.ok(projected.length >= 6 && projected.every((r) => typeof r.replay === 'string' && r.replay.length > 0), 'every record keeps its replay projection');
      await t.platform.db.kysely.updateTable('decision_records').set({ replay: null }).where('usecase', '=', 'risk').execute();
      const fromSnapshots = await decisions.replay('risk', { version: 1, since });
      assert.deepEqual([fromSnapshots.records, fromSnapshots.changed, fromSnapshots.detailsChanged, fromSnapshots.skipped], [exact.records, 0, 0, 1]);
      const threaded = await decisions.replay('risk', { version: 1, since, threads: 2 });
      assert.deepEqual([threaded.records, threaded.changed, threaded.detailsChanged, threaded.skipped], [exact.records, 0, 0, 1], 'worker threads replay alike');
      const draft = await decisions.apply(riskDefinition({ thresholds: { review: 0.1, reject: 0.5 } }));
      assert.equal(draft.version, 2);
      assert.equal(draft.usecase.activeVersion, 1);
      const stricter = await decisions.replay('risk', { version: 2, since });
      assert.ok(stricter.changed >= 1);
      assert.equal(stricter.transitions['review → reject'], 1);
      assert.ok(stricter.transitions['approve → review'] >= 4);
      assert.ok(stricter.examples.length >= 1);
      // Same outcomes, another reason for approvals: the outcome stays, the details change.
      const reworded = riskDefinition();
      (reworded.rules as { default: { reason: string } }).default.reason = 'nothing to worry about';
      const v3 = await decisions.apply(reworded);
      const details = await decisions.replay('risk', { version: v3.version, since });
      assert.equal(details.changed, 0);
      assert.equal(details.detailsChanged, exact.before.approve);
      assert.ok(details.detailsChanged >= 4);
      await rejects(() => decisions.replay('risk', { version: 2, since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' }), 'CAPSTAN_DECISIONS_REPLAY_EMPTY', /^use case risk has no recorded decisions from 2020-01-01T00:00:00.000Z to 2020-01-02T00:00:00.000Z/);
    });

    it('runs a challenger in shadow, storing both records, and compares their outcome rates', async () => {
      const since = new Date().toISOString();
      await decisions.activate('risk', 2, { challenger: true });
      const result = await decisions.decide('risk', { customer: 'c9', amount: 600 });
      assert.equal(result.outcome, 'review');
      let shadow: unknown[] = [];
      for (let i = 0; i < 200 && shadow.length === 0; i++) {
        shadow = await decisions.records({ usecase: 'risk', role: 'challenger', subject: 'c9' });
        if (shadow.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((shadow[0] as { outcome: string }).outcome, 'reject');
      const cmp = await decisions.compare('risk', since);
      assert.deepEqual(cmp.champion, { version: 1, decisions: 1, outcomes: { review: 1 } });
      assert.deepEqual(cmp.challenger, { version: 2, decisions: 1, outcomes: { reject: 1 } });
      assert.equal(cmp.disagreements, 1);
    });
  });
}
