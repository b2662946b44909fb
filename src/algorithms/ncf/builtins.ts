import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import { itemPopularity, prepareDataset } from './dataset.js';
import { DATASET_FILE, readDataset, writeDataset } from './dataset-io.js';
import { itemPopMetrics, rankingMetrics, testCandidates } from './evaluate.js';
import { compileNcfHyperparameters } from './hyperparameters.js';
import { ncfPackageFiles, writeAtomic, type NcfModelManifest } from './model-package.js';
import { inferRatingsFormat, parseRatingsFormat, readRatingsFile } from './ratings-reader.js';

/**
 * What a built-in step receives under the step contract (DESIGN §4): the downloaded input channels
 * (`inputDir/<channel>/`), the directory whose subdirectories become outputs (`outputDir/<name>/`),
 * the model directory of a training step, the hyperparameters and a log sink whose lines the
 * platform's metric regexes read.
 */
export interface NcfStepContext {
  inputDir: string;
  outputDir: string;
  modelDir: string;
  hyperparameters: Record<string, unknown>;
  log: (line: string) => void;
}

/** Hyperparameters that steer `ncf.prepare` only; the other steps ignore them. */
const PREPARE_ONLY = new Set(['format', 'ratings_file']);

/**
 * `ncf.prepare`: reads the ratings file of input channel `ratings` (format from the `format`
 * hyperparameter or the file name; `min_rating`, `test_negatives`, `seed` apply) and writes the
 * prepared dataset to output `dataset/` (`ncf-dataset.json`).
 */
export async function ncfPrepare(ctx: NcfStepContext): Promise<void> {
  const hp = ctx.hyperparameters;
  const channel = findChannel(ctx.inputDir, 'ratings', () => true);
  const file = ratingsFileIn(channel, hp.ratings_file === undefined ? undefined : String(hp.ratings_file));
  const format = hp.format === undefined ? inferRatingsFormat(file) : parseRatingsFormat(String(hp.format));
  const settings = compileNcfHyperparameters(pick(hp, ['min_rating', 'test_negatives', 'seed']));
  const ds = prepareDataset(readRatingsFile(file, format), {
    minRating: settings.min_rating ?? undefined,
    testNegatives: settings.test_negatives,
    seed: settings.seed,
  });
  await writeDataset(path.join(ctx.outputDir, 'dataset'), ds);
  ctx.log(
    `Prepared ${path.basename(file)} (${format}): ${ds.numUsers} users, ${ds.numItems} items, ${ds.trainUser.length} training interactions, ` +
      `${ds.testUser.length} users evaluated, ${ds.singleInteractionUsers} users with a single interaction (trained on, not evaluated)`,
  );
}

/**
 * `ncf.train`: trains NeuMF on input channel `dataset` (from `ncf.prepare`) with the step's
 * hyperparameters, prints the `Epoch=…; HR=…; NDCG=…; Loss=…;` lines, writes the model package to
 * the model directory and the metrics to output `metrics/metrics.json`.
 */
export async function ncfTrain(ctx: NcfStepContext): Promise<void> {
  const ds = await readDataset(findChannel(ctx.inputDir, 'dataset', (d) => existsSync(path.join(d, DATASET_FILE))));
  const hp = compileNcfHyperparameters(omit(ctx.hyperparameters, PREPARE_ONLY));
  // Loaded on use so `ncf.prepare` and `ncf.evaluate` do not start tfjs.
  const { trainAndPackage } = await import('./train-ncf.js');
  const { metrics } = await trainAndPackage(ds, hp, ctx.modelDir, { log: ctx.log });
  const dir = path.join(ctx.outputDir, 'metrics');
  await mkdir(dir, { recursive: true });
  await writeAtomic(dir, 'metrics.json', `${JSON.stringify(metrics, null, 2)}\n`);
}

/**
 * `ncf.evaluate`: scores the leave-one-out candidates of input `dataset` with the packaged model of
 * input `model` in ONNX Runtime and writes the property file `evaluation/evaluation.json` with
 * `hr@K`, `ndcg@K` and the ItemPop baseline (K = `top_k`, default the model's).
 */
