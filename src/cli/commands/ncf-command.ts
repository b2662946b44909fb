import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { loadNcfTrainer, parseHyperparameterFlags, parseRatingsFormat, ratingsFormats, synthCsv, synthesize, type BatchProgress } from '../../algorithms/ncf/index.js';
import { allOptions, printResult } from '../cli-context.js';

interface TrainFlags {
  ratings: string;
  format?: string;
  out: string;
  hp: string[];
  threads?: string;
}

interface SynthFlags {
  users: string;
  items: string;
  interactions: string;
  out: string;
  seed: string;
  factors: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integerFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', `--${name} must be an integer`, { fields: { name } });
  return n;
}

/** A per-epoch progress bar on stderr, only when stderr is a terminal. */
function progressBar(): { onProgress?: (p: BatchProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let epoch = 0;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  const onProgress = (p: BatchProgress) => {
    if (!bar || p.epoch !== epoch) {
      stop();
      epoch = p.epoch;
      bar = new cliProgress.SingleBar(
        { format: `epoch ${p.epoch}/${p.epochs} [{bar}] {percentage}% | {value}/{total} samples | loss {loss}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.total, 0, { loss: 'n/a' });
    }
    bar.update(p.done, { loss: p.loss.toFixed(4) });
  };
  return { onProgress, stop };
}

/** `capstan ncf train|synth`: the built-in NeuMF recommender from the command line. */
export function ncfCommand(program: Command): void {
  const ncf = program.command('ncf').description('built-in Neural Collaborative Filtering (NeuMF) recommender');

  ncf
    .command('train')
    .description('train NeuMF on a ratings file; writes <out>/model/ (ONNX package) and <out>/metrics.json')
    .requiredOption('--ratings <file>', 'ratings file (u.data, ratings.csv, ratings.dat or user,item[,rating][,timestamp] CSV)')
    .option('--format <format>', `one of ${ratingsFormats.join(', ')}; default: from the file name`)
    .requiredOption('--out <dir>', 'output directory')
    .option('--hp <name=value>', 'hyperparameter, repeatable (factor_num, num_layers, dropout, lr, batch_size, epochs, num_neg, top_k, seed, test_negatives, min_rating)', collect, [])
    .option('--threads <n>', 'training threads sharing each batch (1 or 2); default: 2 when two cores exist')
    .option('--json', 'print the result as JSON (epoch lines go to stderr)')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<TrainFlags>(cmd);
      const format = o.format === undefined ? undefined : parseRatingsFormat(o.format);
      // Loaded here so other commands do not pay for starting tfjs and its wasm backend.
      const { trainNcf } = await loadNcfTrainer();
      const bar = progressBar();
      const sink = o.json ? process.stderr : process.stdout;
      try {
        const summary = await trainNcf({
          ratings: o.ratings,
          format,
          out: o.out,
          hyperparameters: parseHyperparameterFlags(o.hp ?? []),
          threads: o.threads === undefined ? undefined : integerFlag('threads', o.threads),
          onProgress: bar.onProgress,
          log: (line) => {
            bar.stop();
            sink.write(`${line}\n`);
          },
        });
        bar.stop();
        const { history: _history, ...result } = summary;
        printResult(cmd, result, () => `model: ${summary.modelDir}\nmetrics: ${summary.metricsFile}\n${JSON.stringify(summary.metrics)}`);
      } finally {
        bar.stop();
      }
    });

  ncf
    .command('synth')
    .description('generate synthetic interactions with latent structure as CSV user,item,rating,timestamp')
    .requiredOption('--users <n>', 'number of users')
    .requiredOption('--items <n>', 'number of items')
    .requiredOption('--interactions <n>', 'number of interactions')
    .requiredOption('--out <file>', 'CSV file to write')
    .option('--seed <n>', 'random seed', '42')
    .option('--factors <n>', 'latent dimensions', '8')
    .option('--json', 'print the result as JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<SynthFlags>(cmd);
      const data = synthesize({
        users: integerFlag('users', o.users),
        items: integerFlag('items', o.items),
        interactions: integerFlag('interactions', o.interactions),
        seed: integerFlag('seed', o.seed),
        factors: integerFlag('factors', o.factors),
      });
      await writeFile(o.out, synthCsv(data));
      const result = { file: o.out, rows: data.user.length, format: 'csv' };
      printResult(cmd, result, () => `wrote ${result.rows} interactions to ${o.out} (format csv)`);
    });
}
