import type { RegistryService } from '../../src/registry/index.js';

const OPTIMIZERS = ['adam', 'sgd', 'adamw'];
const STATUSES = ['finished', 'finished', 'finished', 'failed', 'killed'] as const;

/** What `seedRuns` made: the run ids in creation order. */
export interface SeededRuns {
  ids: string[];
}

/**
 * Fills an experiment with `runs` runs named `run-0000`…: params `lr`, `layers`, `optimizer` and
 * `seed`, a `loss` series of `pointsPerRun` steps (logged in batches of up to 10,000 points, one
 * transaction each) and one final `accuracy`. Deterministic, so tests can predict orders.
 */
export async function seedRuns(registry: RegistryService, options: { experiment: string; runs: number; pointsPerRun: number }): Promise<SeededRuns> {
  const ids: string[] = [];
  for (let i = 0; i < options.runs; i++) {
    const lr = [0.1, 0.01, 0.001, 0.0001][i % 4];
    const run = await registry.createRun({
      experiment: options.experiment,
      name: `run-${String(i).padStart(4, '0')}`,
      params: { lr, layers: 1 + (i % 5), optimizer: OPTIMIZERS[i % 3], seed: i },
    });
    const start = 1 + (i % 7) / 10;
    for (let from = 0; from < options.pointsPerRun; from += 10_000) {
      const n = Math.min(10_000, options.pointsPerRun - from);
      await registry.logMetrics(
        run.id,
        Array.from({ length: n }, (_, k) => {
          const step = from + k;
          return { key: 'loss', step, timestamp: 1_700_000_000_000 + step, value: start / (1 + step / 50) + ((step * 7919 + i) % 13) / 1000 };
        }),
      );
    }
    await registry.logMetrics(run.id, [{ key: 'accuracy', value: ((i * 37) % 1000) / 1000, step: options.pointsPerRun }]);
    await registry.updateRun(run.id, { status: STATUSES[i % STATUSES.length] });
    ids.push(run.id);
  }
  return { ids };
}
