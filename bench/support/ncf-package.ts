import { defaultNcfHyperparameters } from '../../src/algorithms/ncf/hyperparameters.js';
import { IdMap } from '../../src/algorithms/ncf/id-map.js';
import { writeNcfModelPackage } from '../../src/algorithms/ncf/model-package.js';
import { initNeuMF } from '../../src/algorithms/ncf/neumf-model.js';
import { Random } from '../../src/algorithms/ncf/random.js';
import { UserItems } from '../../src/algorithms/ncf/user-items.js';

/** Users of the bench NCF model (MovieLens-1M's count); ids are 1..NCF_USERS. */
export const NCF_USERS = 6040;
/** Items of the bench NCF model (MovieLens-1M's count); ids are 1..NCF_ITEMS. */
export const NCF_ITEMS = 3706;

/** Writes a NeuMF package (factor 32, 3 layers, MovieLens-1M sizes) with the NCF exporter: seeded random weights, id maps, 20 items per user, popularity. */
export async function writeNcfBenchPackage(dir: string): Promise<void> {
  const rng = new Random(42);
  const params = initNeuMF({ numUsers: NCF_USERS, numItems: NCF_ITEMS, factorNum: 32, numLayers: 3 }, rng);
  const user = new Int32Array(NCF_USERS * 20);
  const item = new Int32Array(NCF_USERS * 20);
  for (let r = 0; r < user.length; r++) {
    user[r] = Math.floor(r / 20);
    item[r] = rng.nextU32() % NCF_ITEMS;
  }
  const popularity = new Int32Array(NCF_ITEMS);
  for (const i of item) popularity[i]++;
  await writeNcfModelPackage(dir, {
    params,
    userIds: new IdMap(Array.from({ length: NCF_USERS }, (_, d) => d + 1)),
    itemIds: new IdMap(Array.from({ length: NCF_ITEMS }, (_, d) => d + 1)),
    userItems: new UserItems(NCF_USERS, user, item),
    popularity,
    hyperparameters: { ...defaultNcfHyperparameters, factor_num: 32, num_layers: 3 },
    metrics: {},
  });
}
