import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCapstanError } from '../../core/errors.js';
import { ncfEvaluate, ncfPrepare, ncfTrain } from './builtins.js';
import { synthCsv, synthesize } from './synth.js';

describe('NCF pipeline built-ins', () => {
  it('prepare → train → evaluate through step-contract directories', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ncf-steps-'));
    const log: string[] = [];
    const dirs = (name: string) => {
      const base = path.join(root, name);
      for (const d of ['input', 'output', 'model']) mkdirSync(path.join(base, d), { recursive: true });
      return { inputDir: path.join(base, 'input'), outputDir: path.join(base, 'output'), modelDir: path.join(base, 'model'), log: (l: string) => log.push(l) };
    };
    try {
      const prep = dirs('prepare');
      mkdirSync(path.join(prep.inputDir, 'ratings'));
      writeFileSync(path.join(prep.inputDir, 'ratings', 'interactions.csv'), synthCsv(synthesize({ users: 80, items: 200, interactions: 2500, seed: 9 })));
      await ncfPrepare({ ...prep, hyperparameters: { format: 'csv', test_negatives: '50' } });
      assert.ok(existsSync(path.join(prep.outputDir, 'dataset', 'ncf-dataset.json')));
      assert.match(log.join('\n'), /80 users, 200 items/);

      const train = dirs('train');
      // The executor downloads the prepare step's `dataset` output as the train step's `dataset` channel.
      mkdirSync(path.join(train.inputDir, 'dataset'));
      writeFileSync(path.join(train.inputDir, 'dataset', 'ncf-dataset.json'), readFileSync(path.join(prep.outputDir, 'dataset', 'ncf-dataset.json')));
      await ncfTrain({ ...train, hyperparameters: { epochs: '2', factor_num: '8', format: 'csv' } });
      const manifest = JSON.parse(readFileSync(path.join(train.modelDir, 'model.json'), 'utf8'));
      assert.equal(manifest.entry, 'model.onnx');
      const metrics = JSON.parse(readFileSync(path.join(train.outputDir, 'metrics', 'metrics.json'), 'utf8'));
      assert.equal(metrics.epochs, 2);
      assert.ok(log.some((l) => /^Epoch=2; HR=/.test(l)));

      const evaluate = dirs('evaluate');
      for (const [channel, from] of [
        ['model', train.modelDir],
        ['dataset', path.join(prep.outputDir, 'dataset')],
      ] as const) {
        mkdirSync(path.join(evaluate.inputDir, channel));
        for (const f of ['model.json', 'model.onnx', 'ncf-dataset.json']) {
          if (existsSync(path.join(from, f))) writeFileSync(path.join(evaluate.inputDir, channel, f), readFileSync(path.join(from, f)));
        }
      }
      await ncfEvaluate({ ...evaluate, hyperparameters: {} });
      const evaluation = JSON.parse(readFileSync(path.join(evaluate.outputDir, 'evaluation', 'evaluation.json'), 'utf8'));
      assert.ok(Math.abs(evaluation['hr@10'] - metrics['hr@10']) <= 0.02, `ONNX Runtime HR ${evaluation['hr@10']} vs trainer ${metrics['hr@10']}`);
      assert.equal(evaluation['itempop_hr@10'], metrics['itempop_hr@10']);
      assert.ok(log.some((l) => /^Evaluation: HR=\d\.\d{4}; NDCG=\d\.\d{4};/.test(l)));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('names the missing channel when the dataset input is absent', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ncf-steps-'));
    try {
      await assert.rejects(
        ncfTrain({ inputDir: root, outputDir: root, modelDir: root, hyperparameters: {}, log: () => {} }),
        (e: unknown) => isCapstanError(e, 'CAPSTAN_NCF_DATASET_INVALID') && /no input channel "dataset"/.test((e as Error).message),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
