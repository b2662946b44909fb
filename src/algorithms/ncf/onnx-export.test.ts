import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareDataset } from './dataset.js';
import { compileNcfHyperparameters } from './hyperparameters.js';
import { readManifest } from '../../core/model-manifest.js';
import { writeNcfModelPackage } from './model-package.js';
import { NeuMFScorer } from './neumf-model.js';
import { exportNeuMFOnnx } from './onnx-export.js';
import { OnnxNcfScorer } from './onnx-scorer.js';
import { Random } from './random.js';
import { parseRatings } from './ratings-reader.js';
import { synthCsv, synthesize } from './synth.js';
import { trainItemsOf, trainNeuMF } from './trainer.js';
import { WasmGemm } from './wasm-gemm.js';

describe('ONNX export', () => {
  it('scores 1,000 user–item pairs in ONNX Runtime as the trainer does (max abs diff <= 1e-4)', async () => {
    const ds = prepareDataset(parseRatings(synthCsv(synthesize({ users: 60, items: 150, interactions: 2000, seed: 5 })), 'csv'), { testNegatives: 20 });
    const hp = compileNcfHyperparameters({ epochs: 2, factor_num: 8 });
    const gemm = await WasmGemm.create();
    const result = await trainNeuMF(ds, hp, { gemm });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ncf-onnx-'));
    try {
      const manifest = await writeNcfModelPackage(dir, {
        params: result.params,
        userIds: ds.userIds,
        itemIds: ds.itemIds,
        userItems: trainItemsOf(ds),
        popularity: result.popularity,
        hyperparameters: hp,
        metrics: { 'hr@10': result.best.hr },
      });
      const rng = new Random(11);
      const users = Int32Array.from({ length: 1000 }, () => rng.int(ds.numUsers));
      const items = Int32Array.from({ length: 1000 }, () => rng.int(ds.numItems));
      const expected = new Float32Array(1000);
      new NeuMFScorer(result.params, gemm).score(users, items, expected, true);
      const scorer = await OnnxNcfScorer.load(path.join(dir, manifest.entry));
      const actual = await scorer.score(users, items);
      await scorer.close();
      let maxDiff = 0;
      for (let i = 0; i < 1000; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
      assert.ok(maxDiff <= 1e-4, `max abs diff ${maxDiff}`);
      assert.ok(new Set(Array.from(actual, (v) => v.toFixed(4))).size > 100, 'scores vary across pairs');

      assert.deepEqual(readManifest(dir), manifest, 'the trainer writes the one model manifest serving and the registry read');
      const onDisk = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      assert.equal(onDisk.handler, 'builtin:ncf-ranking');
      assert.deepEqual(onDisk.signature.inputs.map((i: { name: string }) => i.name), ['user', 'item']);
      assert.equal(onDisk.metadata.numItems, ds.numItems);
      assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'user-ids.json'), 'utf8')), ds.userIds.toJSON());
      const userItems = JSON.parse(readFileSync(path.join(dir, 'user-items.json'), 'utf8')) as number[][];
      assert.equal(userItems.length, ds.numUsers);
      assert.equal(userItems.flat().length, ds.trainUser.length);
      const pop = JSON.parse(readFileSync(path.join(dir, 'item-popularity.json'), 'utf8')) as number[];
      assert.equal(pop.length, ds.numItems);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a model ONNX Runtime accepts for a one-layer tower too', async () => {
    const { initNeuMF } = await import('./neumf-model.js');
    const p = initNeuMF({ numUsers: 3, numItems: 4, factorNum: 2, numLayers: 1 }, new Random(1));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ncf-onnx-'));
    try {
      writeFileSync(path.join(dir, 'm.onnx'), exportNeuMFOnnx(p));
      const scorer = await OnnxNcfScorer.load(path.join(dir, 'm.onnx'));
      const out = await scorer.score(Int32Array.from([0, 2]), Int32Array.from([3, 1]));
      await scorer.close();
      const expected = new Float32Array(2);
      new NeuMFScorer(p, await WasmGemm.create()).score(Int32Array.from([0, 2]), Int32Array.from([3, 1]), expected, true);
      for (let i = 0; i < 2; i++) assert.ok(Math.abs(out[i] - expected[i]) < 1e-6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
