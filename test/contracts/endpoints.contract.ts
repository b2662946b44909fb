import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { EndpointService } from '../../src/serving/endpoint-service.js';
import { registerApproved } from '../../src/serving/test-support/serving-test-platform.js';
import { rejectsWithCode, type ContractTarget, type MakeTarget } from './contract-target.js';

const ADDER = `export function load(dir, options) { return { offset: options.offset ?? 0 }; }
export async function predict(model, input) {
  if (typeof input.a !== 'number' || typeof input.b !== 'number') { const e = new Error('a and b must be numbers'); e.status = 400; throw e; }
  return input.a + input.b + model.offset;
}
export function postprocess(output) { return { sum: output }; }
`;

/** Registers a JS adder package as the next version of `model` (approved unless `approve` is false), as a person would. */
async function registerAdder(t: ContractTarget<unknown>, model: string, approve = true): Promise<number> {
  const dir = path.join(t.scratch, `${model}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.mjs'), ADDER);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
  const v = approve ? await registerApproved(t.platform.registry, model, { packageDir: dir }) : await t.platform.registry.registerVersion(model, { packageDir: dir });
  return v.version;
}

/** The endpoints contract: what `capstan endpoints` relies on, embedded or through `--url`. */
export function describeEndpointsContract(name: string, target: MakeTarget<EndpointService>): void {
  describe(`endpoints contract (${name})`, () => {
    it('creates an endpoint from an approved version, describes, lists and invokes it, redeploys and deletes it', async () => {
      const t = target();
      const { service, name: n } = t;
      const model = n('adder');
      await registerAdder(t, model);
      const endpoint = n('sum');
      const created = await service.create(endpoint, { variants: [{ model: `models:/${model}/1`, handlerOptions: { offset: 100 } }] });
      assert.equal(created.name, endpoint);
      assert.equal(created.status, 'InService', created.statusReason ?? '');
      assert.equal((await service.describe(endpoint)).variants[0].name, created.variants[0].name);
      assert.ok((await service.list()).some((e) => e.name === endpoint));
      const answer = await service.invoke(endpoint, JSON.stringify({ a: 1, b: 2 }));
      assert.deepEqual(JSON.parse(answer.body), { sum: 103 });
      assert.equal(answer.variant, created.variants[0].name);
      assert.match(answer.contentType, /application\/json/);
      await rejectsWithCode(service.invoke(endpoint, '{"a": 1,'), 'CAPSTAN_SERVING_MALFORMED_JSON');
      await rejectsWithCode(service.invoke(endpoint, '{}', { targetVariant: 'nosuch' }), 'CAPSTAN_SERVING_VARIANT_NOT_FOUND');
      const modelError = await rejectsWithCode(service.invoke(endpoint, JSON.stringify({ a: 'x', b: 2 })), 'CAPSTAN_SERVING_INVALID_INPUT');
      assert.match(modelError.message, /a and b must be numbers/);

      await registerAdder(t, model);
      const deployed = await service.deploy(endpoint, `${model}/2`);
      assert.equal(deployed.action, 'updated');
      assert.equal(deployed.model.version, 2);
      assert.equal((await service.deploy(endpoint, `${model}/2`)).action, 'unchanged');
      await service.delete(endpoint);
      await rejectsWithCode(service.describe(endpoint), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    });

    it('refuses a duplicate name, an unapproved version, an unresolvable model and a bad config with their codes, creating nothing', async () => {
      const t = target();
      const { service, name: n } = t;
      const model = n('gated');
      await registerAdder(t, model);
      await registerAdder(t, model, false);
      const endpoint = n('gated-ep');
      await service.create(endpoint, { variants: [{ model: `models:/${model}/1` }] });
      const before = await service.describe(endpoint);
      const names = async () => (await service.list()).map((e) => e.name).sort();
      const listed = await names();
      await rejectsWithCode(service.create(endpoint, { variants: [{ model: `models:/${model}/1` }] }), 'CAPSTAN_SERVING_ENDPOINT_EXISTS');
      await rejectsWithCode(service.create(n('unapproved'), { variants: [{ model: `models:/${model}/2` }] }), 'CAPSTAN_SERVING_MODEL_NOT_APPROVED');
      await rejectsWithCode(service.deploy(endpoint, `${model}/2`), 'CAPSTAN_SERVING_MODEL_NOT_APPROVED');
      await rejectsWithCode(service.create(n('unresolved'), { variants: [{ model: `models:/${n('no-such-model')}/1` }] }), 'CAPSTAN_SERVING_MODEL_REF_UNRESOLVED');
      await rejectsWithCode(service.create(n('no-variants'), { variants: [] }), 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID');
      await rejectsWithCode(service.update(endpoint, { weights: { nosuch: 1 } }), 'CAPSTAN_SERVING_VARIANT_NOT_FOUND');
      assert.deepEqual(await names(), listed);
      const after = await service.describe(endpoint);
      assert.equal(after.generation, before.generation);
      assert.deepEqual(after.variants.map((v) => [v.name, v.model, v.resolved.version, v.weight]), before.variants.map((v) => [v.name, v.model, v.resolved.version, v.weight]));
      await service.delete(endpoint);
    });

    it('answers CAPSTAN_SERVING_ENDPOINT_NOT_FOUND for an unknown endpoint on describe, update, invoke, delete', async () => {
      const { service, name: n } = target();
      const missing = n('absent');
      await rejectsWithCode(service.describe(missing), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
      await rejectsWithCode(service.update(missing, { weights: { primary: 1 } }), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
      await rejectsWithCode(service.invoke(missing, '{}'), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
      await rejectsWithCode(service.delete(missing), 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    });
  });
}
