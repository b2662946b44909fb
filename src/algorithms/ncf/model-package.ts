import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE, type ModelManifest } from '../../core/model-manifest.js';
import type { IdMap } from './id-map.js';
import type { NcfHyperparameters } from './hyperparameters.js';
import type { NeuMFParams } from './neumf-model.js';
import { exportNeuMFOnnx } from './onnx-export.js';
import type { UserItems } from './user-items.js';

/** File names inside an NCF model package (DESIGN §4). */
export const ncfPackageFiles = {
  manifest: MANIFEST_FILE,
  onnx: 'model.onnx',
  userIds: 'user-ids.json',
  itemIds: 'item-ids.json',
  userItems: 'user-items.json',
  popularity: 'item-popularity.json',
} as const;

/**
 * The `model.json` of an NCF package: the one model manifest (core/model-manifest) with the fields
 * the `builtin:ncf-ranking` handler reads pinned down.
 */
export type NcfModelManifest = ModelManifest & {
  framework: 'onnx';
  handler: 'builtin:ncf-ranking';
  signature: {
    inputs: { name: string; dtype: string; shape: number[] }[];
    outputs: { name: string; dtype: string; shape: number[] }[];
  };
  assets: { userIds: string; itemIds: string; userItems: string; popularity: string };
  metadata: {
    hyperparameters: NcfHyperparameters;
    metrics: Record<string, number>;
    numUsers: number;
    numItems: number;
    createdAt: string;
  };
};

/** What goes into a package. */
export interface NcfPackageInput {
  params: NeuMFParams;
  userIds: IdMap;
  itemIds: IdMap;
  /** Dense items each dense user has in training, for excluding known items when recommending. */
  userItems: UserItems;
  /** Training interaction count per dense item. */
  popularity: Int32Array;
  hyperparameters: NcfHyperparameters;
  metrics: Record<string, number>;
  /** Model name in the manifest; default `ncf`. */
  name?: string;
}

/** Builds the manifest for a package. */
export function ncfManifest(input: NcfPackageInput, createdAt = new Date()): NcfModelManifest {
  return {
    name: input.name ?? 'ncf',
    framework: 'onnx',
    entry: ncfPackageFiles.onnx,
    handler: 'builtin:ncf-ranking',
    signature: {
      inputs: [
        { name: 'user', dtype: 'int64', shape: [-1] },
        { name: 'item', dtype: 'int64', shape: [-1] },
      ],
      outputs: [{ name: 'score', dtype: 'float32', shape: [-1] }],
    },
    assets: {
      userIds: ncfPackageFiles.userIds,
      itemIds: ncfPackageFiles.itemIds,
      userItems: ncfPackageFiles.userItems,
      popularity: ncfPackageFiles.popularity,
    },
    metadata: {
      hyperparameters: input.hyperparameters,
      metrics: input.metrics,
      numUsers: input.params.shape.numUsers,
      numItems: input.params.shape.numItems,
      createdAt: createdAt.toISOString(),
    },
  };
}

/**
 * Writes the package into `dir` (created if needed): the ONNX graph, the id maps, the per-user
 * training items, item popularity and `model.json`, the manifest last. Each file is written to a
 * temporary name and renamed, so a reader never sees half a file and a retried step can rewrite it.
 */
export async function writeNcfModelPackage(dir: string, input: NcfPackageInput): Promise<NcfModelManifest> {
  await mkdir(dir, { recursive: true });
  const manifest = ncfManifest(input);
  const onnx = exportNeuMFOnnx(input.params, { capstan_model: manifest.name, num_users: String(manifest.metadata.numUsers) });
  await writeAtomic(dir, ncfPackageFiles.onnx, onnx);
  await writeAtomic(dir, ncfPackageFiles.userIds, JSON.stringify(input.userIds.toJSON()));
  await writeAtomic(dir, ncfPackageFiles.itemIds, JSON.stringify(input.itemIds.toJSON()));
  await writeAtomic(dir, ncfPackageFiles.userItems, JSON.stringify(input.userItems.toJSON()));
  await writeAtomic(dir, ncfPackageFiles.popularity, JSON.stringify(Array.from(input.popularity)));
  await writeAtomic(dir, ncfPackageFiles.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Writes `data` to `dir/name` through a temporary file and a rename. */
export async function writeAtomic(dir: string, name: string, data: string | Uint8Array): Promise<void> {
  const target = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, data);
  await rename(tmp, target);
}
