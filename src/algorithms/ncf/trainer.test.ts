import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prepareDataset } from './dataset.js';
import { compileNcfHyperparameters } from './hyperparameters.js';
import { parseRatings } from './ratings-reader.js';
import { synthCsv, synthesize } from './synth.js';
import { epochLine, trainNeuMF } from './trainer.js';
import { WasmGemm } from './wasm-gemm.js';
import { fileURLToPath } from 'node:url';
import type { MetricDefinition } from '../../pipelines/definition.js';
import { MetricsFromLogs } from '../../pipelines/metrics-from-logs.js';
import { readPipelineFile } from '../../pipelines/pipeline-source.js';

const EPOCH_LINE = /^Epoch=(\d+); HR=(\d\.\d{4}); NDCG=(\d\.\d{4}); Loss=(\d+\.\d{4});$/;

describe('NeuMF training', () => {
  it('learns the latent structure, prints metric lines a regex can read and keeps the best epoch', async () => {
    const csv = synthCsv(synthesize({ users: 120, items: 300, interactions: 4000, seed: 2 }));
    // One user with a single interaction: trained on, not evaluated, and reported.
    const ds = prepareDataset(parseRatings(`${csv}9999,1,5,1700000000\n`, 'csv'));
    const lines: string[] = [];
    const result = await trainNeuMF(ds, compileNcfHyperparameters({ epochs: 3 }), { gemm: await WasmGemm.create(), log: (l) => lines.push(l) });
    const epochs = lines.filter((l) => EPOCH_LINE.test(l));
    assert.equal(epochs.length, 3);
    assert.match(lines.join('\n'), /1 users with a single interaction \(trained on, not evaluated\)/);
    assert.match(lines.join('\n'), /^ItemPop baseline: hr@10=\d\.\d{4}; ndcg@10=\d\.\d{4};$/m);
    const hrs = epochs.map((l) => Number(EPOCH_LINE.exec(l)![2]));
    const losses = epochs.map((l) => Number(EPOCH_LINE.exec(l)![4]));
    assert.ok(losses[2] < losses[0], 'the training loss falls');
    assert.equal(result.best.hr, Math.max(...result.history.map((h) => h.hr)));
    assert.equal(result.history[result.bestEpoch - 1].hr, result.best.hr);
    assert.ok(Math.abs(Math.max(...hrs) - result.best.hr) < 1e-4);
    assert.equal(lines.at(-1)!.split(' (')[0], `Final: ${epochLine(result.history[result.bestEpoch - 1])}`, 'the last line states the kept epoch');
    assert.equal(result.bestLoss, result.history[result.bestEpoch - 1].loss);
    assert.ok(result.best.hr > 0.3, `HR@10 ${result.best.hr} is well above the 0.1 of random ranking`);
    assert.equal(result.best.users, ds.testUser.length);
    assert.ok(result.samplesPerSecond > 0);
  });

  it('is reproducible for a seed', async () => {
    const ds = prepareDataset(parseRatings(synthCsv(synthesize({ users: 30, items: 60, interactions: 400, seed: 4 })), 'csv'), { testNegatives: 20 });
    const hp = compileNcfHyperparameters({ epochs: 1, factor_num: 8, dropout: 0.2 });
    const gemm = await WasmGemm.create();
    const a = await trainNeuMF(ds, hp, { gemm, threads: 1 });
    const b = await trainNeuMF(ds, hp, { gemm, threads: 1 });
    assert.deepEqual(a.params.predictWeight, b.params.predictWeight);
    assert.equal(a.history[0].loss, b.history[0].loss);
  });

  it('trains the same model on two threads as on one (up to float rounding)', async () => {
    const ds = prepareDataset(parseRatings(synthCsv(synthesize({ users: 40, items: 90, interactions: 700, seed: 6 })), 'csv'), { testNegatives: 30 });
    const hp = compileNcfHyperparameters({ epochs: 2, factor_num: 8, batch_size: 63 });
    const gemm = await WasmGemm.create();
    const one = await trainNeuMF(ds, hp, { gemm, threads: 1 });
    const two = await trainNeuMF(ds, hp, { gemm, threads: 2 });
    assert.equal(two.threads, 2);
    for (let e = 0; e < 2; e++) assert.ok(Math.abs(one.history[e].loss - two.history[e].loss) < 1e-4, `epoch ${e + 1} loss`);
    let diff = 0;
    for (let i = 0; i < one.params.itemMlp.length; i++) diff = Math.max(diff, Math.abs(one.params.itemMlp[i] - two.params.itemMlp[i]));
    assert.ok(diff < 1e-3, `embeddings differ by ${diff}`);
  });

  it("gives a pipeline one metric point per epoch and every step metric from the kept epoch (the example pipeline's regexes)", async () => {
    const ds = prepareDataset(parseRatings(synthCsv(synthesize({ users: 40, items: 90, interactions: 700, seed: 6 })), 'csv'), { testNegatives: 30 });
    const hp = compileNcfHyperparameters({ epochs: 3, factor_num: 8 });
    const points: string[] = [];
    const definitions = (readPipelineFile(fileURLToPath(new URL('../../../examples/ncf-recommender/pipeline.yaml', import.meta.url))).raw as { steps: { name: string; metric_definitions?: MetricDefinition[] }[] }).steps.find((s) => s.name === 'train')!.metric_definitions!;
    const metrics = new MetricsFromLogs(definitions, (p) => points.push(p.name));
    const result = await trainNeuMF(ds, hp, { gemm: await WasmGemm.create(), threads: 1, log: (l) => metrics.line(l) });
    assert.deepEqual(Object.fromEntries(Object.entries(metrics.all()).map(([k, v]) => [k, v.length])), { 'hr@10': 3, 'ndcg@10': 3, loss: 3 });
    assert.equal(points.length, 9, 'no extra point from the final line');
    const kept = result.history[result.bestEpoch - 1];
    const r4 = (v: number) => Number(v.toFixed(4));
    assert.deepEqual(metrics.latest(), { 'hr@10': r4(kept.hr), 'ndcg@10': r4(kept.ndcg), loss: r4(kept.loss) });
  });

  it('formats the epoch line with four decimals', () => {
    assert.equal(epochLine({ epoch: 3, hr: 0.65123, ndcg: 0.38449, loss: 0.24118 }), 'Epoch=3; HR=0.6512; NDCG=0.3845; Loss=0.2412;');
  });
});
