import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { toYaml, type GitopsService, type ResourceFile } from '../src/gitops/index.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const MODEL_GROUP = `kind: ModelGroup
name: fraud
description: Card fraud models
tags: { team: risk }
approvalPolicy:
  autoApprove: metrics["auc"] >= 0.8
`;
const PIPELINE = `kind: Pipeline
name: fraud-train
code: src
parameters:
  epochs: { type: integer, default: 3 }
steps:
  - name: train
    type: training
    command: [python3, train.py]
    hyperparameters: { epochs: "\${params.epochs}" }
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
  describe(`capstan apply: declarative resources (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestPlatform;
    let database: TestDatabase | undefined;
    let svc: GitopsService;
    let dir: string;
    before(async () => {
      database = factory.name === 'postgres' ? await factory.create() : undefined;
      t = await openTestPlatform(database ? { databaseUrl: database.url } : {});
      svc = t.platform.context<GitopsService>('gitops');
      dir = path.join(t.home, 'repo');
      mkdirSync(path.join(dir, 'src'), { recursive: true });
      writeFileSync(path.join(dir, 'src', 'train.py'), 'print("v1")\n');
    });
    after(async () => {
      await t?.dispose();
      await database?.dispose();
    });

    it('applies a file of several kinds, and applying it again changes nothing', async () => {
      const files = filesIn(dir, { 'ml/resources.yaml': `${MODEL_GROUP}---\n${PIPELINE}` });
      const first = await svc.apply({ files });
      assert.deepEqual(first.changes.map((c) => [c.kind, c.name, c.action]), [['ModelGroup', 'fraud', 'create'], ['Pipeline', 'fraud-train', 'create']]);
      const group = await t.platform.registry.getModel('fraud');
      assert.deepEqual(group.approvalPolicy, { autoApprove: 'metrics["auc"] >= 0.8' });
      assert.equal(group.description, 'Card fraud models');
      const p1 = await t.platform.pipelines.describe('fraud-train');

      const second = await svc.apply({ files });
      assert.deepEqual(second.changes.map((c) => c.action), ['unchanged', 'unchanged']);
      const p2 = await t.platform.pipelines.describe('fraud-train');
      assert.equal(p2.version, p1.version, 'no new pipeline version');
      assert.equal((await t.platform.registry.getModel('fraud')).updatedAt, group.updatedAt);
    });

    it('--dry-run shows a diff per resource (definition and code) and changes nothing', async () => {
      writeFileSync(path.join(dir, 'src', 'train.py'), 'print("v2")\n');
      const files = filesIn(dir, { 'ml/resources.yaml': `${MODEL_GROUP.replace('0.8', '0.9')}---\n${PIPELINE}` });
      const plan = await svc.apply({ files, dryRun: true });
      assert.equal(plan.dryRun, true);
      const [mg, pl] = plan.changes;
      assert.equal(mg.action, 'update');
      assert.match(mg.diff, /^- {3}autoApprove: metrics\["auc"\] >= 0\.8$/m);
      assert.match(mg.diff, /^\+ {3}autoApprove: metrics\["auc"\] >= 0\.9$/m);
      assert.equal(pl.action, 'update');
      assert.match(pl.diff, /^- # code sha256:/m);
      assert.match(pl.diff, /^\+ # code sha256:/m);
      assert.deepEqual((await t.platform.registry.getModel('fraud')).approvalPolicy, { autoApprove: 'metrics["auc"] >= 0.8' }, 'nothing changed');
      assert.equal((await t.platform.pipelines.describe('fraud-train')).version, 1);

      const applied = await svc.apply({ files });
      assert.deepEqual(applied.changes.map((c) => c.action), ['update', 'update']);
      assert.equal((await t.platform.pipelines.describe('fraud-train')).version, 2);
    });

    it('records each resource source (file, repository, commit) and get -o yaml writes back what apply accepts', async () => {
      const files = filesIn(dir, { 'ml/resources.yaml': `${MODEL_GROUP.replace('0.8', '0.9')}---\n${PIPELINE}` });
      await svc.apply({ files, source: { repository: 'ml-repo', commit: 'a'.repeat(40) } });
      const [view] = await svc.get('pipeline', 'fraud-train');
      assert.deepEqual(view.managed?.source, { file: 'ml/resources.yaml', repository: 'ml-repo', commit: 'a'.repeat(40) });
      const exported = [...(await svc.get('ModelGroup', 'fraud')), view].map((v) => toYaml(v.document)).join('---\n');
      const replay = await svc.apply({ files: filesIn(dir, { 'exported.yaml': exported }), dryRun: true });
      assert.deepEqual(replay.changes.map((c) => [c.kind, c.action]), [['ModelGroup', 'unchanged'], ['Pipeline', 'unchanged']]);
    });

    it('--prune deletes resources of the managed set that the files no longer declare, and only those', async () => {
      await svc.apply({ files: filesIn(dir, { 'other.yaml': 'kind: ModelGroup\nname: other-team\n' }), set: 'other' });
      const kept = filesIn(dir, { 'ml/resources.yaml': MODEL_GROUP.replace('0.8', '0.9') });
      const plan = await svc.apply({ files: kept, prune: true, dryRun: true });
      assert.deepEqual(plan.changes.map((c) => [c.kind, c.name, c.action]), [['ModelGroup', 'fraud', 'unchanged'], ['Pipeline', 'fraud-train', 'delete']]);
      assert.ok(await t.platform.pipelines.describe('fraud-train'), 'the dry run deleted nothing');
      await svc.apply({ files: kept, prune: true });
      await refusal(t.platform.pipelines.describe('fraud-train'), 'CAPSTAN_PIPELINE_NOT_FOUND');
      assert.ok(await t.platform.registry.getModel('other-team'), 'another set is not pruned');
      const again = await svc.apply({ files: kept, prune: true });
      assert.deepEqual(again.changes.map((c) => c.action), ['unchanged']);
    });

    it('refuses a file with an unknown kind and schema errors, listing every error with file, line and path; nothing is applied', async () => {
      const bad = `kind: ModelGroup
name: new-group
---
kind: Pipline
name: typo
---
kind: Pipeline
name: broken
steps:
  - name: a
    type: processing
  - name: b
    type: teleport
---
kind: ModelGroup
name: policy
approvalPolicy: { autoApprove: "metrics[" }
`;
      const err = await refusal(svc.apply({ files: filesIn(dir, { 'bad.yaml': bad }) }), 'CAPSTAN_GITOPS_INVALID');
      const issues = err.fields?.issues as { file: string; line?: number; path: string; message: string }[];
      assert.ok(issues.some((i) => i.file === 'bad.yaml' && i.line === 4 && i.path === 'kind' && /unknown kind "Pipline"/.test(i.message)), JSON.stringify(issues));
      assert.ok(issues.some((i) => i.file === 'bad.yaml' && i.path.startsWith('steps[0]') && i.line !== undefined), JSON.stringify(issues));
      assert.ok(issues.some((i) => i.file === 'bad.yaml' && i.path.startsWith('steps[1]') && i.line !== undefined), JSON.stringify(issues));
      assert.ok(issues.some((i) => i.path === 'approvalPolicy.autoApprove' && i.line === 17), JSON.stringify(issues));
      assert.match(err.message, /^bad\.yaml:4:\d+ kind: unknown kind "Pipline"/m);
      await refusal(t.platform.registry.getModel('new-group'), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
    });

    it('refuses malformed YAML with its line, and a resource declared twice', async () => {
      const err = await refusal(svc.apply({ files: filesIn(dir, { 'a.yaml': 'kind: ModelGroup\nname: x\n  bad: [\n', 'b.yaml': 'kind: ModelGroup\nname: dup\n---\nkind: ModelGroup\nname: dup\n' }) }), 'CAPSTAN_GITOPS_INVALID');
      const issues = err.fields?.issues as { file: string; line?: number; path: string; message: string }[];
      assert.ok(issues.some((i) => i.file === 'a.yaml' && i.path === '(yaml)' && i.line !== undefined));
      assert.ok(issues.some((i) => i.file === 'b.yaml' && i.line === 5 && /declared twice/.test(i.message)));
      await refusal(t.platform.registry.getModel('dup'), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
    });

    it('refuses a resource referring to a missing one at plan; nothing is applied', async () => {
      const files = filesIn(dir, {
        'serve.yaml': 'kind: ModelGroup\nname: brand-new\n---\nkind: Endpoint\nname: fraud-live\nvariants:\n  - model: models:/brand-new/1\n',
      });
      const err = await refusal(svc.apply({ files }), 'CAPSTAN_GITOPS_REFERENCE_MISSING');
      assert.match(err.message, /^serve\.yaml:7:\d+ variants\[0\]\.model: model models:\/brand-new\/1 does not exist/m);
      await refusal(t.platform.registry.getModel('brand-new'), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
      await refusal(t.platform.serving.describe('fraud-live'), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    });

    it('applies Trigger documents beside their pipeline: kept by Pipeline applies, pruned, checked at plan', async () => {
      const pipeline = 'kind: Pipeline\nname: scorer\nparameters:\n  day: { type: string, default: today }\nsteps:\n  - name: s\n    type: fail\n    message: stop\n';
      const triggers = 'kind: Trigger\nname: nightly-score\npipeline: scorer\ntype: cron\nschedule: "0 3 * * *"\ntimezone: Europe/Berlin\nparams: { day: yesterday }\n---\nkind: Trigger\nname: score-hook\npipeline: scorer\ntype: webhook\n';
      const both = filesIn(dir, { 'scorer.yaml': pipeline, 'triggers.yaml': triggers });
      const first = await svc.apply({ files: both, set: 'scoring', prune: true });
      assert.deepEqual(first.changes.map((c) => [c.kind, c.name, c.action]), [['Pipeline', 'scorer', 'create'], ['Trigger', 'nightly-score', 'create'], ['Trigger', 'score-hook', 'create']]);
      assert.match(first.secrets['Trigger/score-hook']['score-hook'], /^whsec_/);
      assert.deepEqual((await t.platform.pipelines.describe('scorer')).triggers.map((x) => [x.name, x.type]), [['nightly-score', 'cron'], ['score-hook', 'webhook']]);
      const again = await svc.apply({ files: both, set: 'scoring', prune: true });
      assert.deepEqual(again.changes.map((c) => c.action), ['unchanged', 'unchanged', 'unchanged']);
      // The pipeline's own document does not list them; applying it alone keeps them.
      const alone = await svc.apply({ files: filesIn(dir, { 'scorer.yaml': pipeline }), set: 'scoring' });
      assert.deepEqual(alone.changes.map((c) => c.action), ['unchanged']);
      assert.equal((await t.platform.pipelines.describe('scorer')).triggers.length, 2);
      const [view] = await svc.get('triggers', 'nightly-score');
      assert.deepEqual(view.document, { kind: 'Trigger', name: 'nightly-score', pipeline: 'scorer', type: 'cron', schedule: '0 3 * * *', timezone: 'Europe/Berlin', params: { day: 'yesterday' } });
      const pruned = await svc.apply({ files: filesIn(dir, { 'scorer.yaml': pipeline, 'triggers.yaml': triggers.split('---')[0] }), set: 'scoring', prune: true });
      assert.deepEqual(pruned.changes.map((c) => [c.kind, c.name, c.action]), [['Pipeline', 'scorer', 'unchanged'], ['Trigger', 'nightly-score', 'unchanged'], ['Trigger', 'score-hook', 'delete']]);
      assert.deepEqual((await t.platform.pipelines.describe('scorer')).triggers.map((x) => x.name), ['nightly-score']);

      const bad = await refusal(svc.apply({ files: filesIn(dir, { 't.yaml': 'kind: Trigger\nname: broken\npipeline: scorer\ntype: cron\nschedule: "99 * * * *"\n' }) }), 'CAPSTAN_GITOPS_INVALID');
      assert.match(bad.message, /^t\.yaml:5:\d+ schedule: /m);
      const missing = await refusal(svc.apply({ files: filesIn(dir, { 't.yaml': 'kind: Trigger\nname: orphan\npipeline: no-such-pipeline\ntype: webhook\n---\nkind: Trigger\nname: wrong-param\npipeline: scorer\ntype: webhook\nparams: { month: may }\n' }) }), 'CAPSTAN_GITOPS_REFERENCE_MISSING');
      assert.match(missing.message, /^t\.yaml:3:\d+ pipeline: pipeline no-such-pipeline does not exist$/m);
      assert.match(missing.message, /^t\.yaml:10:\d+ params\.month: pipeline scorer has no parameter month$/m);
      assert.deepEqual((await t.platform.pipelines.describe('scorer')).triggers.map((x) => x.name), ['nightly-score'], 'nothing applied');
    });

    it('applies an Endpoint for an existing version, round-trips it, and deletes it', async () => {
      const v = await t.platform.registry.registerVersion('ranker', { packageDir: writeNcfPackage(path.join(t.home, 'pkg')).dir });
      await t.platform.registry.setApproval('ranker', v.version, { status: 'Approved' });
      const files = filesIn(dir, { 'endpoint.yaml': `kind: Endpoint\nname: ranker-live\nvariants:\n  - model: models:/ranker/${v.version}\n    instances: 1\n` });
      assert.deepEqual((await svc.apply({ files })).changes.map((c) => c.action), ['create']);
      assert.deepEqual((await svc.apply({ files })).changes.map((c) => c.action), ['unchanged']);
      const [view] = await svc.get('endpoints', 'ranker-live');
      const replay = await svc.apply({ files: filesIn(dir, { 'e.yaml': toYaml(view.document) }), dryRun: true });
      assert.deepEqual(replay.changes.map((c) => c.action), ['unchanged']);
      await svc.delete('Endpoint', 'ranker-live');
      await refusal(t.platform.serving.describe('ranker-live'), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
      await refusal(svc.get('Endpoint', 'ranker-live'), 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND');
      await refusal(svc.get('Widget'), 'CAPSTAN_GITOPS_KIND_UNKNOWN');
    });

    it('a ModelGroup with autoDeploy is the rollouts auto-deploy policy: an approved version rolls out through rollouts', async () => {
      const rollouts = t.platform.context<RolloutService>('rollouts');
      const files = filesIn(dir, { 'auto.yaml': 'kind: ModelGroup\nname: auto-ranker\nautoDeploy: { endpoint: auto-live }\n' });
      assert.deepEqual((await svc.apply({ files })).changes.map((c) => c.action), ['create']);
      assert.deepEqual((await svc.apply({ files })).changes.map((c) => c.action), ['unchanged']);
      assert.deepEqual((await svc.get('ModelGroup', 'auto-ranker'))[0].document, { kind: 'ModelGroup', name: 'auto-ranker', autoDeploy: { endpoint: 'auto-live', strategy: 'all-at-once' } });
      const stored = await rollouts.getAutoDeploy('auto-ranker');
      assert.deepEqual([stored.endpoint, stored.policy, stored.supersede, stored.actor], ['auto-live', { strategy: 'all-at-once' }, true, 'system:gitops']);

      const pkg = writeNcfPackage(path.join(t.home, 'auto-pkg')).dir;
      const v1 = await t.platform.registry.registerVersion('auto-ranker', { packageDir: pkg });
      await t.platform.outbox.drain();
      await refusal(t.platform.serving.describe('auto-live'), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
      await t.platform.registry.setApproval('auto-ranker', v1.version, { status: 'Approved' });
      await t.platform.outbox.drain();
      // The first approved version creates the endpoint: nothing to shift traffic from yet.
      assert.deepEqual((await t.platform.serving.describe('auto-live')).variants.map((v) => [v.resolved.name, v.resolved.version]), [['auto-ranker', 1]]);
      assert.deepEqual(await rollouts.list('auto-live'), []);
      const v2 = await t.platform.registry.registerVersion('auto-ranker', { packageDir: pkg });
      await t.platform.registry.setApproval('auto-ranker', v2.version, { status: 'Approved' });
      await t.platform.outbox.drain();
      const [d] = await rollouts.list('auto-live');
      assert.deepEqual([d.policy.strategy, d.greenPercent, d.green.map((v) => v.model)], ['all-at-once', 100, ['models:/auto-ranker/2']]);
      assert.match(d.actor, /^system:auto-deploy:evt_/);
      const served = (await t.platform.serving.describe('auto-live')).variants.filter((v) => v.weight > 0);
      assert.deepEqual(served.map((v) => v.resolved.version), [2]);
      // deployment.* events come from rollouts alone, one rollout for the one later approval.
      const started = await t.platform.outboxStore.events('deployment.started');
      assert.deepEqual(started.filter((e) => e.data.endpoint === 'auto-live').map((e) => [e.subject, e.data.strategy]), [[`endpoints/auto-live/deployments/${d.id}`, 'all-at-once']]);
      await t.platform.outbox.drain();
      assert.equal((await rollouts.list('auto-live')).length, 1, 'a redelivered approval starts nothing');
    });

    it('autoDeploy takes a strategy and alarms: --dry-run diffs them, apply twice changes nothing, get -o yaml round-trips', async () => {
      const rollouts = t.platform.context<RolloutService>('rollouts');
      const canary = 'kind: ModelGroup\nname: auto-ranker\nautoDeploy:\n  endpoint: auto-live\n  strategy: canary\n  canaryPercent: 20\n  waitSeconds: 300\n  alarms:\n    - { type: error-rate, threshold: 0.02 }\n  supersede: false\n';
      const files = filesIn(dir, { 'auto.yaml': canary });
      const plan = await svc.apply({ files, dryRun: true });
      assert.deepEqual(plan.changes.map((c) => c.action), ['update']);
      assert.match(plan.changes[0].diff, /^- {3}strategy: all-at-once$/m);
      assert.match(plan.changes[0].diff, /^\+ {3}strategy: canary$/m);
      assert.match(plan.changes[0].diff, /^\+ {3}supersede: false$/m);
      assert.deepEqual((await rollouts.getAutoDeploy('auto-ranker')).policy, { strategy: 'all-at-once' }, 'a dry run changes nothing');
      assert.deepEqual((await svc.apply({ files })).changes.map((c) => c.action), ['update']);
      const stored = await rollouts.getAutoDeploy('auto-ranker');
      assert.deepEqual([stored.policy, stored.supersede], [{ strategy: 'canary', canaryPercent: 20, waitSeconds: 300, alarms: [{ type: 'error-rate', threshold: 0.02 }] }, false]);
      assert.deepEqual((await svc.apply({ files })).changes.map((c) => c.action), ['unchanged']);
      assert.equal((await rollouts.getAutoDeploy('auto-ranker')).createdAt, stored.createdAt, 'applying again rewrites nothing');
      const [view] = await svc.get('modelgroup', 'auto-ranker');
      assert.deepEqual(view.document.autoDeploy, { endpoint: 'auto-live', strategy: 'canary', canaryPercent: 20, waitSeconds: 300, alarms: [{ type: 'error-rate', threshold: 0.02 }], supersede: false });
      assert.deepEqual((await svc.apply({ files: filesIn(dir, { 'exported.yaml': toYaml(view.document) }), dryRun: true })).changes.map((c) => c.action), ['unchanged']);

      // A policy set outside gitops (capstan models auto-deploy) is what get shows and the plan diffs.
      await rollouts.setAutoDeploy('auto-ranker', { endpoint: 'auto-live', policy: { strategy: 'linear' } });
      assert.deepEqual((await svc.get('ModelGroup', 'auto-ranker'))[0].document.autoDeploy, { endpoint: 'auto-live', strategy: 'linear' });
      const drift = await svc.apply({ files, dryRun: true });
      assert.deepEqual(drift.changes.map((c) => c.action), ['update']);
      assert.match(drift.changes[0].diff, /^- {3}strategy: linear$/m);
      await svc.apply({ files });

      const bad = await refusal(svc.apply({ files: filesIn(dir, { 'auto.yaml': 'kind: ModelGroup\nname: auto-ranker\nautoDeploy: { endpoint: Bad Name, strategy: sideways, colour: red }\n' }) }), 'CAPSTAN_GITOPS_INVALID');
      assert.match(bad.message, /^auto\.yaml:3:\d+ autoDeploy\.colour: unknown field colour \(autoDeploy takes endpoint/m);
      assert.match(bad.message, /^auto\.yaml:3:\d+ autoDeploy\.endpoint: endpoint must be an endpoint name/m);
      const badAlarm = 'kind: ModelGroup\nname: auto-ranker\nautoDeploy:\n  endpoint: auto-live\n  strategy: linear\n  linearStepPercent: 5\n';
      const step = await refusal(svc.apply({ files: filesIn(dir, { 'auto.yaml': badAlarm }) }), 'CAPSTAN_GITOPS_INVALID');
      assert.match(step.message, /^auto\.yaml:6:\d+ autoDeploy\.linearStepPercent: linearStepPercent must be an integer from 10 to 50 %, got 5$/m);
      const cel = 'kind: ModelGroup\nname: auto-ranker\nautoDeploy:\n  endpoint: auto-live\n  alarms:\n    - { type: cel, expression: "green." }\n';
      const alarm = await refusal(svc.apply({ files: filesIn(dir, { 'auto.yaml': cel }) }), 'CAPSTAN_GITOPS_INVALID');
      assert.match(alarm.message, /^auto\.yaml:6:\d+ autoDeploy\.alarms\[0\]\.expression: /m);
      assert.deepEqual((await rollouts.getAutoDeploy('auto-ranker')).policy.strategy, 'canary', 'a refused apply changes nothing');

      await svc.delete('ModelGroup', 'auto-ranker');
      await refusal(rollouts.getAutoDeploy('auto-ranker'), 'CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND');
    });
  });
}
