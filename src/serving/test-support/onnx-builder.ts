import { OnnxAttr, OnnxType, onnxModelType } from '../../algorithms/ncf/onnx-proto.js';

/**
 * A small ONNX graph writer for tests and benchmarks (IR version 8, opset 13), on the same protobuf
 * schema subset the NCF exporter uses.
 */

/** ONNX element types used here. */
export const ONNX_FLOAT = OnnxType.FLOAT;
/** ONNX int64 element type. */
export const ONNX_INT64 = OnnxType.INT64;

/** One graph node: op type, inputs, outputs and int/float attributes. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[]>;
  /** Attribute names whose number is a float rather than an int. */
  floatAttrs?: string[];
}

/** A graph input or output: name, element type and shape (-1 or a name for a dynamic dimension). */
export interface OnnxValue {
  name: string;
  type: number;
  shape: (number | string)[];
}

/** A constant tensor in the graph. */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Encodes a graph into ONNX model bytes. */
export function encodeOnnxModel(graph: { name?: string; nodes: OnnxNode[]; inputs: OnnxValue[]; outputs: OnnxValue[]; initializers: OnnxInitializer[] }): Uint8Array {
  const valueInfo = (v: OnnxValue) => ({
    name: v.name,
    type: {
      tensorType: {
        elemType: v.type,
        shape: { dim: v.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : d < 0 ? { dimParam: `${v.name}_n` } : { dimValue: d })) },
      },
    },
  });
  const ModelProto = onnxModelType();
  const message = ModelProto.fromObject({
    irVersion: 8,
    producerName: 'capstan-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: graph.name ?? 'g',
      node: graph.nodes.map((n, i) => ({
        name: `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([name, value]) =>
          Array.isArray(value)
            ? { name, ints: value, type: OnnxAttr.INTS }
            : n.floatAttrs?.includes(name)
              ? { name, f: value, type: OnnxAttr.FLOAT }
              : { name, i: value, type: OnnxAttr.INT },
        ),
      })),
      initializer: graph.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

/**
 * A tiny valid ONNX model for registry tests: int64 inputs (default `user`, `item`) cast to float and
 * summed into float output `score`. `tag` becomes the graph name, so different tags give different
 * bytes (and package digests).
 */
export function tinyOnnxModel(tag: string, inputs: readonly string[] = ['user', 'item']): Buffer {
  const casts: OnnxNode[] = inputs.map((name) => ({ op: 'Cast', inputs: [name], outputs: [`${name}_f`], attrs: { to: ONNX_FLOAT } }));
  const bytes = encodeOnnxModel({
    name: tag,
    nodes: [...casts, { op: 'Sum', inputs: inputs.map((name) => `${name}_f`), outputs: ['score'] }],
    inputs: inputs.map((name) => ({ name, type: ONNX_INT64, shape: [-1] })),
    outputs: [{ name: 'score', type: ONNX_FLOAT, shape: [-1] }],
    initializers: [],
  });
  return Buffer.from(bytes);
}
