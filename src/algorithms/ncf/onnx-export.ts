import { layerWidths, mlpEmbeddingSize, type NeuMFParams } from './neumf-model.js';
import { OnnxAttr, onnxModelType, OnnxType } from './onnx-proto.js';

/** Opset the exported graph targets (Gather, Mul, Concat, Gemm, Relu, Sigmoid, Reshape). */
export const ONNX_OPSET = 13;

interface Node {
  opType: string;
  input: string[];
  output: string[];
  name: string;
  attribute?: Record<string, unknown>[];
}

function floatTensor(name: string, dims: number[], data: Float32Array) {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { name, dims, dataType: OnnxType.FLOAT, rawData: bytes };
}

function int64Tensor(name: string, values: number[]) {
  const buf = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: OnnxType.INT64, rawData: new Uint8Array(buf.buffer) };
}

function vectorInfo(name: string, elemType: number) {
  return { name, type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'N' }] } } } };
}

/**
 * Serialises NeuMF as an ONNX model: inputs `user`, `item` (int64 dense ids, shape [N]), output
 * `score` (float32 [N]) = sigmoid(logit). Embeddings become Gather over initializers, the GMF branch
 * a Mul, the MLP tower Gemm+Relu layers, the predict layer a Gemm followed by Sigmoid and a Reshape.
 */
export function exportNeuMFOnnx(p: NeuMFParams, meta: Record<string, string> = {}): Uint8Array {
  const { numUsers: U, numItems: I, factorNum: F, numLayers: L } = p.shape;
  const M = mlpEmbeddingSize(p.shape);
  const widths = layerWidths(p.shape);
  const initializer = [
    floatTensor('user_gmf', [U, F], p.userGmf),
    floatTensor('item_gmf', [I, F], p.itemGmf),
    floatTensor('user_mlp', [U, M], p.userMlp),
    floatTensor('item_mlp', [I, M], p.itemMlp),
    ...p.weights.map((w, l) => floatTensor(`mlp_w${l}`, [widths[l], widths[l + 1]], w)),
    ...p.biases.map((b, l) => floatTensor(`mlp_b${l}`, [widths[l + 1]], b)),
    floatTensor('predict_w', [2 * F, 1], p.predictWeight),
    floatTensor('predict_b', [1], p.predictBias),
    int64Tensor('flat_shape', [-1]),
  ];
  const axis = (v: number) => [{ name: 'axis', type: OnnxAttr.INT, i: v }];
  const node: Node[] = [
    { opType: 'Gather', input: ['user_gmf', 'user'], output: ['u_gmf'], name: 'gather_user_gmf', attribute: axis(0) },
    { opType: 'Gather', input: ['item_gmf', 'item'], output: ['i_gmf'], name: 'gather_item_gmf', attribute: axis(0) },
    { opType: 'Mul', input: ['u_gmf', 'i_gmf'], output: ['gmf'], name: 'gmf' },
    { opType: 'Gather', input: ['user_mlp', 'user'], output: ['u_mlp'], name: 'gather_user_mlp', attribute: axis(0) },
    { opType: 'Gather', input: ['item_mlp', 'item'], output: ['i_mlp'], name: 'gather_item_mlp', attribute: axis(0) },
    { opType: 'Concat', input: ['u_mlp', 'i_mlp'], output: ['mlp_in'], name: 'mlp_concat', attribute: axis(1) },
  ];
  let prev = 'mlp_in';
  for (let l = 0; l < L; l++) {
    node.push({ opType: 'Gemm', input: [prev, `mlp_w${l}`, `mlp_b${l}`], output: [`mlp_z${l}`], name: `mlp_gemm${l}` });
    node.push({ opType: 'Relu', input: [`mlp_z${l}`], output: [`mlp_a${l}`], name: `mlp_relu${l}` });
    prev = `mlp_a${l}`;
  }
  node.push(
    { opType: 'Concat', input: ['gmf', prev], output: ['predict_in'], name: 'predict_concat', attribute: axis(1) },
    { opType: 'Gemm', input: ['predict_in', 'predict_w', 'predict_b'], output: ['logit'], name: 'predict_gemm' },
    { opType: 'Sigmoid', input: ['logit'], output: ['prob'], name: 'sigmoid' },
    { opType: 'Reshape', input: ['prob', 'flat_shape'], output: ['score'], name: 'flatten' },
  );
  const model = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'capstan',
    producerVersion: '0.1.0',
    docString: 'NeuMF (GMF + MLP) recommender exported by Capstan; inputs are dense user/item ids',
    graph: {
      name: 'neumf',
      node,
      initializer,
      input: [vectorInfo('user', OnnxType.INT64), vectorInfo('item', OnnxType.INT64)],
      output: [vectorInfo('score', OnnxType.FLOAT)],
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  };
  const type = onnxModelType();
  return type.encode(type.fromObject(model)).finish();
}
