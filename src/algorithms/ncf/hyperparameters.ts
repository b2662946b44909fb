import { CapstanError } from '../../core/errors.js';

/** NeuMF training hyperparameters, with the defaults of the e-commerce team's recipe. */
export interface NcfHyperparameters {
  /** GMF embedding size and width of the last MLP layer; default 32. */
  factor_num: number;
  /** MLP layers; the MLP embedding is factor_num·2^(num_layers−1) and layers halve down to factor_num; default 3. */
  num_layers: number;
  /** Dropout before each MLP layer while training; default 0 (the source team ran 0.3). */
  dropout: number;
  /** Adam learning rate; default 0.001. */
  lr: number;
  /** Samples per step; default 256. */
  batch_size: number;
  /** Passes over the training positives; default 10. */
  epochs: number;
  /** Negatives drawn per positive, afresh every epoch; default 4. */
  num_neg: number;
  /** Cut-off of HR@K and NDCG@K; default 10. */
  top_k: number;
  /** Seed of initialisation, negatives and shuffling; default 42. */
  seed: number;
  /** Sampled negatives per held-out item; default 99. */
  test_negatives: number;
  /** Keep only interactions rated at least this; default none (every interaction is a positive). */
  min_rating: number | null;
}

/** The defaults, also recorded in the model package. */
export const defaultNcfHyperparameters: Readonly<NcfHyperparameters> = Object.freeze({
  factor_num: 32,
  num_layers: 3,
  dropout: 0,
  lr: 0.001,
  batch_size: 256,
  epochs: 10,
  num_neg: 4,
  top_k: 10,
  seed: 42,
  test_negatives: 99,
  min_rating: null,
});

type Rule = { integer: boolean; min: number; max: number; minExclusive?: boolean; nullable?: boolean };
const rules: Record<keyof NcfHyperparameters, Rule> = {
  factor_num: { integer: true, min: 1, max: 1024 },
  num_layers: { integer: true, min: 1, max: 6 },
  dropout: { integer: false, min: 0, max: 0.95 },
  lr: { integer: false, min: 0, max: 1, minExclusive: true },
  batch_size: { integer: true, min: 1, max: 65536 },
  epochs: { integer: true, min: 1, max: 1000 },
  num_neg: { integer: true, min: 0, max: 100 },
  top_k: { integer: true, min: 1, max: 1000 },
  seed: { integer: true, min: 0, max: 2 ** 32 - 1 },
  test_negatives: { integer: true, min: 1, max: 100000 },
  min_rating: { integer: false, min: -1e9, max: 1e9, nullable: true },
};

/**
 * Validates and fills hyperparameters. Values may be numbers or numeric strings (the step contract
 * and `--hp name=value` pass strings); unknown names are refused so typos do not pass silently.
 */
export function compileNcfHyperparameters(input: Record<string, unknown> = {}): NcfHyperparameters {
  const out: NcfHyperparameters = { ...defaultNcfHyperparameters };
  for (const [name, value] of Object.entries(input)) {
    if (!(name in rules)) {
      throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', `unknown hyperparameter "${name}"; known: ${Object.keys(rules).join(', ')}`, {
        fields: { name },
      });
    }
    const key = name as keyof NcfHyperparameters;
    const rule = rules[key];
    if (rule.nullable && (value === null || value === '' || value === 'none')) {
      (out as unknown as Record<string, unknown>)[key] = null;
      continue;
    }
    const num = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    const low = rule.minExclusive ? num <= rule.min : num < rule.min;
    if (!Number.isFinite(num) || (rule.integer && !Number.isInteger(num)) || low || num > rule.max) {
      const kind = rule.integer ? 'an integer' : 'a number';
      throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', `${name} must be ${kind} in ${rule.minExclusive ? '(' : '['}${rule.min}, ${rule.max}]`, {
        fields: { name },
      });
    }
    (out as unknown as Record<string, unknown>)[key] = num;
  }
  return out;
}

/** Parses repeated `name=value` CLI flags into a record for `compileNcfHyperparameters`. */
export function parseHyperparameterFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) {
      throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', `--hp expects name=value, got "${flag.slice(0, 60)}"`, { fields: { name: flag.slice(0, 60) } });
    }
    out[flag.slice(0, eq).trim()] = flag.slice(eq + 1).trim();
  }
  return out;
}
