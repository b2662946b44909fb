import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelinesApi } from '../../src/pipelines/pipelines-api.js';
import { rejectsWithCode, type MakeTarget } from './contract-target.js';

const definition = (name: string, extraStep = '') => `name: ${name}
parameters:
  who: { type: string, default: world }
  times: { type: integer, default: 1 }
steps:
  - name: greet
    type: processing
    command: [sh, -c, 'echo "hello \${params.who}"']
${extraStep}`;

/** The pipelines contract: what `capstan pipeline` relies on, embedded or through `--url`. No step runs: nobody executes here. */
export function describePipelinesContract(name: string, target: MakeTarget<PipelinesApi>): void {
  describe(`pipelines contract (${name})`, () => {
    const input = (yaml: string, scratch: string) => ({ yaml, file: 'pipeline.yaml', baseDir: scratch });

    it('validates, applies (a second identical apply changes nothing), lists and describes a pipeline', async () => {
      const { service, scratch, name: n } = target();
      const pipeline = n('hello');
      const validated = await service.validate(input(definition(pipeline), scratch));
      assert.equal(validated.name, pipeline);
      assert.deepEqual(validated.steps.map((s) => s.name), ['greet']);
      const applied = await service.apply(input(definition(pipeline), scratch));
      assert.equal(applied.changed, true);
      assert.equal(applied.pipeline.version, 1);
      const again = await service.apply(input(definition(pipeline), scratch));
      assert.equal(again.changed, false);
      assert.equal(again.pipeline.version, 1);
      assert.ok((await service.list()).some((p) => p.name === pipeline && p.version === 1));
      const described = await service.describe(pipeline);
      assert.equal(described.name, pipeline);
      assert.equal(described.lastExecution, null);
    });

    it('starts an execution with merged parameters, finds it, lists it and records a cancel request', async () => {
      const { service, scratch, name: n } = target();
      const pipeline = n('runs');
      await service.apply(input(definition(pipeline), scratch));
      const exec = await service.start(pipeline, { who: 'contract' }, 'contract-test');
      assert.equal(exec.pipeline, pipeline);
      assert.equal(exec.state, 'queued');
      assert.deepEqual(exec.params, { who: 'contract', times: 1 });
      assert.equal((await service.execution(exec.id)).id, exec.id);
      assert.deepEqual((await service.executions({ pipeline })).map((e) => e.id), [exec.id]);
      const cancelled = await service.cancel(exec.id);
      assert.equal(cancelled.id, exec.id);
      // Cancelling is a request the scheduler carries out; nothing runs here, so it stays requested.
      assert.equal(cancelled.cancelRequested, true);
      assert.equal((await service.execution(exec.id)).cancelRequested, true);
      assert.equal((await service.describe(pipeline)).lastExecution?.id, exec.id);
    });

    it('refuses an invalid definition with CAPSTAN_PIPELINE_INVALID, leaving the applied one as it was', async () => {
      const { service, scratch, name: n } = target();
      const pipeline = n('guarded');
      await service.apply(input(definition(pipeline), scratch));
      const before = await service.describe(pipeline);
      const broken = definition(pipeline, '  - name: greet\n    type: processing\n    command: [true]\n');
      await rejectsWithCode(service.validate(input(broken, scratch)), 'CAPSTAN_PIPELINE_INVALID');
      await rejectsWithCode(service.apply(input(broken, scratch)), 'CAPSTAN_PIPELINE_INVALID');
      assert.deepEqual(await service.describe(pipeline), before);
    });

    it('refuses unknown or mistyped parameters with CAPSTAN_PIPELINE_PARAMETER_INVALID, starting nothing', async () => {
      const { service, scratch, name: n } = target();
      const pipeline = n('params');
      await service.apply(input(definition(pipeline), scratch));
      await rejectsWithCode(service.start(pipeline, { nobody: 'x' }, 'contract-test'), 'CAPSTAN_PIPELINE_PARAMETER_INVALID');
      await rejectsWithCode(service.start(pipeline, { times: 'many' }, 'contract-test'), 'CAPSTAN_PIPELINE_PARAMETER_INVALID');
      await rejectsWithCode(service.start(pipeline, { times: 1.5 }, 'contract-test'), 'CAPSTAN_PIPELINE_PARAMETER_INVALID');
      assert.deepEqual(await service.executions({ pipeline }), []);
    });

    it('answers not-found codes for an unknown pipeline and execution', async () => {
      const { service, name: n } = target();
      await rejectsWithCode(service.describe(n('absent')), 'CAPSTAN_PIPELINE_NOT_FOUND');
      await rejectsWithCode(service.start(n('absent'), {}, 'contract-test'), 'CAPSTAN_PIPELINE_NOT_FOUND');
      await rejectsWithCode(service.execution('pex_nonexistent'), 'CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND');
      await rejectsWithCode(service.cancel('pex_nonexistent'), 'CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND');
      await rejectsWithCode(service.logs('pex_nonexistent'), 'CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND');
    });
  });
}
