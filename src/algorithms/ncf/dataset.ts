import { CapstanError } from '../../core/errors.js';
import { IdMap } from './id-map.js';
import { leaveOneOut } from './leave-one-out.js';
import { sampleTestNegatives } from './negatives.js';
import { Random } from './random.js';
import type { RawInteractions, RatingsFormat } from './ratings-reader.js';
import { UserItems } from './user-items.js';

/** Options of `prepareDataset`. */
export interface PrepareOptions {
  /** Keep only interactions with rating >= this; default: keep all (every interaction is a positive). */
  minRating?: number;
  /** Sampled negatives per test user; default 99 (100 candidates with the held-out item). */
  testNegatives?: number;
  /** Seed of the test negatives; default 42. */
  seed?: number;
}

/** A prepared implicit-feedback dataset with dense ids and a leave-one-out split. */
export interface NcfDataset {
  format: RatingsFormat;
  numUsers: number;
  numItems: number;
  userIds: IdMap;
  itemIds: IdMap;
  /** Training positives (dense ids), in file order. */
  trainUser: Int32Array;
  trainItem: Int32Array;
  /** Held-out item per evaluated user. */
  testUser: Int32Array;
  testItem: Int32Array;
  /** `testUser.length × testNegatives` sampled negatives. */
  testNegatives: Int32Array;
  numTestNegatives: number;
  /** Users with a single interaction: trained on, not evaluated. */
  singleInteractionUsers: number;
  /** Rows dropped by `minRating` and duplicate user–item rows merged. */
  droppedRows: number;
  duplicateRows: number;
  seed: number;
  minRating: number | null;
}

/**
 * Turns raw interactions into the NCF dataset: implicit positives (optionally rating >= minRating),
 * duplicates merged (the latest occurrence counts), dense ids in order of first appearance, a
 * leave-one-out split and seeded test negatives.
 */
export function prepareDataset(raw: RawInteractions, options: PrepareOptions = {}): NcfDataset {
  const testNegatives = options.testNegatives ?? 99;
  const seed = options.seed ?? 42;
  const minRating = options.minRating ?? null;
  if (!Number.isInteger(testNegatives) || testNegatives < 1) {
    throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', 'test_negatives must be a positive integer', { fields: { name: 'test_negatives' } });
  }
  if (minRating !== null && raw.rating === null) {
    throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', 'min_rating needs a rating column, which the file does not have', {
      fields: { name: 'min_rating' },
    });
  }

  // Keep rows passing the rating filter; a repeated user–item pair keeps its latest row.
  const n = raw.count;
  const keep = new Uint8Array(n);
  const lastRow = new Map<number, number>();
  let dropped = 0;
  let duplicates = 0;
  const stride = raw.itemKeys.length;
  for (let r = 0; r < n; r++) {
    if (minRating !== null && raw.rating![r] < minRating) {
      dropped++;
      continue;
    }
    const key = raw.user[r] * stride + raw.item[r];
    const prev = lastRow.get(key);
    if (prev !== undefined) {
      duplicates++;
      const later = raw.timestamp === null || raw.timestamp[r] >= raw.timestamp[prev];
      if (!later) continue;
      keep[prev] = 0;
    }
    lastRow.set(key, r);
    keep[r] = 1;
  }
  const kept = n - dropped - duplicates;
  if (kept === 0) {
    throw new CapstanError('CAPSTAN_NCF_NO_ROWS', `no interaction has a rating of at least ${minRating}`, { fields: { minRating } });
  }

  // Dense ids in order of first appearance among kept rows.
  const userDense = new Int32Array(raw.userKeys.length).fill(-1);
  const itemDense = new Int32Array(raw.itemKeys.length).fill(-1);
  const userKeys: string[] = [];
  const itemKeys: string[] = [];
  const user = new Int32Array(kept);
  const item = new Int32Array(kept);
  const timestamp = raw.timestamp ? new Float64Array(kept) : null;
  let k = 0;
  for (let r = 0; r < n; r++) {
    if (!keep[r]) continue;
    const ru = raw.user[r];
    const ri = raw.item[r];
    if (userDense[ru] < 0) {
      userDense[ru] = userKeys.length;
      userKeys.push(raw.userKeys[ru]);
    }
    if (itemDense[ri] < 0) {
      itemDense[ri] = itemKeys.length;
      itemKeys.push(raw.itemKeys[ri]);
    }
    user[k] = userDense[ru];
    item[k] = itemDense[ri];
    if (timestamp) timestamp[k] = raw.timestamp![r];
    k++;
  }
  const numUsers = userKeys.length;
  const numItems = itemKeys.length;
  const split = leaveOneOut(numUsers, user, item, timestamp);
  if (split.testUser.length === 0) {
    throw new CapstanError('CAPSTAN_NCF_NOTHING_TO_EVALUATE', 'every user has a single interaction, so none can be held out for evaluation');
  }
  const known = new UserItems(numUsers, user, item);
  const negatives = sampleTestNegatives(split.testUser, known, numItems, testNegatives, new Random(seed));
  return {
    format: raw.format,
    numUsers,
    numItems,
    userIds: IdMap.fromKeys(userKeys, raw.numericIds),
    itemIds: IdMap.fromKeys(itemKeys, raw.numericIds),
    trainUser: split.trainUser,
    trainItem: split.trainItem,
    testUser: split.testUser,
    testItem: split.testItem,
    testNegatives: negatives,
    numTestNegatives: testNegatives,
    singleInteractionUsers: split.singleInteractionUsers,
    droppedRows: dropped,
    duplicateRows: duplicates,
    seed,
    minRating,
  };
}

/** Interaction counts per dense item over the training positives (the ItemPop scores). */
export function itemPopularity(ds: Pick<NcfDataset, 'numItems' | 'trainItem'>): Int32Array {
  const pop = new Int32Array(ds.numItems);
  for (let r = 0; r < ds.trainItem.length; r++) pop[ds.trainItem[r]]++;
  return pop;
}
