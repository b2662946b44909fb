// NCF benchmark: NeuMF with the recipe's defaults (dropout 0) for 20 epochs on MovieLens
// ml-latest-small, leave-one-out HR@10/NDCG@10 against 99 sampled negatives. The last line printed
// is the JSON result recorded in bench/RESULTS.md.
// Usage: npm run bench:ncf [-- --ratings <file> --epochs <n> --threads <1|2> --seed <n>]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainNcf } from '../src/algorithms/ncf/train-ncf.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const ratings = path.resolve(arg('ratings', path.join(repo, '..', 'shared', 'data', 'ml-latest-small', 'ratings.csv')));
const epochs = arg('epochs', '20');
const seed = process.argv.includes('--seed') ? arg('seed', '42') : undefined;
const threads = process.argv.includes('--threads') ? Number(arg('threads', '2')) : undefined;
const out = mkdtempSync(path.join(os.tmpdir(), 'capstan-ncf-bench-'));
try {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await trainNcf({
    ratings,
    out,
    hyperparameters: { epochs, dropout: 0, ...(seed === undefined ? {} : { seed }) },
    threads,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const cpu = process.cpuUsage(cpu0);
  const wallSeconds = (performance.now() - t0) / 1000;
  const m = summary.metrics;
  const trainSeconds = summary.history.reduce((s, h) => s + h.trainSeconds, 0);
  const trainCpuSeconds = summary.history.reduce((s, h) => s + h.trainCpuSeconds, 0);
  const samples = summary.history.reduce((s, h) => s + h.samples, 0);
  process.stdout.write(
    `wall ${wallSeconds.toFixed(1)} s (training ${trainSeconds.toFixed(1)} s on ${summary.threads} thread(s), ${trainCpuSeconds.toFixed(1)} CPU-s: ` +
      `${Math.round(samples / trainCpuSeconds)} samples per CPU-second), process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, ` +
      `${summary.numUsers} users, ${summary.numItems} items, ${summary.evaluatedUsers} evaluated\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      'hr@10': m['hr@10'],
      'ndcg@10': m['ndcg@10'],
      'itempop_hr@10': m['itempop_hr@10'],
      train_samples_per_s: m.train_samples_per_s,
      'itempop_ndcg@10': m['itempop_ndcg@10'],
      best_epoch: m.best_epoch,
      threads: summary.threads,
      train_samples_per_cpu_s: Math.round(samples / trainCpuSeconds),
    })}\n`,
  );
} finally {
  rmSync(out, { recursive: true, force: true });
}
