import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import type { DecisionService } from '../src/decisions/index.js';
import type { FeatureService } from '../src/features/index.js';
import { toYaml, type GitopsService, type ResourceFile } from '../src/gitops/index.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const ENTITY = `kind: Entity
name: customer
description: a card holder
joinKeys: [{ name: customer_id, type: string }]
`;
const GROUP = `kind: FeatureGroup
name: customers
entities: [customer]
eventTime: event_time
ttl: 30d
owner: risk-team
features:
  - { name: chargebacks_90d, type: int64 }
`;
const USECASE = `kind: UseCase
name: chargeback-check
input:
  schema: { type: object, required: [customer_id], properties: { customer_id: { type: string } } }
  subject: input.customer_id
thresholds: { chargebacks: 1 }
tasks:
  - name: customer
    type: features
    features: [customers:chargebacks_90d]
    entity: { customer_id: input.customer_id }
rules:
  engine: cel
  rules:
    - { name: many, when: 'tasks.customer.chargebacks_90d != null && tasks.customer.chargebacks_90d > thresholds.chargebacks', outcome: review, reason: chargebacks }
  default: { outcome: approve }
`;

/** Files as the CLI reads them from a directory on this machine. */
function filesIn(dir: string, docs: Record<string, string>): ResourceFile[] {
  return Object.entries(docs).map(([p, text]) => ({ path: p, text, baseDir: dir }));
}

/** The error a rejected promise carried, asserting it is a CapstanError with `code`. */
async function refusal(p: Promise<unknown>, code: string): Promise<{ message: string; fields?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isCapstanError(err), String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

for (const factory of await testDatabases()) {
  describe(`capstan apply: Entity, FeatureGroup and UseCase (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestPlatform;
    let database: TestDatabase | undefined;
    let svc: GitopsService;
    let features: FeatureService;
    let decisions: DecisionService;
    let dir: string;
    const all = () => filesIn(dir, { 'ml/features.yaml': `${ENTITY}---\n${GROUP}`, 'ml/usecase.yaml': USECASE });
    before(async () => {
      database = factory.name === 'postgres' ? await factory.create() : undefined;
      t = await openTestPlatform(database ? { databaseUrl: database.url } : {});
      svc = t.platform.context<GitopsService>('gitops');
      features = t.platform.context<FeatureService>('features');
      decisions = t.platform.context<DecisionService>('decisions');
      dir = path.join(t.home, 'repo');
      mkdirSync(dir, { recursive: true });
    });
    after(async () => {
      await t?.dispose();
      await database?.dispose();
    });

    it('applies the three kinds in dependency order, the use case decides on the stored features, and applying again changes nothing', async () => {
      const first = await svc.apply({ files: all() });
      assert.deepEqual(first.changes.map((c) => [c.kind, c.name, c.action]), [['Entity', 'customer', 'create'], ['FeatureGroup', 'customers', 'create'], ['UseCase', 'chargeback-check', 'create']]);
      const group = await features.getGroup('customers');
      assert.deepEqual([group.version, group.ttlMs, group.owner, group.joinKeys.map((k) => k.name)], [1, 30 * 86_400_000, 'risk-team', ['customer_id']]);
      await features.pushRecords('customers', [{ customer_id: 'c-1', event_time: new Date().toISOString(), chargebacks_90d: 3 }]);
      await features.materialize('customers');
      const d = await decisions.decide('chargeback-check', { customer_id: 'c-1' });
      assert.deepEqual([d.outcome, d.version], ['review', 1]);
      const again = await svc.apply({ files: all() });
      assert.deepEqual(again.changes.map((c) => c.action), ['unchanged', 'unchanged', 'unchanged']);
      assert.equal((await decisions.useCases()).find((u) => u.name === 'chargeback-check')?.latestVersion, 1, 'no new use-case version');
    });

    it('--dry-run shows a diff per resource and changes nothing; applying stores the group change and activates the next use-case version', async () => {
      const changed = filesIn(dir, { 'ml/features.yaml': `${ENTITY}---\n${GROUP.replace('ttl: 30d', 'ttl: 7d')}`, 'ml/usecase.yaml': USECASE.replace('chargebacks: 1 }', 'chargebacks: 5 }') });
      const plan = await svc.apply({ files: changed, dryRun: true });
      assert.deepEqual(plan.changes.map((c) => [c.kind, c.action]), [['Entity', 'unchanged'], ['FeatureGroup', 'update'], ['UseCase', 'update']]);
      assert.match(plan.changes[1].diff, /^- ttl: 30d$/m);
      assert.match(plan.changes[1].diff, /^\+ ttl: 7d$/m);
      assert.match(plan.changes[2].diff, /^- {3}chargebacks: 1$/m);
      assert.match(plan.changes[2].diff, /^\+ {3}chargebacks: 5$/m);
      assert.equal((await features.getGroup('customers')).ttlMs, 30 * 86_400_000, 'the dry run changed nothing');
      assert.equal((await decisions.decide('chargeback-check', { customer_id: 'c-1' })).outcome, 'review');

      await svc.apply({ files: changed });
      assert.equal((await features.getGroup('customers')).ttlMs, 7 * 86_400_000);
      const d = await decisions.decide('chargeback-check', { customer_id: 'c-1' });
      assert.deepEqual([d.outcome, d.version], ['approve', 2]);
    });

    it('get -o yaml writes back what apply accepts, for each kind', async () => {
      const views = [...(await svc.get('entities')), ...(await svc.get('featuregroups')), ...(await svc.get('usecases'))];
      assert.deepEqual(views.map((v) => [v.kind, v.name]), [['Entity', 'customer'], ['FeatureGroup', 'customers'], ['UseCase', 'chargeback-check']]);
      assert.equal(views[1].document.ttl, '7d');
      assert.equal(views[1].document.version, 1);
      const exported = views.map((v) => toYaml(v.document)).join('---\n');
      const replay = await svc.apply({ files: filesIn(dir, { 'exported.yaml': exported }), dryRun: true });
      assert.deepEqual(replay.changes.map((c) => [c.kind, c.action]), [['Entity', 'unchanged'], ['FeatureGroup', 'unchanged'], ['UseCase', 'unchanged']]);
    });

    it('refuses a FeatureGroup naming an entity that neither exists nor is declared, and an invalid UseCase, at plan; nothing is applied', async () => {
      const missing = await refusal(svc.apply({ files: filesIn(dir, { 'g.yaml': GROUP.replace('name: customers', 'name: merchants').replace('[customer]', '[merchant]') }) }), 'CAPSTAN_GITOPS_REFERENCE_MISSING');
      assert.match(missing.message, /^g\.yaml:3:\d+ entities\[0\]: entity merchant does not exist and is not declared in this apply$/m);
      await refusal(features.getGroup('merchants'), 'CAPSTAN_FEATURES_NOT_FOUND');
      const invalid = await refusal(svc.apply({ files: filesIn(dir, { 'u.yaml': USECASE.replace('name: chargeback-check', 'name: broken').replace('tasks.customer.chargebacks_90d > thresholds.chargebacks', 'tasks.nope > 1.0') }) }), 'CAPSTAN_GITOPS_INVALID');
      assert.match(invalid.message, /^u\.yaml:\d+:\d+ .*nope/m);
      assert.equal((await decisions.useCases()).find((u) => u.name === 'broken'), undefined);
    });

    it('--prune deletes the group (every version, its online values) and retires the use case, keeping its records; an entity in use is not deleted', async () => {
      const onlyEntity = filesIn(dir, { 'ml/features.yaml': ENTITY });
      const plan = await svc.apply({ files: onlyEntity, prune: true, dryRun: true });
      assert.deepEqual(plan.changes.map((c) => [c.kind, c.name, c.action]).sort(), [['Entity', 'customer', 'unchanged'], ['FeatureGroup', 'customers', 'delete'], ['UseCase', 'chargeback-check', 'delete']]);
      assert.ok(await features.getGroup('customers'), 'the dry run deleted nothing');

      await svc.apply({ files: all() });
      await refusal(svc.delete('Entity', 'customer'), 'CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE');
      assert.equal((await features.listEntities()).length, 1, 'the entity in use stays');

      await svc.apply({ files: onlyEntity, prune: true });
      await refusal(features.getGroup('customers'), 'CAPSTAN_FEATURES_NOT_FOUND');
      await refusal(decisions.decide('chargeback-check', { customer_id: 'c-1' }), 'CAPSTAN_DECISIONS_NO_ACTIVE_VERSION');
      assert.ok((await decisions.records({ usecase: 'chargeback-check' })).length >= 3, 'the decision records stay');
      await refusal(svc.get('UseCase', 'chargeback-check'), 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND');

      // Re-created from the same document, the group starts empty: the old online values went with it.
      await svc.apply({ files: all() });
      const read = await features.readOnline({ features: ['customers:chargebacks_90d'], entities: [{ customer_id: 'c-1' }] });
      assert.equal(read.results[0].values['customers:chargebacks_90d'].status, 'NOT_FOUND');
      assert.equal((await decisions.decide('chargeback-check', { customer_id: 'c-1' })).outcome, 'approve');

      await svc.delete('UseCase', 'chargeback-check');
      await svc.delete('FeatureGroup', 'customers');
      await svc.delete('Entity', 'customer');
      assert.deepEqual(await features.listEntities(), []);
      await refusal(svc.delete('FeatureGroup', 'customers'), 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND');
    });
  });
}