export async function ncfEvaluate(ctx: NcfStepContext): Promise<void> {
  const ds = await readDataset(findChannel(ctx.inputDir, 'dataset', (d) => existsSync(path.join(d, DATASET_FILE))));
  const modelDir = findChannel(ctx.inputDir, 'model', (d) => existsSync(path.join(d, ncfPackageFiles.manifest)));
  const manifest = JSON.parse(await readFile(path.join(modelDir, ncfPackageFiles.manifest), 'utf8')) as NcfModelManifest;
  if (manifest.metadata?.numUsers !== ds.numUsers || manifest.metadata?.numItems !== ds.numItems) {
    throw new CapstanError('CAPSTAN_NCF_DATASET_INVALID', 'the model was trained on a different dataset (user or item counts differ)');
  }
  const k = compileNcfHyperparameters({ top_k: ctx.hyperparameters.top_k ?? manifest.metadata.hyperparameters?.top_k ?? 10 }).top_k;
  const candidates = testCandidates(ds);
  const { OnnxNcfScorer } = await import('./onnx-scorer.js');
  const scorer = await OnnxNcfScorer.load(path.join(modelDir, manifest.entry));
  let scores: Float32Array;
  try {
    scores = await scorer.score(candidates.users, candidates.items);
  } finally {
    await scorer.close();
  }
  const m = rankingMetrics(scores, candidates, k);
  const pop = itemPopMetrics(itemPopularity(ds), candidates, k);
  const r4 = (v: number) => Math.round(v * 10000) / 10000;
  const evaluation = {
    [`hr@${k}`]: r4(m.hr),
    [`ndcg@${k}`]: r4(m.ndcg),
    [`itempop_hr@${k}`]: r4(pop.hr),
    [`itempop_ndcg@${k}`]: r4(pop.ndcg),
    users: m.users,
  };
  const dir = path.join(ctx.outputDir, 'evaluation');
  await mkdir(dir, { recursive: true });
  await writeAtomic(dir, 'evaluation.json', `${JSON.stringify(evaluation, null, 2)}\n`);
  ctx.log(`Evaluation: HR=${m.hr.toFixed(4)}; NDCG=${m.ndcg.toFixed(4)}; users=${m.users};`);
  ctx.log(`ItemPop baseline: hr@${k}=${pop.hr.toFixed(4)}; ndcg@${k}=${pop.ndcg.toFixed(4)};`);
}

/** The channel directory `inputDir/name`, else the only (or only matching) channel, else inputDir itself if it matches. */
function findChannel(inputDir: string, name: string, matches: (dir: string) => boolean): string {
  const named = path.join(inputDir, name);
  if (existsSync(named) && statSync(named).isDirectory()) return named;
  const dirs = existsSync(inputDir)
    ? readdirSync(inputDir)
        .filter((e) => !e.startsWith('.'))
        .map((e) => path.join(inputDir, e))
        .filter((p) => statSync(p).isDirectory())
    : [];
  const matching = dirs.filter(matches);
  if (matching.length === 1) return matching[0];
  if (matching.length === 0 && existsSync(inputDir) && matches(inputDir) && name !== 'ratings') return inputDir;
  if (name === 'ratings' && dirs.length === 0 && existsSync(inputDir)) return inputDir;
  const code = name === 'ratings' ? 'CAPSTAN_NCF_FILE_NOT_FOUND' : 'CAPSTAN_NCF_DATASET_INVALID';
  throw new CapstanError(code, `no input channel "${name}" for the NCF step`, { fields: { channel: name } });
}

/** The ratings file inside a channel: the named one, the only file, or a MovieLens file name. */
function ratingsFileIn(dir: string, named?: string): string {
  if (named) return path.join(dir, path.basename(named));
  const files = readdirSync(dir)
    .filter((e) => !e.startsWith('.'))
    .filter((e) => statSync(path.join(dir, e)).isFile());
  if (files.length === 1) return path.join(dir, files[0]);
  const known = files.find((f) => ['u.data', 'ratings.csv', 'ratings.dat'].includes(f.toLowerCase()));
  if (known) return path.join(dir, known);
  throw new CapstanError('CAPSTAN_NCF_FILE_NOT_FOUND', files.length === 0 ? 'the ratings input is empty' : 'several files in the ratings input; set the ratings_file hyperparameter', {
    fields: { channel: 'ratings' },
  });
}

function pick(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (record[k] !== undefined) out[k] = record[k];
  return out;
}

function omit(record: Record<string, unknown>, keys: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => !keys.has(k)));
}
