import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import type { NcfDataset } from './dataset.js';
import { IdMap, type RawId } from './id-map.js';
import { writeAtomic } from './model-package.js';
import type { RatingsFormat } from './ratings-reader.js';

/** File that marks a prepared-dataset directory (the output of `ncf.prepare`). */
export const DATASET_FILE = 'ncf-dataset.json';

interface DatasetFile {
  version: 1;
  format: RatingsFormat;
  numUsers: number;
  numItems: number;
  numTestNegatives: number;
  singleInteractionUsers: number;
  droppedRows: number;
  duplicateRows: number;
  seed: number;
  minRating: number | null;
  userIds: RawId[];
  itemIds: RawId[];
  trainUser: number[];
  trainItem: number[];
  testUser: number[];
  testItem: number[];
  testNegatives: number[];
}

/** Saves a prepared dataset as `dir/ncf-dataset.json` (one JSON document, ids and split included). */
export async function writeDataset(dir: string, ds: NcfDataset): Promise<void> {
  await mkdir(dir, { recursive: true });
  const doc: DatasetFile = {
    version: 1,
    format: ds.format,
    numUsers: ds.numUsers,
    numItems: ds.numItems,
    numTestNegatives: ds.numTestNegatives,
    singleInteractionUsers: ds.singleInteractionUsers,
    droppedRows: ds.droppedRows,
    duplicateRows: ds.duplicateRows,
    seed: ds.seed,
    minRating: ds.minRating,
    userIds: ds.userIds.toJSON(),
    itemIds: ds.itemIds.toJSON(),
    trainUser: Array.from(ds.trainUser),
    trainItem: Array.from(ds.trainItem),
    testUser: Array.from(ds.testUser),
    testItem: Array.from(ds.testItem),
    testNegatives: Array.from(ds.testNegatives),
  };
  await writeAtomic(dir, DATASET_FILE, JSON.stringify(doc));
}

/** Loads a dataset written by `writeDataset`, checking that the arrays fit together. */
export async function readDataset(dir: string): Promise<NcfDataset> {
  const file = path.join(dir, DATASET_FILE);
  if (!existsSync(file)) throw new CapstanError('CAPSTAN_NCF_DATASET_INVALID', `no ${DATASET_FILE} in the dataset input`);
  let doc: DatasetFile;
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as DatasetFile;
  } catch (err) {
    throw new CapstanError('CAPSTAN_NCF_DATASET_INVALID', `${DATASET_FILE} is not valid JSON`, { cause: err });
  }
  const ok =
    doc.version === 1 &&
    Array.isArray(doc.userIds) &&
    doc.userIds.length === doc.numUsers &&
    Array.isArray(doc.itemIds) &&
    doc.itemIds.length === doc.numItems &&
    doc.trainUser?.length === doc.trainItem?.length &&
    doc.testUser?.length === doc.testItem?.length &&
    doc.testNegatives?.length === doc.testUser.length * doc.numTestNegatives &&
    [doc.trainUser, doc.testUser].every((a) => a.every((u) => Number.isInteger(u) && u >= 0 && u < doc.numUsers)) &&
    [doc.trainItem, doc.testItem, doc.testNegatives].every((a) => a.every((i) => Number.isInteger(i) && i >= 0 && i < doc.numItems));
  if (!ok) throw new CapstanError('CAPSTAN_NCF_DATASET_INVALID', `${DATASET_FILE} is inconsistent`);
  return {
    format: doc.format,
    numUsers: doc.numUsers,
    numItems: doc.numItems,
    userIds: new IdMap(doc.userIds),
    itemIds: new IdMap(doc.itemIds),
    trainUser: Int32Array.from(doc.trainUser),
    trainItem: Int32Array.from(doc.trainItem),
    testUser: Int32Array.from(doc.testUser),
    testItem: Int32Array.from(doc.testItem),
    testNegatives: Int32Array.from(doc.testNegatives),
    numTestNegatives: doc.numTestNegatives,
    singleInteractionUsers: doc.singleInteractionUsers,
    droppedRows: doc.droppedRows,
    duplicateRows: doc.duplicateRows,
    seed: doc.seed,
    minRating: doc.minRating,
  };
}
