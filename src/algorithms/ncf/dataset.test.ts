import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../../core/errors.js';
import { itemPopularity, prepareDataset } from './dataset.js';
import { parseRatings } from './ratings-reader.js';
import { UserItems } from './user-items.js';

/** u.data text: 3 users; user 10 has a timestamp tie at the end, user 30 a single interaction. */
const udata = [
  '10\t1\t5\t100',
  '10\t2\t3\t300',
  '20\t2\t4\t50',
  '10\t3\t4\t300',
  '20\t4\t2\t60',
  '30\t1\t5\t70',
  '20\t5\t1\t40',
  '10\t6\t2\t200',
].join('\n');

function manyItems(users: number, items: number, perUser: number): string {
  const rows: string[] = [];
  for (let u = 1; u <= users; u++) for (let k = 0; k < perUser; k++) rows.push(`${u}\t${((u * 7 + k * 13) % items) + 1}\t4\t${1000 + k}`);
  return rows.join('\n');
}

describe('prepareDataset', () => {
  it('assigns dense ids in order of first appearance and keeps raw ids as numbers', () => {
    const ds = prepareDataset(parseRatings(udata, 'ml-100k'), { testNegatives: 1 });
    assert.deepEqual(ds.userIds.toJSON(), [10, 20, 30]);
    assert.deepEqual(ds.itemIds.toJSON(), [1, 2, 3, 4, 5, 6]);
    assert.equal(ds.userIds.dense(20), 1);
  });

  it('holds out each user’s latest interaction, the first row in the file winning a timestamp tie', () => {
    const ds = prepareDataset(parseRatings(udata, 'ml-100k'), { testNegatives: 1 });
    assert.deepEqual(Array.from(ds.testUser), [0, 1]);
    // user 10: items 2 and 3 share timestamp 300; item 2 comes first in the file.
    assert.equal(ds.itemIds.raw[ds.testItem[0]], 2);
    assert.equal(ds.itemIds.raw[ds.testItem[1]], 4);
    assert.equal(ds.trainUser.length, 8 - 2);
  });

  it('keeps single-interaction users for training, leaves them out of evaluation and counts them', () => {
    const ds = prepareDataset(parseRatings(udata, 'ml-100k'), { testNegatives: 1 });
    assert.equal(ds.singleInteractionUsers, 1);
    assert.ok(!Array.from(ds.testUser).includes(2));
    assert.ok(Array.from(ds.trainUser).includes(2));
  });

  it('draws distinct, never-seen negatives per test user, the same for the same seed', () => {
    const raw = parseRatings(manyItems(20, 300, 30), 'ml-100k');
    const a = prepareDataset(raw, { seed: 7 });
    const b = prepareDataset(raw, { seed: 7 });
    const c = prepareDataset(raw, { seed: 8 });
    assert.deepEqual(a.testNegatives, b.testNegatives);
    assert.notDeepEqual(a.testNegatives, c.testNegatives);
    const all = new UserItems(a.numUsers, Int32Array.from([...a.trainUser, ...a.testUser]), Int32Array.from([...a.trainItem, ...a.testItem]));
    for (let t = 0; t < a.testUser.length; t++) {
      const row = Array.from(a.testNegatives.subarray(t * 99, (t + 1) * 99));
      assert.equal(new Set(row).size, 99);
      for (const i of row) assert.ok(!all.has(a.testUser[t], i));
    }
  });

  it('filters by minimum rating and merges repeated user–item rows', () => {
    const ds = prepareDataset(parseRatings('a,x,5,1\na,y,2,2\na,x,4,3\na,z,4,4\nb,x,5,1\nb,z,5,2\nc,q,5,1\nc,r,4,2\n', 'csv'), { minRating: 4, testNegatives: 1 });
    assert.equal(ds.droppedRows, 1);
    assert.equal(ds.duplicateRows, 1);
    assert.deepEqual(ds.itemIds.toJSON(), ['x', 'z', 'q', 'r']);
    assert.equal(ds.trainUser.length + ds.testUser.length, 6);
  });

  it('counts training interactions per item for ItemPop', () => {
    const ds = prepareDataset(parseRatings(udata, 'ml-100k'), { testNegatives: 1 });
    const pop = itemPopularity(ds);
    assert.equal(pop.reduce((s, v) => s + v, 0), ds.trainItem.length);
  });

  it('refuses more test negatives than there are items', () => {
    const raw = parseRatings(udata, 'ml-100k');
    assert.throws(
      () => prepareDataset(raw, { testNegatives: 99 }),
      (err: unknown) => isCapstanError(err, 'CAPSTAN_NCF_TOO_FEW_ITEMS') && /99 test negatives per user were requested but there are only 6 items/.test((err as Error).message),
    );
    assert.throws(
      () => prepareDataset(raw, { testNegatives: 4 }),
      (err: unknown) => isCapstanError(err, 'CAPSTAN_NCF_TOO_FEW_ITEMS') && /a user has only 2 items left/.test((err as Error).message),
    );
  });

  it('refuses data where nobody can be evaluated', () => {
    assert.throws(
      () => prepareDataset(parseRatings('1,1\n2,2\n3,1\n', 'csv'), { testNegatives: 1 }),
      (err: unknown) => isCapstanError(err, 'CAPSTAN_NCF_NOTHING_TO_EVALUATE') && /single interaction/.test((err as Error).message),
    );
  });
});
