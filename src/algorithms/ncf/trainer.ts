import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { itemPopularity, type NcfDataset } from './dataset.js';
import { itemPopMetrics, rankingMetrics, testCandidates, type RankingMetrics } from './evaluate.js';
import type { Gemm } from './gemm.js';
import type { NcfHyperparameters } from './hyperparameters.js';
import { cloneNeuMF, copyNeuMF, initNeuMF, NeuMFScorer, type NeuMFParams } from './neumf-model.js';
import { TrainingSampler } from './negatives.js';
import { Random } from './random.js';
import { sharedFloat32, sharedInt32, sharedOptimizerState, sharedParams } from './shared-arrays.js';
import { BARRIER_SLOTS, SpinBarrier } from './spin-barrier.js';
import { TrainStepper, type SampleBuffers } from './train-stepper.js';
import { TrainingThread } from './training-threads.js';
import { UserItems } from './user-items.js';

/** What one epoch achieved. */
export interface EpochStats {
  epoch: number;
  hr: number;
  ndcg: number;
  loss: number;
  samples: number;
  trainSeconds: number;
  /** CPU time of the whole process (all threads) while training this epoch: robust to a busy machine. */
  trainCpuSeconds: number;
  evalSeconds: number;
}

/** Progress inside an epoch, for a progress bar. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  done: number;
  total: number;
  loss: number;
}

/** Callbacks and engine of a training run. */
export interface TrainOptions {
  gemm: Gemm;
  /** Threads sharing each batch; default min(2, available cores). Results match across thread counts up to float rounding (dropout masks differ). */
  threads?: number;
  /** Receives the log lines (`Epoch=3; HR=…; NDCG=…; Loss=…;`, the ItemPop baseline, dataset facts). */
  log?: (line: string) => void;
  /** Called every few batches. */
  onProgress?: (p: BatchProgress) => void;
  /** Called after each epoch's evaluation. */
  onEpoch?: (s: EpochStats) => void;
}

/** The outcome: the best epoch's weights and every number worth reporting. */
export interface TrainResult {
  params: NeuMFParams;
  bestEpoch: number;
  best: RankingMetrics;
  /** Mean training loss of the kept epoch. */
  bestLoss: number;
  itemPop: RankingMetrics;
  history: EpochStats[];
  /** Training samples (positives and negatives) per second of training time, evaluation excluded. */
  samplesPerSecond: number;
  popularity: Int32Array;
  threads: number;
}

/** The default thread count: two where two cores exist (the training splits each batch between them). */
export function defaultTrainingThreads(): number {
  return Math.max(1, Math.min(2, os.availableParallelism()));
}

/** Formats the metric line a `metric_definitions` regex picks up. */
export function epochLine(s: Pick<EpochStats, 'epoch' | 'hr' | 'ndcg' | 'loss'>): string {
  return `Epoch=${s.epoch}; HR=${s.hr.toFixed(4)}; NDCG=${s.ndcg.toFixed(4)}; Loss=${s.loss.toFixed(4)};`;
}

/**
 * Trains NeuMF with Adam on mean log loss, drawing `num_neg` fresh negatives per positive every epoch,
 * evaluates HR@K/NDCG@K on the leave-one-out candidates after each epoch and keeps the best epoch
 * (highest HR, then NDCG).
 */
