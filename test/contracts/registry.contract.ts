import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RegistryService } from '../../src/registry/registry-service.js';
import { tinyOnnxModel } from '../../src/serving/test-support/onnx-builder.js';
import { rejectsWithCode, type MakeTarget } from './contract-target.js';

/** Writes a tiny ONNX model package (registration loads the graph, so it must be a real one). */
function onnxPackage(dir: string, tag: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ framework: 'onnx', entry: 'model.onnx' }));
  writeFileSync(path.join(dir, 'model.onnx'), tinyOnnxModel(tag));
  return dir;
}

/** The registry contract: what `capstan models` and `capstan runs` rely on, embedded or through `--url`. */
export function describeRegistryContract(name: string, target: MakeTarget<RegistryService>): void {
  describe(`registry contract (${name})`, () => {
    it('creates an experiment and a run, logs params and metrics, and reads them back', async () => {
      const { service, name: n } = target();
      const experiment = await service.createExperiment({ name: n('exp'), description: 'contract', tags: { team: 'a' } });
      assert.equal(experiment.name, n('exp'));
      assert.deepEqual((await service.getExperiment(n('exp'))).tags, { team: 'a' });
      const run = await service.createRun({ experiment: n('exp'), name: 'first', params: { lr: 0.1 } });
      assert.equal(run.status, 'running');
      await service.logParams(run.id, { epochs: 3 });
      assert.deepEqual((await service.logMetrics(run.id, [{ key: 'loss', value: 0.5, step: 1 }, { key: 'loss', value: 0.25, step: 2 }])).count, 2);
      assert.deepEqual((await service.metricHistory(run.id, 'loss')).map((p) => [p.step, p.value]), [[1, 0.5], [2, 0.25]]);
      const done = await service.updateRun(run.id, { status: 'finished' });
      assert.equal(done.status, 'finished');
      const got = await service.getRun(run.id);
      assert.deepEqual(got.params, { lr: '0.1', epochs: '3' });
      assert.equal(got.metrics.loss, 0.25);
      assert.deepEqual((await service.listRuns({ experiment: n('exp') })).map((r) => r.id), [run.id]);
    });

    it('refuses a duplicate experiment, a changed param and a bad metric with their codes, changing nothing', async () => {
      const { service, name: n } = target();
      await service.createExperiment({ name: n('dup-exp') });
      await rejectsWithCode(service.createExperiment({ name: n('dup-exp'), description: 'again' }), 'CAPSTAN_REGISTRY_EXPERIMENT_EXISTS');
      assert.equal((await service.getExperiment(n('dup-exp'))).description, '');
      const run = await service.createRun({ experiment: n('dup-exp'), params: { lr: 0.1 } });
      await rejectsWithCode(service.logParams(run.id, { lr: 0.2, extra: 1 }), 'CAPSTAN_REGISTRY_PARAM_CONFLICT');
      await rejectsWithCode(service.logMetrics(run.id, []), 'CAPSTAN_REGISTRY_METRIC_INVALID');
      await rejectsWithCode(service.createExperiment({ name: 'bad name/with slash' }), 'CAPSTAN_NAME_INVALID');
      await rejectsWithCode(service.logMetrics(run.id, [{ key: 'ok', value: 1, step: 0 }, { key: 'bad', value: Number.NaN as number, step: 0 }]), 'CAPSTAN_REGISTRY_METRIC_INVALID');
      const after = await service.getRun(run.id);
      assert.deepEqual(after.params, { lr: '0.1' });
      assert.deepEqual(after.metrics, {});
    });

    it('answers not-found codes for an unknown experiment, run, model, version and alias', async () => {
      const { service, name: n } = target();
      await rejectsWithCode(service.getExperiment(n('no-exp')), 'CAPSTAN_REGISTRY_EXPERIMENT_NOT_FOUND');
      await rejectsWithCode(service.getRun('run_nonexistent'), 'CAPSTAN_REGISTRY_RUN_NOT_FOUND');
      await rejectsWithCode(service.getModel(n('no-model')), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
      await rejectsWithCode(service.getVersion(n('no-model'), 1), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
      await rejectsWithCode(service.resolve(`${n('no-model')}@champion`), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
    });

    it('registers versions from a package, approves one, points an alias at it and resolves the alias', async () => {
      const { service, scratch, name: n } = target();
      const model = n('ranker');
      const v1 = await service.registerVersion(model, { packageDir: onnxPackage(path.join(scratch, n('pkg-1')), 'one'), metrics: { auc: 0.8 } });
      const v2 = await service.registerVersion(model, { packageDir: onnxPackage(path.join(scratch, n('pkg-2')), 'two'), metrics: { auc: 0.9 } });
      assert.deepEqual([v1.version, v2.version], [1, 2]);
      assert.equal(v1.framework, 'onnx');
      assert.notEqual(v1.digest, v2.digest);
      assert.deepEqual((await service.listVersionFiles(model, 1)).map((f) => f.path).sort(), ['model.json', 'model.onnx']);
      const approved = await service.setApproval(model, 2, { status: 'Approved', comment: 'good' });
      assert.equal(approved.approval, 'Approved');
      assert.deepEqual((await service.listVersions(model, { approval: 'Approved' })).map((v) => v.version), [2]);
      const group = await service.setAlias(model, 'champion', 2);
      assert.deepEqual(group.aliases, { champion: 2 });
      assert.equal((await service.resolve(`models:/${model}@champion`)).version, 2);
      assert.equal((await service.resolve(`${model}/latest`)).version, 2);
      assert.equal((await service.getModel(model)).latestVersion, 2);
      const events = (await service.history(model)).map((e) => e.action);
      assert.ok(events.length >= 3, JSON.stringify(events));
    });

    it('refuses an invalid package, a duplicate model, a bad reference and an unknown alias, changing nothing', async () => {
      const { service, scratch, name: n } = target();
      const model = n('guarded');
      await service.registerVersion(model, { packageDir: onnxPackage(path.join(scratch, n('guarded-1')), 'g1') });
      await service.setAlias(model, 'prod', 1);
      const before = { group: await service.getModel(model), versions: await service.listVersions(model), history: await service.history(model) };
      const broken = path.join(scratch, n('broken-pkg'));
      mkdirSync(broken, { recursive: true });
      writeFileSync(path.join(broken, 'model.onnx'), 'not a manifest next to me');
      await rejectsWithCode(service.registerVersion(model, { packageDir: broken }), 'CAPSTAN_REGISTRY_PACKAGE_INVALID');
      await rejectsWithCode(service.createModel(model, { description: 'again' }), 'CAPSTAN_REGISTRY_MODEL_EXISTS');
      await rejectsWithCode(service.resolve('models:/'), 'CAPSTAN_REGISTRY_REF_INVALID');
      await rejectsWithCode(service.getVersion(model, 7), 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND');
      await rejectsWithCode(service.deleteAlias(model, 'staging'), 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND');
      await rejectsWithCode(service.setAlias(model, 'prod', 9), 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND');
      await rejectsWithCode(service.setAlias(model, 'not an alias!', 1), 'CAPSTAN_REGISTRY_ALIAS_INVALID');
      await rejectsWithCode(service.createModel('bad name/with slash'), 'CAPSTAN_NAME_INVALID');
      await rejectsWithCode(service.setApprovalPolicy(model, { autoApprove: 'metrics.auc >' }), 'CAPSTAN_REGISTRY_POLICY_INVALID');
      assert.deepEqual({ group: await service.getModel(model), versions: await service.listVersions(model), history: await service.history(model) }, before);
    });
  });
}
