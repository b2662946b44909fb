import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeOnnxModel, ONNX_FLOAT, ONNX_INT64, type OnnxInitializer, type OnnxNode } from './onnx-builder.js';
import { seededRandom } from '../../core/seeded-random.js';

/** Options for an NCF-shaped test package; every field has a default. */
export interface NcfFixtureOptions {
  /** Distinct users; default 50. */
  users?: number;
  /** Distinct items; default 200. */
  items?: number;
  /** GMF factor; default 8. */
  factor?: number;
  /** MLP layers; default 3. */
  layers?: number;
  /** PRNG seed; default 7. */
  seed?: number;
  /** Raw id of dense user i; default `1000 + i`. */
  userId?: (i: number) => number | string;
  /** Raw id of dense item i; default `5000 + i`. */
  itemId?: (i: number) => number | string;
}

/** What a fixture package contains, so tests can compute expected rankings. */
export interface NcfFixture {
  dir: string;
  userIds: (number | string)[];
  itemIds: (number | string)[];
  userItems: number[][];
  popularity: number[];
}

/**
 * Writes a NeuMF-shaped model package (GMF + MLP towers over dense indices, sigmoid score) with random
 * weights and the id-map assets the `builtin:ncf-ranking` handler reads — the layout the NCF trainer exports.
 */
export function writeNcfPackage(dir: string, options: NcfFixtureOptions = {}): NcfFixture {
  const users = options.users ?? 50;
  const items = options.items ?? 200;
  const f = options.factor ?? 8;
  const layers = options.layers ?? 3;
  const rand = seededRandom(options.seed ?? 7);
  const mat = (rows: number, cols: number, scale: number) => {
    const a = new Float32Array(rows * cols);
    for (let i = 0; i < a.length; i++) a[i] = (rand() * 2 - 1) * scale;
    return a;
  };
  const mlpEmb = f * 2 ** (layers - 1);
  const inits: OnnxInitializer[] = [
    { name: 'gmf_user', dims: [users, f], data: mat(users, f, 1) },
    { name: 'gmf_item', dims: [items, f], data: mat(items, f, 1) },
    { name: 'mlp_user', dims: [users, mlpEmb], data: mat(users, mlpEmb, 0.5) },
    { name: 'mlp_item', dims: [items, mlpEmb], data: mat(items, mlpEmb, 0.5) },
    { name: 'flat_shape', dims: [1], data: BigInt64Array.of(-1n) },
  ];
  const nodes: OnnxNode[] = [
    { op: 'Gather', inputs: ['gmf_user', 'user'], outputs: ['gu'] },
    { op: 'Gather', inputs: ['gmf_item', 'item'], outputs: ['gi'] },
    { op: 'Mul', inputs: ['gu', 'gi'], outputs: ['gmf'] },
    { op: 'Gather', inputs: ['mlp_user', 'user'], outputs: ['mu'] },
    { op: 'Gather', inputs: ['mlp_item', 'item'], outputs: ['mi'] },
    { op: 'Concat', inputs: ['mu', 'mi'], outputs: ['h0'], attrs: { axis: 1 } },
  ];
  let width = mlpEmb * 2;
  for (let l = 0; l < layers; l++) {
    const out = width / 2;
    inits.push({ name: `w${l}`, dims: [width, out], data: mat(width, out, Math.sqrt(2 / width)) });
    inits.push({ name: `b${l}`, dims: [out], data: mat(1, out, 0.01) });
    nodes.push({ op: 'Gemm', inputs: [`h${l}`, `w${l}`, `b${l}`], outputs: [`z${l}`] });
    nodes.push({ op: 'Relu', inputs: [`z${l}`], outputs: [`h${l + 1}`] });
    width = out;
  }
  inits.push({ name: 'wp', dims: [f + width, 1], data: mat(f + width, 1, 0.5) });
  inits.push({ name: 'bp', dims: [1], data: new Float32Array([0]) });
  nodes.push({ op: 'Concat', inputs: ['gmf', `h${layers}`], outputs: ['joint'], attrs: { axis: 1 } });
  nodes.push({ op: 'Gemm', inputs: ['joint', 'wp', 'bp'], outputs: ['logit2d'] });
  nodes.push({ op: 'Sigmoid', inputs: ['logit2d'], outputs: ['score2d'] });
  nodes.push({ op: 'Reshape', inputs: ['score2d', 'flat_shape'], outputs: ['score'] });
  const bytes = encodeOnnxModel({
    nodes,
    initializers: inits,
    inputs: [
      { name: 'user', type: ONNX_INT64, shape: ['n'] },
      { name: 'item', type: ONNX_INT64, shape: ['n'] },
    ],
    outputs: [{ name: 'score', type: ONNX_FLOAT, shape: ['n'] }],
  });

  const userIds = Array.from({ length: users }, (_, i) => (options.userId ?? ((j: number) => 1000 + j))(i));
  const itemIds = Array.from({ length: items }, (_, i) => (options.itemId ?? ((j: number) => 5000 + j))(i));
  const userItems = Array.from({ length: users }, (_, u) => [u % items, (u * 7 + 3) % items, (u * 13 + 5) % items].filter((v, i, a) => a.indexOf(v) === i));
  const popularity = Array.from({ length: items }, (_, i) => (i * 37) % 101);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), bytes);
  writeFileSync(path.join(dir, 'user-ids.json'), JSON.stringify(userIds));
  writeFileSync(path.join(dir, 'item-ids.json'), JSON.stringify(itemIds));
  writeFileSync(path.join(dir, 'user-items.json'), JSON.stringify(userItems));
  writeFileSync(path.join(dir, 'item-popularity.json'), JSON.stringify(popularity));
  const manifest = {
    name: 'ncf',
    framework: 'onnx',
    entry: 'model.onnx',
    handler: 'builtin:ncf-ranking',
    signature: {
      inputs: [
        { name: 'user', dtype: 'int64', shape: [-1] },
        { name: 'item', dtype: 'int64', shape: [-1] },
      ],
      outputs: [{ name: 'score', dtype: 'float32', shape: [-1] }],
    },
    assets: { userIds: 'user-ids.json', itemIds: 'item-ids.json', userItems: 'user-items.json', popularity: 'item-popularity.json' },
    metadata: { factor_num: f, num_layers: layers, users, items },
  };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
  return { dir, userIds, itemIds, userItems, popularity };
}