export async function trainNeuMF(ds: NcfDataset, hp: NcfHyperparameters, options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? (() => {});
  const threads = Math.max(1, Math.min(2, Math.floor(options.threads ?? defaultTrainingThreads())));
  const rng = new Random(hp.seed);
  const shape = { numUsers: ds.numUsers, numItems: ds.numItems, factorNum: hp.factor_num, numLayers: hp.num_layers };
  const initial = initNeuMF(shape, rng);
  const B = hp.batch_size;
  const sampler = new TrainingSampler(ds.trainUser, ds.trainItem, trainItemsOf(ds), ds.numItems, hp.num_neg);

  const candidates = testCandidates(ds);
  const scores = new Float32Array(candidates.items.length);
  const popularity = itemPopularity(ds);
  const itemPop = itemPopMetrics(popularity, candidates, hp.top_k);
  log(
    `Dataset: ${ds.numUsers} users, ${ds.numItems} items, ${ds.trainUser.length} training interactions, ` +
      `${ds.testUser.length} users evaluated, ${ds.singleInteractionUsers} users with a single interaction (trained on, not evaluated)`,
  );
  log(`ItemPop baseline: hr@${hp.top_k}=${itemPop.hr.toFixed(4)}; ndcg@${hp.top_k}=${itemPop.ndcg.toFixed(4)};`);

  const settings = (part: number) => ({ lr: hp.lr, dropout: hp.dropout, batchSize: B, seed: hp.seed, part, parts: threads });
  let params = initial;
  let stepper: TrainStepper;
  let helper: TrainingThread | null = null;
  let samples: SampleBuffers | null = null;
  if (threads === 1) {
    stepper = new TrainStepper(params, options.gemm, settings(0), null, null);
  } else {
    params = sharedParams(initial);
    const state = sharedOptimizerState(params);
    const ctrl = sharedInt32(BARRIER_SLOTS);
    const n = ds.trainUser.length * (1 + hp.num_neg);
    samples = { user: sharedInt32(n), item: sharedInt32(n), label: sharedFloat32(n) };
    stepper = new TrainStepper(params, options.gemm, settings(0), state, new SpinBarrier(ctrl, threads), sharedFloat32);
    const started = await TrainingThread.start({ params, state, samples, settings: settings(1), ctrl });
    helper = started.thread;
    const peers = [stepper.backprop.grads, started.grads];
    stepper.setPeers(peers);
    helper.setPeers(peers);
  }
  const scorer = new NeuMFScorer(params, options.gemm);

  try {
    let best: NeuMFParams | null = null;
    let bestStats: EpochStats | null = null;
    const history: EpochStats[] = [];
    let step = 0;
    let trainSamples = 0;
    let trainSeconds = 0;
    const progressEvery = Math.max(1, Math.floor(20000 / B));
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const drawn = sampler.epoch(rng);
      const count = drawn.count;
      let epochSamples: SampleBuffers = drawn;
      if (samples) {
        samples.user.set(drawn.user.subarray(0, count));
        samples.item.set(drawn.item.subarray(0, count));
        samples.label.set(drawn.label.subarray(0, count));
        epochSamples = samples;
      }
      const helperLoss = helper ? helper.startEpoch(count, step + 1) : Promise.resolve(0);
      let batches = 0;
      const onBatch = options.onProgress
        ? (done: number, lossSum: number) => {
            batches++;
            if (batches % progressEvery === 0 || done === count) options.onProgress!({ epoch, epochs: hp.epochs, done, total: count, loss: lossSum / done });
          }
        : undefined;
      let lossSum: number;
      try {
        lossSum = stepper.runEpoch(epochSamples, count, step + 1, onBatch);
      } catch (err) {
        await helperLoss.catch(() => {});
        throw err;
      }
      lossSum += await helperLoss;
      step += Math.ceil(count / B);
      stepper.flush(step);
      const cpu = process.cpuUsage(cpu0);
      const t1 = performance.now();
      scorer.score(candidates.users, candidates.items, scores);
      const m = rankingMetrics(scores, candidates, hp.top_k);
      const t2 = performance.now();
      const stats: EpochStats = {
        epoch,
        hr: m.hr,
        ndcg: m.ndcg,
        loss: lossSum / count,
        samples: count,
        trainSeconds: (t1 - t0) / 1000,
        trainCpuSeconds: (cpu.user + cpu.system) / 1e6,
        evalSeconds: (t2 - t1) / 1000,
      };
      trainSamples += count;
      trainSeconds += stats.trainSeconds;
      history.push(stats);
      log(epochLine(stats));
      options.onEpoch?.(stats);
      if (!bestStats || stats.hr > bestStats.hr || (stats.hr === bestStats.hr && stats.ndcg > bestStats.ndcg)) {
        bestStats = stats;
        if (best) copyNeuMF(params, best);
        else best = cloneNeuMF(params);
      }
    }
    const bs = bestStats!;
    // The kept epoch in the epoch lines' shape: a pipeline reads every metric of the step from this
    // `Final:` line (all of one epoch), and it adds no point to the per-epoch series (see MetricsFromLogs).
    log(`Final: ${epochLine(bs)} (best HR@${hp.top_k} of ${hp.epochs} epochs; ${Math.round(trainSamples / trainSeconds)} samples/s on ${threads} thread(s))`);
    return {
      params: best!,
      bestEpoch: bs.epoch,
      best: { hr: bs.hr, ndcg: bs.ndcg, k: hp.top_k, users: candidates.numUsers },
      bestLoss: bs.loss,
      itemPop,
      history,
      samplesPerSecond: trainSamples / trainSeconds,
      popularity,
      threads,
    };
  } finally {
    await helper?.close();
  }
}

/** The training interactions per user (CSR), as the sampler and the `user-items.json` asset use them. */
export function trainItemsOf(ds: Pick<NcfDataset, 'numUsers' | 'trainUser' | 'trainItem'>): UserItems {
  return new UserItems(ds.numUsers, ds.trainUser, ds.trainItem);
}
