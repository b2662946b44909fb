import { CapstanError } from '../../core/errors.js';
import type { Random } from './random.js';
import type { UserItems } from './user-items.js';

/**
 * Draws `k` distinct items per test user that the user never interacted with (`known` holds all of a
 * user's items, the held-out one included). Users are processed in the given order, so a seed fixes
 * the result. Returns a row-major `testUser.length × k` array.
 */
export function sampleTestNegatives(testUser: Int32Array, known: UserItems, numItems: number, k: number, rng: Random): Int32Array {
  if (k + 1 > numItems) {
    throw new CapstanError('CAPSTAN_NCF_TOO_FEW_ITEMS', `${k} test negatives per user were requested but there are only ${numItems} items`, {
      fields: { numItems, negatives: k },
    });
  }
  const out = new Int32Array(testUser.length * k);
  const chosen = new Set<number>();
  for (let t = 0; t < testUser.length; t++) {
    const u = testUser[t];
    const available = numItems - known.count(u);
    if (available < k) {
      throw new CapstanError('CAPSTAN_NCF_TOO_FEW_ITEMS', `${k} test negatives were requested but a user has only ${available} items left to sample`, {
        fields: { numItems, negatives: k, available },
      });
    }
    const row = out.subarray(t * k, (t + 1) * k);
    if (available < 2 * k) {
      // Rejection would spin on nearly-saturated users; enumerate and partially shuffle instead.
      const pool: number[] = [];
      for (let i = 0; i < numItems; i++) if (!known.has(u, i)) pool.push(i);
      for (let j = 0; j < k; j++) {
        const pick = j + rng.int(pool.length - j);
        const tmp = pool[j];
        pool[j] = pool[pick];
        pool[pick] = tmp;
        row[j] = pool[j];
      }
      continue;
    }
    chosen.clear();
    let j = 0;
    while (j < k) {
      const i = rng.int(numItems);
      if (chosen.has(i) || known.has(u, i)) continue;
      chosen.add(i);
      row[j++] = i;
    }
  }
  return out;
}

/** One epoch of training samples: positives and freshly drawn negatives, shuffled. */
export interface TrainingSamples {
  user: Int32Array;
  item: Int32Array;
  label: Float32Array;
  count: number;
}

/**
 * Builds an epoch's samples: every training positive plus `numNeg` uniformly drawn items the user has
 * no training interaction with (drawn with replacement, as the reference NCF does), in random order.
 * Buffers are reused across epochs.
 */
export class TrainingSampler {
  private readonly samples: TrainingSamples;
  private readonly perm: Int32Array;
  private readonly scratchUser: Int32Array;
  private readonly scratchItem: Int32Array;
  private readonly scratchLabel: Float32Array;

  constructor(
    private readonly trainUser: Int32Array,
    private readonly trainItem: Int32Array,
    private readonly train: UserItems,
    private readonly numItems: number,
    private readonly numNeg: number,
  ) {
    for (let u = 0; u < train.numUsers; u++) {
      if (numNeg > 0 && train.count(u) >= numItems) {
        throw new CapstanError('CAPSTAN_NCF_TOO_FEW_ITEMS', 'a user has interacted with every item, so no training negative can be drawn', {
          fields: { numItems },
        });
      }
    }
    const n = trainUser.length * (1 + numNeg);
    this.samples = { user: new Int32Array(n), item: new Int32Array(n), label: new Float32Array(n), count: n };
    this.perm = new Int32Array(n);
    this.scratchUser = new Int32Array(n);
    this.scratchItem = new Int32Array(n);
    this.scratchLabel = new Float32Array(n);
  }

  /** Draws new negatives and a new order. The returned arrays are overwritten by the next call. */
  epoch(rng: Random): TrainingSamples {
    const { trainUser, trainItem, train, numItems, numNeg } = this;
    const su = this.scratchUser;
    const si = this.scratchItem;
    const sl = this.scratchLabel;
    let k = 0;
    for (let r = 0; r < trainUser.length; r++) {
      const u = trainUser[r];
      su[k] = u;
      si[k] = trainItem[r];
      sl[k] = 1;
      k++;
      for (let j = 0; j < numNeg; j++) {
        let i = rng.int(numItems);
        while (train.has(u, i)) i = rng.int(numItems);
        su[k] = u;
        si[k] = i;
        sl[k] = 0;
        k++;
      }
    }
    const perm = this.perm;
    for (let p = 0; p < k; p++) perm[p] = p;
    rng.shuffle(perm, k);
    const { user, item, label } = this.samples;
    for (let p = 0; p < k; p++) {
      const q = perm[p];
      user[p] = su[q];
      item[p] = si[q];
      label[p] = sl[q];
    }
    return this.samples;
  }
}
