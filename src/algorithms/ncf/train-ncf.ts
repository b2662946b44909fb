import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { prepareDataset, type NcfDataset } from './dataset.js';
import type { Gemm } from './gemm.js';
import { compileNcfHyperparameters, type NcfHyperparameters } from './hyperparameters.js';
import { writeAtomic, writeNcfModelPackage } from './model-package.js';
import { inferRatingsFormat, readRatingsFile, type RatingsFormat } from './ratings-reader.js';
import { trainItemsOf, trainNeuMF, type BatchProgress, type EpochStats, type TrainResult } from './trainer.js';
import { createGemm } from './wasm-gemm.js';

/** The numbers in `metrics.json` and the package metadata. */
export interface NcfMetrics {
  [name: string]: number;
  best_epoch: number;
  epochs: number;
  train_samples_per_s: number;
}

/** Builds the metrics document: `hr@K`, `ndcg@K` and `loss` of the kept epoch, `itempop_hr@K`, `itempop_ndcg@K`, best epoch, epochs, speed. */
export function ncfMetrics(result: TrainResult, hp: NcfHyperparameters): NcfMetrics {
  const k = hp.top_k;
  const r4 = (v: number) => Math.round(v * 10000) / 10000;
  return {
    [`hr@${k}`]: r4(result.best.hr),
    [`ndcg@${k}`]: r4(result.best.ndcg),
    loss: r4(result.bestLoss),
    [`itempop_hr@${k}`]: r4(result.itemPop.hr),
    [`itempop_ndcg@${k}`]: r4(result.itemPop.ndcg),
    best_epoch: result.bestEpoch,
    epochs: hp.epochs,
    train_samples_per_s: Math.round(result.samplesPerSecond),
  };
}

/** Options of a complete training run from a ratings file. */
export interface NcfTrainRequest {
  ratings: string;
  /** Default: inferred from the file name. */
  format?: RatingsFormat;
  /** Output directory: receives `model/` and `metrics.json`. */
  out: string;
  /** Raw hyperparameters (strings or numbers), validated by `compileNcfHyperparameters`. */
  hyperparameters?: Record<string, unknown>;
  log?: (line: string) => void;
  onProgress?: (p: BatchProgress) => void;
  onEpoch?: (s: EpochStats) => void;
  /** Product engine; default the wasm one. */
  gemm?: Gemm;
  /** Training threads; default min(2, cores). */
  threads?: number;
}

/** What a run produced. */
export interface NcfTrainSummary {
  metrics: NcfMetrics;
  modelDir: string;
  metricsFile: string;
  numUsers: number;
  numItems: number;
  evaluatedUsers: number;
  singleInteractionUsers: number;
  history: EpochStats[];
  threads: number;
}

/** Trains on a prepared dataset and writes the model package to `modelDir`. */
export async function trainAndPackage(
  ds: NcfDataset,
  hp: NcfHyperparameters,
  modelDir: string,
  options: Pick<NcfTrainRequest, 'log' | 'onProgress' | 'onEpoch' | 'gemm' | 'threads'>,
): Promise<{ result: TrainResult; metrics: NcfMetrics }> {
  const gemm = options.gemm ?? (await createGemm());
  const result = await trainNeuMF(ds, hp, { gemm, threads: options.threads, log: options.log, onProgress: options.onProgress, onEpoch: options.onEpoch });
  const metrics = ncfMetrics(result, hp);
  await writeNcfModelPackage(modelDir, {
    params: result.params,
    userIds: ds.userIds,
    itemIds: ds.itemIds,
    userItems: trainItemsOf(ds),
    popularity: result.popularity,
    hyperparameters: hp,
    metrics,
  });
  return { result, metrics };
}

/** Reads a ratings file, prepares it, trains NeuMF and writes `<out>/model/` and `<out>/metrics.json`. */
export async function trainNcf(req: NcfTrainRequest): Promise<NcfTrainSummary> {
  const hp = compileNcfHyperparameters(req.hyperparameters ?? {});
  const format = req.format ?? inferRatingsFormat(req.ratings);
  // The CLI's user gave this path: errors name it whole.
  const raw = readRatingsFile(req.ratings, format, req.ratings);
  const ds = prepareDataset(raw, { minRating: hp.min_rating ?? undefined, testNegatives: hp.test_negatives, seed: hp.seed });
  const modelDir = path.join(req.out, 'model');
  await mkdir(req.out, { recursive: true });
  const { result, metrics } = await trainAndPackage(ds, hp, modelDir, req);
  await writeAtomic(req.out, 'metrics.json', `${JSON.stringify(metrics, null, 2)}\n`);
  return {
    metrics,
    modelDir,
    metricsFile: path.join(req.out, 'metrics.json'),
    numUsers: ds.numUsers,
    numItems: ds.numItems,
    evaluatedUsers: ds.testUser.length,
    singleInteractionUsers: ds.singleInteractionUsers,
    history: result.history,
    threads: result.threads,
  };
}
